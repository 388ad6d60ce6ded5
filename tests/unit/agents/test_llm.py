"""The LLM brain against a local server speaking the real chat-completions streaming protocol.

The server is the only fake of these tests (no LLM runs here): it answers each request with the
next scripted list of SSE chunks, the way OpenAI-compatible servers stream (``data: {...}``
lines, tool-call deltas split across chunks, ``data: [DONE]``), or breaks off mid-stream.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.agents import LlmBrain, LlmConfig, ToolSpec, build_brain, collect, spoken_text
from engine.agents.llm import APOLOGY
from engine.speech.frames import BrainEvent, BrainText, BrainToken, ToolCall

Reply = list[dict[str, Any]] | tuple[str, list[dict[str, Any]]]  # chunks, or ("break" | "500", chunks)


def delta(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None,
          finish: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if content is not None:
        d["content"] = content
    if tool_calls is not None:
        d["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "local",
            "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


@dataclass
class ChatServer:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[Mapping[str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            reply = state.replies.pop(0)
            mode, chunks = reply if isinstance(reply, tuple) else ("ok", reply)
            if mode == "500":
                payload = json.dumps({"error": {"message": "model overloaded"}}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            if mode == "ok":
                self.wfile.write(b": keep-alive comment\n\ndata: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


TOOLS = [
    ToolSpec("lookup_order", description="Find an order", parameters={
        "type": "object", "properties": {"order_number": {"type": "string"}}, "required": ["order_number"]}),
    ToolSpec.from_template({"name": "transfer_to_billing_desk", "type": "transfer_call",
                            "transfer": {"destinations": [{"to": "sip:1001@pbx", "label": "Billing"}]}}),
    ToolSpec.from_template({"name": "end_call", "type": "end_call", "function": {"name": "end_call"}}),
]


def make_brain(server: ChatServer, runner: Any = None) -> LlmBrain:
    brain = build_brain(
        {"brain": {"kind": "llm", "base_url": server.url, "model": "local-model", "temperature": 0.2},
         "system_prompt": "You help {company} customers.", "first_message": "Hi, {company} here."},
        tools=TOOLS, variables={"company": "Northwind"}, tool_runner=runner, api_key="sk-test",
    )
    assert isinstance(brain, LlmBrain)
    return brain


def test_streams_text_tokens_with_the_real_protocol(chat_server: ChatServer) -> None:
    chat_server.replies.append([
        delta(""), delta("Sure! "), delta("Your order "), delta("is on its way."),
        delta(finish="stop"),
        {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 31, "completion_tokens": 9}},
    ])
    brain = make_brain(chat_server)

    async def main() -> tuple[list[Any], list[Any]]:
        greeting = await collect(brain.greet())
        out = await collect(brain.on_user_text("Where is my order?"))
        await brain.aclose()
        return greeting, out

    greeting, out = asyncio.run(main())
    assert greeting == [BrainText("Hi, Northwind here.")]
    assert [o.text for o in out if isinstance(o, BrainToken)] == ["Sure! ", "Your order ", "is on its way."]
    assert spoken_text(out) == "Sure! Your order is on its way."
    assert [o.data for o in out if isinstance(o, BrainEvent) and o.kind == "usage"] == [
        {"prompt_tokens": 31, "completion_tokens": 9}]
    request = chat_server.requests[0]
    assert request["stream"] is True and request["model"] == "local-model" and request["temperature"] == 0.2
    assert request["messages"] == [
        {"role": "system", "content": "You help Northwind customers."},
        {"role": "assistant", "content": "Hi, Northwind here."},
        {"role": "user", "content": "Where is my order?"},
    ]
    assert [t["function"]["name"] for t in request["tools"]] == ["lookup_order", "transfer_to_billing_desk",
                                                                "end_call"]
    assert chat_server.headers[0]["Authorization"] == "Bearer sk-test"
    assert brain.messages[-1] == {"role": "assistant", "content": "Sure! Your order is on its way."}
    assert brain.usage == {"prompt_tokens": 31, "completion_tokens": 9}


def test_function_tool_call_deltas_are_assembled_run_and_answered(chat_server: ChatServer) -> None:
    chat_server.replies += [
        [
            delta(tool_calls=[{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "lookup_order", "arguments": ""}}]),
            delta(tool_calls=[{"index": 0, "function": {"arguments": "{\"order_"}}]),
            delta(tool_calls=[{"index": 0, "function": {"arguments": "number\": \"42715\"}"}}]),
            delta(finish="tool_calls"),
        ],
        [delta("Order 42715 "), delta("arrives today."), delta(finish="stop")],
    ]
    seen: list[ToolCall] = []

    async def runner(call: ToolCall) -> Mapping[str, Any]:
        seen.append(call)
        return {"status": "out for delivery"}

    brain = make_brain(chat_server, runner)
    out = asyncio.run(collect(brain.on_user_text("Check order 42715")))
    calls = [o for o in out if isinstance(o, ToolCall)]
    assert calls == [ToolCall("lookup_order", {"order_number": "42715"}, type="function", call_id="call_1")]
    assert seen == calls
    assert spoken_text(out) == "Order 42715 arrives today."
    followup = chat_server.requests[1]["messages"]
    assert followup[-2]["tool_calls"][0]["function"] == {"name": "lookup_order",
                                                          "arguments": "{\"order_number\": \"42715\"}"}
    assert followup[-1] == {"role": "tool", "tool_call_id": "call_1",
                            "content": json.dumps({"status": "out for delivery"})}


def test_transfer_tool_call_ends_the_brains_part(chat_server: ChatServer) -> None:
    chat_server.replies.append([
        delta("Let me connect you. "),
        delta(tool_calls=[{"index": 0, "id": "call_9", "type": "function",
                           "function": {"name": "transfer_to_billing_desk",
                                        "arguments": "{\"destination\": \"Billing\"}"}}]),
        delta(finish="tool_calls"),
    ])
    brain = make_brain(chat_server)
    out = asyncio.run(collect(brain.on_user_text("I want a human")))
    assert [(c.name, c.type, c.arguments) for c in out if isinstance(c, ToolCall)] == [
        ("transfer_to_billing_desk", "transfer_call", {"destination": "Billing"})]
    assert brain.ended and len(chat_server.requests) == 1
    assert TOOLS[1].parameters["properties"]["destination"]["enum"] == ["Billing"]


def test_rollback_undoes_an_ending_speculative_turn(chat_server: ChatServer) -> None:
    """Speculation on "Thank you." heard before the caller went on: its end_call is undone."""
    chat_server.replies += [
        [delta("Goodbye. "),
         delta(tool_calls=[{"index": 0, "id": "call_3", "type": "function",
                            "function": {"name": "end_call", "arguments": "{}"}}]),
         delta(finish="tool_calls")],
        [delta("Goodbye, and thanks."), delta(finish="stop")],
    ]
    brain = make_brain(chat_server)
    snapshot = brain.checkpoint()
    before = list(brain.messages)
    asyncio.run(collect(brain.on_user_text("Thank you.")))
    assert brain.ended
    brain.rollback(snapshot)
    assert not brain.ended and brain.messages == before
    out = asyncio.run(collect(brain.on_user_text("Thank you. Goodbye.")))
    assert spoken_text(out) == "Goodbye, and thanks."  # the final turn is answered


def test_a_stream_broken_mid_way_gives_a_spoken_apology_and_an_error_event(chat_server: ChatServer) -> None:
    chat_server.replies += [("break", [delta("Your order is "), delta("on")]),
                            [delta("Yes, it shipped."), delta(finish="stop")]]
    brain = make_brain(chat_server)
    out = asyncio.run(collect(brain.on_user_text("Where is it?")))
    assert [o.text for o in out if isinstance(o, BrainToken)] == ["Your order is ", "on"]
    assert [o for o in out if isinstance(o, BrainText)] == [BrainText(APOLOGY)]
    errors = [o for o in out if isinstance(o, BrainEvent) and o.kind == "error"]
    assert errors and "before [DONE]" in errors[0].data["message"]
    # the call goes on: the next turn works
    again = asyncio.run(collect(brain.on_user_text("Did it ship?")))
    assert spoken_text(again) == "Yes, it shipped."


def test_an_http_error_gives_an_apology_too(chat_server: ChatServer) -> None:
    chat_server.replies.append(("500", []))
    brain = make_brain(chat_server)
    out = asyncio.run(collect(brain.on_user_text("Hello?")))
    assert spoken_text(out) == APOLOGY
    [error] = [o for o in out if isinstance(o, BrainEvent) and o.kind == "error"]
    assert "HTTP 500" in error.data["message"] and "model overloaded" in error.data["message"]


def test_an_unreachable_endpoint_gives_an_apology() -> None:
    brain = LlmBrain(LlmConfig(base_url="http://127.0.0.1:9/v1", model="m"))
    out = asyncio.run(collect(brain.on_user_text("Hello?")))
    assert spoken_text(out) == APOLOGY
    assert any(isinstance(o, BrainEvent) and o.kind == "error" for o in out)


def test_llm_brain_needs_an_endpoint_and_a_model() -> None:
    with pytest.raises(ValueError, match="base_url"):
        build_brain({"brain": {"kind": "llm"}})
