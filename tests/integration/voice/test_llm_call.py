"""An LLM agent on a live SIP call: sipp plays espeak-ng speech, whisper tiny.en hears it, the LLM
brain streams the caller's words to an OpenAI-compatible server, speaks its answer, and carries
out its ``end_call`` tool call (the engine sends the BYE the caller waits for).

The chat-completions server on loopback is the only fake (no LLM runs here): it speaks the real
streaming protocol (SSE chunks, tool-call deltas, usage, ``[DONE]``), answers by the caller's last
words and records every request. The API key comes from the OS keyring (an in-memory keyring
backend here, as this machine has none) or from the provider credential the brain names (with the
endpoint's base URL), and must never show in logs or API answers.
"""

from __future__ import annotations

import json
import logging
import os
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import keyring
import numpy as np
import pytest
from keyring.backend import KeyringBackend
from sqlmodel import select

from engine.agents.llm import KEYRING_SERVICE
from engine.api.app import create_app
from engine.app import Engine
from engine.settings import Settings
from engine.speech.sipcaller import CallerLine, render_lines, scenario, write_pcap
from engine.store import (
    Agent,
    Call,
    CallEvent,
    PhoneNumber,
    ProviderCredential,
    ToolTemplate,
    TranscriptEntry,
    session_scope,
)
from tests.harness.receivers import ChatAnswer, ChatStub
from tests.harness.sip_engine import SipEngine, started
from tests.harness.sipp import requires_sipp, run_sipp
from tests.harness.sipp_steps import recv_bye

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = requires_sipp

NUMBER = "+14155550177"
ADMIN_KEY = "sb-admin-llm-call-test"
PROVIDER_KEY = "sk-test-9f8e7d6c5b4a39281706"
KEY_NAME = "stub-llm"
SYSTEM_PROMPT = "You are Nova, the order desk of Acme Parcel. Keep answers short."
GREETING = "Hello, this is Nova."
ANSWER = "Your parcel left our warehouse this morning and arrives tomorrow."
GOODBYE = "Thank you for calling. Goodbye."
LINES = [CallerLine(3.0, "I would like to check my order status."),
         CallerLine(11.0, "Thank you very much, goodbye.")]


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub-1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def pieces(text: str) -> list[str]:
    """``text`` as streamed: a delta per word, each after the first with its leading space."""
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


ANALYSIS = {"summary": "The caller asked about an order; it arrives tomorrow.",
            "sentiment": "positive", "sentiment_score": 8, "outcome": None, "success": True,
            "structured_data": {}}


def answer(body: dict[str, Any]) -> ChatAnswer:
    """The stream for one of the brain's requests: goodbye and end_call once the caller thanks or
    says goodbye; for the post-call analysis (not streamed), its JSON."""
    if not body.get("stream"):
        return 200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1,
                     "model": "stub-1",
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant",
                                              "content": json.dumps(ANALYSIS)}}],
                     "usage": {"prompt_tokens": 200, "completion_tokens": 40,
                               "total_tokens": 240}}
    said = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    out = [chunk({"role": "assistant", "content": ""})]
    if "thank" in said.lower() or "bye" in said.lower():
        out += [chunk({"content": piece}) for piece in pieces(GOODBYE)]
        out += [chunk({"tool_calls": [{"index": 0, "id": "call_end", "type": "function",
                                       "function": {"name": "end_call", "arguments": ""}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"reason": '}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"caller done"}'}}]}),
                chunk({}, "tool_calls")]
    else:
        out += [chunk({"content": piece}) for piece in pieces(ANSWER)]
        out.append(chunk({}, "stop"))
    out.append({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "model": "stub-1",
                "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 12,
                                         "total_tokens": 52}})
    return out


@pytest.fixture
def chat_stub() -> Iterator[ChatStub]:
    stub = ChatStub(answer)
    stub.start()
    yield stub
    stub.close()


@pytest.fixture
def os_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    ring.set_password(KEYRING_SERVICE, KEY_NAME, PROVIDER_KEY)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture(params=["keyring", "credential"])
def key_source(request: pytest.FixtureRequest, os_keyring: MemoryKeyring) -> str:
    """Where the brain's key comes from; with a credential the keyring holds none."""
    if request.param == "credential":
        os_keyring.delete_password(KEYRING_SERVICE, KEY_NAME)
    return str(request.param)


@pytest.fixture
async def llm_engine(tmp_path: Path, chat_stub: ChatStub, key_source: str) -> AsyncIterator[SipEngine]:
    settings = Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0,
                        api_key=ADMIN_KEY)
    engine = Engine(settings)
    engine.setup()
    org = engine.organization_id
    with session_scope(engine.db) as session:
        end_call = ToolTemplate(organization_id=org, name="end_call", type="end_call",
                                function={"name": "end_call",
                                          "description": "Hang up when the caller is done."})
        session.add(end_call)
        brain: dict[str, Any] = {"kind": "llm", "model": "stub-1"}
        if key_source == "credential":
            credential = ProviderCredential(organization_id=org, provider="openai-compatible",
                                            base_url=chat_stub.url, api_key=PROVIDER_KEY)
            session.add(credential)
            brain["credential_id"] = credential.id
        else:
            brain.update(base_url=chat_stub.url, api_key_name=KEY_NAME)
        agent = Agent(organization_id=org, name="Nova", first_message=GREETING,
                      system_prompt=SYSTEM_PROMPT, tool_ids=[end_call.id],
                      brain=brain,
                      stt={"engine": "whisper", "model": "tiny.en"},
                      tts={"engine": "espeak-ng", "voice": "en-us", "rate": 175},
                      idle_timeout_seconds=30)
        session.add(agent)
        session.add(PhoneNumber(organization_id=org, number=NUMBER, agent_id=agent.id))
        agent_id = agent.id
    async with started(engine, NUMBER, agent_id, warm_s=30) as sip:
        yield sip


