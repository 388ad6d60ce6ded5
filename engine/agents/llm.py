"""The LLM brain: any OpenAI-compatible chat-completions endpoint, streamed over httpx (SSE).

Text deltas come out as :class:`BrainToken` frames as they arrive (TTS speaks each sentence as
soon as it is complete); tool-call deltas are assembled by index. Function tools run through the
injected runner and their results go back to the model; ``end_call`` / ``transfer_call`` end the
brain's part; ``opt_out`` (the engine's tool: the caller asked not to be called again) is
run, confirmed in :data:`~engine.agents.call_tools.OPT_OUT_CONFIRMATION`'s words and ends the call
without asking the model again. An error mid-stream gives a spoken apology and an ``error``
event, never a dead call.

The API key is given (``api_key``, e.g. from the provider credential ``brain.credential_id``
names) or named (``brain.api_key_name``): a named key is read from the OS keyring (service
:data:`KEYRING_SERVICE`) on a worker thread before the first request. It is sent only in the
``Authorization`` header and never shown by ``repr``.

:func:`complete` is the blocking, non-streamed request for one JSON answer (post-call analysis).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from engine.agents.call_tools import OPT_OUT_CONFIRMATION
from engine.agents.template import fill
from engine.agents.tools import END_CALL, FUNCTION, OPT_OUT, TRANSFER_CALL, ToolRunner, ToolSpec, tool_index
from engine.speech.brain import Brain, BrainOutput, BrainStream
from engine.speech.frames import BrainEvent, BrainText, BrainToken, ToolCall

APOLOGY = "I'm sorry, I'm having trouble right now. Could you say that again?"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 20.0  # between two streamed chunks
COMPLETION_TIMEOUT_S = 60.0  # a whole non-streamed answer (a post-call analysis of a long call)
MAX_TOOL_ROUNDS = 4  # model -> function tool -> model, at most this many times per turn
DEFAULT_TEMPERATURE = 0.4
KEYRING_SERVICE = "switchboard"


class LlmStreamError(RuntimeError):
    """The endpoint answered with an error or a broken stream."""


@dataclass
class LlmConfig:
    """Where and how to ask: endpoint, model, key, sampling."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    api_key_name: str | None = None  # the key's user name in the OS keyring, when api_key is unset
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_agent(cls, brain: Mapping[str, Any], api_key: str | None = None,
                   base_url: str | None = None) -> LlmConfig:
        """From an Agent's ``brain`` settings (``base_url``, ``model``, ``temperature``);
        ``base_url`` is used when the brain names none (a provider credential's)."""
        return cls(
            base_url=str(brain.get("base_url") or base_url or ""),
            model=str(brain.get("model") or ""),
            api_key=api_key,
            api_key_name=str(brain.get("api_key_name") or "") or None,
            temperature=float(brain.get("temperature", DEFAULT_TEMPERATURE)),
            max_tokens=brain.get("max_tokens"),
        )

    def resolve_key(self) -> str | None:
        """Blocking: the key to send, read from the OS keyring the first time when it is named."""
        if self.api_key is None and self.api_key_name:
            self.api_key = keyring_api_key(self.api_key_name)
        return self.api_key

    def headers(self) -> dict[str, str]:
        """The request headers: the extra ones and, with a key, ``Authorization``."""
        headers = dict(self.extra_headers)
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


def keyring_api_key(name: str) -> str:
    """Blocking: the API key stored in the OS keyring under ``name``."""
    import keyring
    from keyring.errors import KeyringError

    try:
        key = keyring.get_password(KEYRING_SERVICE, name)
    except KeyringError as exc:
        raise LlmStreamError(f"the OS keyring cannot be read for the API key {name!r}: {exc}") from exc
    if not key:
        raise LlmStreamError(f"no API key {name!r} in the OS keyring (service {KEYRING_SERVICE!r})")
    return key


async def sse_events(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data:`` payloads of a server-sent-event stream (multi-line data joined)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


# A checkpoint of the conversation: its messages, and whether the call was ended.
_Checkpoint = tuple[list[dict[str, Any]], bool]


class LlmBrain(Brain):
    """One call's conversation with a chat-completions model."""

    kind = "llm"
    usage: dict[str, int]

    def __init__(
        self,
        config: LlmConfig,
        *,
        system_prompt: str = "",
        first_message: str = "",
        variables: Mapping[str, Any] | None = None,
        tools: Iterable[ToolSpec] = (),
        tool_runner: ToolRunner | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.variables = dict(variables or {})
        self.first_message = first_message
        self.tools = tool_index(tools)
        self.tool_runner = tool_runner
        self._client = client
        self._own_client = client is None
        self.messages: list[dict[str, Any]] = []
        if system_prompt:
            self.messages.append({"role": "system", "content": fill(system_prompt, self.variables)})
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
            self._client = httpx.AsyncClient(timeout=timeout)
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()

    def checkpoint(self) -> _Checkpoint:
        """The conversation and whether the call was ended: a speculative answer may have
        called ``end_call`` or a transfer, and it is undone with the rest of the turn."""
        return [dict(m) for m in self.messages], self.ended

    def rollback(self, snapshot: object) -> None:
        messages, ended = cast(_Checkpoint, snapshot)
        self.messages = [dict(m) for m in messages]
        self.ended = ended

    def fill(self, text: str) -> str:
        return fill(text, self.variables)

    def say(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text})

    async def greet(self) -> BrainStream:
        if self.first_message:
            text = fill(self.first_message, self.variables)
            self.messages.append({"role": "assistant", "content": text})
            yield BrainText(text)

    async def on_user_text(self, text: str) -> BrainStream:
        if self.ended or not text.strip():
            return
        self.messages.append({"role": "user", "content": text})
        async for out in self._reply():
            yield out

    async def on_dtmf(self, digits: str) -> BrainStream:
        if self.ended:
            return
        self.messages.append({"role": "user", "content": f"(The caller pressed {digits} on the keypad.)"})
        async for out in self._reply():
            yield out

    async def inject_context(self, text: str, *, reply: bool = False) -> BrainStream:
        self.context.append(text)
        self.messages.append({"role": "system", "content": text})
        if reply and not self.ended:
            async for out in self._reply():
                yield out

    # -- one model turn ----------------------------------------------------------------------

    def _request(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": self.messages,
            "stream": True,
            "temperature": self.config.temperature,
            "stream_options": {"include_usage": True},
        }
        if self.config.max_tokens:
            body["max_tokens"] = self.config.max_tokens
        if self.tools:
            body["tools"] = [tool.openai() for tool in self.tools.values()]
        return body

    async def _reply(self) -> AsyncIterator[BrainOutput]:
        for _ in range(MAX_TOOL_ROUNDS):
            text: list[str] = []
            calls: dict[int, _PendingCall] = {}
            try:
                async for out in self._stream(text, calls):
                    yield out
            except (httpx.HTTPError, LlmStreamError, ValueError) as exc:
                spoken = "".join(text)
                self.messages.append({"role": "assistant", "content": (spoken + " " + APOLOGY).strip()})
                yield BrainText(APOLOGY)
                kind = type(exc).__name__
                yield BrainEvent("error", {"message": str(exc) or kind, "type": kind})
                return
            content = "".join(text)
            pending = [calls[i] for i in sorted(calls)]
            message: dict[str, Any] = {"role": "assistant", "content": content or None}
            if pending:
                message["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments or "{}"},
                    }
                    for c in pending
                ]
            self.messages.append(message)
            if not pending:
                return
            ran_function = False
            for pending_call in pending:
                async for out in self._tool(pending_call):
                    yield out
                ran_function = ran_function or not self.ended
            if self.ended or not ran_function:
                return

    async def _stream(self, text: list[str], calls: dict[int, _PendingCall]) -> AsyncIterator[BrainOutput]:
        if self.config.api_key is None and self.config.api_key_name:
            await asyncio.to_thread(self.config.resolve_key)
        headers = {"Accept": "text/event-stream", **self.config.headers()}
        async with self.client.stream("POST", self.config.url, json=self._request(),
                                      headers=headers) as response:
            if response.status_code >= 400:
                body = (await response.aread()).decode("utf-8", "replace")[:300]
                raise LlmStreamError(f"HTTP {response.status_code}: {body}")
            done = False
            async for data in sse_events(response):
                if data.strip() == "[DONE]":
                    done = True
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    error = chunk["error"]
                    raise LlmStreamError(str(error.get("message") if isinstance(error, dict) else error))
                if usage := chunk.get("usage"):
                    self.usage["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
                    self.usage["completion_tokens"] += int(usage.get("completion_tokens") or 0)
                    yield BrainEvent("usage", dict(usage))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    if piece := delta.get("content"):
                        text.append(piece)
                        yield BrainToken(piece)
                    for tc in delta.get("tool_calls") or ():
                        pending = calls.setdefault(int(tc.get("index", 0)), _PendingCall())
                        pending.id = tc.get("id") or pending.id
                        function = tc.get("function") or {}
                        pending.name += function.get("name") or ""
                        pending.arguments += function.get("arguments") or ""
            if not done:
                raise LlmStreamError("the stream ended before [DONE]")

    async def _tool(self, pending: _PendingCall) -> AsyncIterator[BrainOutput]:
        spec = self.tools.get(pending.name)
        kind = spec.type if spec else FUNCTION
        try:
            arguments = json.loads(pending.arguments) if pending.arguments.strip() else {}
        except json.JSONDecodeError:
            arguments = {"_raw": pending.arguments}
        call = ToolCall(pending.name, arguments, type=kind, call_id=pending.id)
        yield call
        if kind in (END_CALL, TRANSFER_CALL):
            self.ended = True
            done = {"role": "tool", "tool_call_id": pending.id, "content": json.dumps({"ok": True})}
            self.messages.append(done)
            return
        try:
            if self.tool_runner is None:
                raise RuntimeError(f"no runner for tool {pending.name}")
            result: dict[str, Any] = dict(await self.tool_runner(call))
            yield BrainEvent("tool_result", {"name": pending.name, "result": result})
        except Exception as exc:
            result = {"error": str(exc)}
            yield BrainEvent("tool_error", {"name": pending.name, "error": str(exc)})
        self.messages.append({"role": "tool", "tool_call_id": pending.id,
                              "content": json.dumps(result, default=str)})
        if kind == OPT_OUT and "error" not in result:  # confirmed and ended, not left to the model
            self.messages.append({"role": "assistant", "content": OPT_OUT_CONFIRMATION})
            yield BrainText(OPT_OUT_CONFIRMATION)
            end = next((t.name for t in self.tools.values() if t.type == END_CALL), END_CALL)
            yield ToolCall(end, {}, type=END_CALL)
            self.ended = True


@dataclass
class Completion:
    """One non-streamed answer: its text and the tokens it took."""

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    json_mode: bool = True  # whether the endpoint took ``response_format: json_object``


def _json_mode_refused(response: httpx.Response) -> bool:
    return response.status_code in (400, 422) and "response_format" in response.text


def complete(config: LlmConfig, messages: list[dict[str, Any]], *, json_mode: bool = True,
             client: httpx.Client | None = None, timeout_s: float = COMPLETION_TIMEOUT_S) -> Completion:
    """Blocking: one chat completion, not streamed; with ``json_mode`` it asks for a JSON object
    (``response_format``) and asks again without it when the endpoint refuses that parameter.

    Raises :class:`LlmStreamError` for an error answer, ``httpx.HTTPError`` when unreachable."""
    config.resolve_key()
    http = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S))
    try:
        body: dict[str, Any] = {"model": config.model, "messages": messages, "stream": False,
                                "temperature": 0}
        if config.max_tokens:
            body["max_tokens"] = config.max_tokens
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        response = http.post(config.url, json=body, headers=config.headers())
        if json_mode and _json_mode_refused(response):
            body.pop("response_format")
            json_mode = False
            response = http.post(config.url, json=body, headers=config.headers())
        if response.status_code >= 400:
            raise LlmStreamError(f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise LlmStreamError(f"the answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise LlmStreamError("the answer is not a chat completion")
        if "error" in answer:
            error = answer["error"]
            raise LlmStreamError(str(error.get("message") if isinstance(error, dict) else error))
        choices = answer.get("choices") or []
        message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if not isinstance(message, dict):
            raise LlmStreamError("the answer has no message")
        usage = answer.get("usage") or {}
        return Completion(content=str(message.get("content") or ""),
                          prompt_tokens=int(usage.get("prompt_tokens") or 0),
                          completion_tokens=int(usage.get("completion_tokens") or 0),
                          json_mode=json_mode)
    finally:
        if client is None:
            http.close()