def waits_for_bye(xml: Path, within_s: float) -> Path:
    """The caller scenario, changed to wait for the agent's BYE instead of sending one."""
    text = xml.read_text()
    start = text.index("<pause milliseconds=")
    end = text.index("</recv>", text.index("CSeq: 2 BYE")) + len("</recv>")
    xml.write_text(text[:start] + recv_bye(int(within_s * 1000)) + text[end:])
    return xml


async def test_an_llm_agent_answers_and_ends_a_live_call(llm_engine: SipEngine, chat_stub: ChatStub,
                                                         key_source: str, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    audio = render_lines(LINES, tail_s=1.0)
    pcap = write_pcap(audio.pcm, tmp_path / "caller.pcap")
    xml = waits_for_bye(scenario(pcap, 0, tmp_path / "caller.xml"), audio.seconds + 12)
    result = await run_sipp(xml, llm_engine.port, NUMBER.lstrip("+"), limit_s=audio.seconds + 20)
    assert result.returncode == 0, result.stderr  # the agent hung up: sipp got its BYE
    await llm_engine.settled(20)

    # what the model was asked: the system prompt, the caller's words, the tools; with the key
    assert chat_stub.requests, "the brain never called the model"
    assert all(a == f"Bearer {PROVIDER_KEY}" for a in chat_stub.authorizations)
    first = chat_stub.requests[0]
    assert first["stream"] is True and first["model"] == "stub-1"
    assert first["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert first["messages"][1] == {"role": "assistant", "content": GREETING}
    asked = [m["content"].lower() for r in chat_stub.requests for m in r["messages"]
             if m["role"] == "user"]
    assert any("order status" in said for said in asked), asked
    assert any("thank you" in said for said in asked), asked
    assert [t["function"]["name"] for t in first["tools"]] == ["end_call"]

    [call] = llm_engine.calls()
    db = llm_engine.engine.db
    with session_scope(db) as session:
        call = session.exec(select(Call).where(Call.id == call.id)).one()
        entries = sorted(session.exec(select(TranscriptEntry).where(
            TranscriptEntry.call_id == call.id)).all(), key=lambda e: e.index)
        events = session.exec(select(CallEvent).where(CallEvent.call_id == call.id)).all()
    said_by_agent = [e.text for e in entries if e.source == "agent"]
    assert said_by_agent == [GREETING, ANSWER, GOODBYE], [(e.source, e.text) for e in entries]
    heard_by_agent = [e.text.lower() for e in entries if e.source == "user"]
    assert len(heard_by_agent) == 2 and "order status" in heard_by_agent[0], heard_by_agent

    # the end_call tool took effect: the engine ended the call after saying goodbye
    end = [e for e in events if e.event_type == "tool.end_call"]
    assert end and end[0].payload["arguments"] == {"reason": "caller done"}
    assert any(e.event_type == "agent.hangup" and e.payload["reason"] == "agent_hangup"
               for e in events), [e.event_type for e in events]
    assert call.status == "completed" and call.cost_llm_micro_usd > 0

    # the post-call analysis ran as the call ended: one more request, not streamed
    analysed = [r for r in chat_stub.requests if not r.get("stream")]
    assert len(analysed) == 1
    assert chat_stub.requests[-1] is analysed[0]
    assert call.analysis_status == "llm" and call.summary == ANALYSIS["summary"]
    assert any(e.event_type == "analysis.completed" and e.status == "llm" for e in events)

    # what the caller heard: the agent's side of the recording, recognised by whisper
    with wave.open(str(call.recording_path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    heard = await llm_engine.telephony.agents.models.whisper().transcribe(
        stereo[:, 1].copy().tobytes())
    text = heard.text.lower()
    for words in ("your parcel", "this morning", "tomorrow", "goodbye"):
        assert words in text, text

    # the provider key is nowhere to be seen: logs, the agent and the call as the API shows them
    assert PROVIDER_KEY not in caplog.text
    app = create_app(llm_engine.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        for path in (f"/v1/agents/{llm_engine.agent_id}", f"/v1/calls/{call.id}",
                     f"/v1/calls/{call.id}/events"):
            response = await api.get(path)
            assert response.status_code == 200, response.text
            assert PROVIDER_KEY not in response.text
        agent = (await api.get(f"/v1/agents/{llm_engine.agent_id}")).json()
        if key_source == "credential":
            assert agent["brain"] == {"kind": "llm", "model": "stub-1",
                                      "credential_id": agent["brain"]["credential_id"]}
            credentials = await api.get("/v1/provider-credentials")
            assert credentials.status_code == 200 and PROVIDER_KEY not in credentials.text
            assert credentials.json()["items"][0]["has_api_key"] is True
        else:
            assert agent["brain"]["api_key_name"] == KEY_NAME
