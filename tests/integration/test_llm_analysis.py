"""Post-call analysis by the agent's LLM, re-run through ``POST /v1/calls/{id}/report/finalize``.

The chat-completions server on loopback is the only fake: it speaks the real non-streamed
protocol, answers with the JSON each test queues and records every request. The agent's brain
names a provider credential (its key and base URL); the key must reach the server's
``Authorization`` header and nowhere else: no log line, no API answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from engine.api.app import create_app
from engine.app import Engine
from engine.settings import Settings
from engine.store import Call, TranscriptEntry, UsageLog, session_scope
from engine.store.timeutil import utcnow
from tests.harness.receivers import ChatStub as ChatServer

ADMIN_KEY = "sb-admin-llm-analysis-test"
PROVIDER_KEY = "sk-analysis-5e4d3c2b1a0f9e8d7c6b"
SUMMARY_PROMPT = "Summarise in one sentence what the caller wanted."
OUTCOMES = ["refund_filed", "escalated", "other"]
SCHEMA = {"type": "object",
          "properties": {"order_number": {"type": "string"},
                         "issue_type": {"type": "string", "enum": ["refund", "return", "other"]},
                         "follow_up_needed": {"type": "boolean"}},
          "required": ["issue_type", "follow_up_needed"]}
TALK = [("agent", "Hello, this is Nova from Acme Parcel. How can I help?"),
        ("user", "My order A-1042 was charged twice, I want my money back."),
        ("agent", "I have filed a refund for the double charge on order A-1042."),
        ("user", "Thank you, that is great.")]
ANSWER = {"summary": "The caller wanted a refund for a double charge on order A-1042.",
          "sentiment": "positive", "sentiment_score": 9, "outcome": "refund_filed",
          "success": True,
          "structured_data": {"order_number": "A-1042", "issue_type": "refund",
                              "follow_up_needed": False}}


class ChatStub(ChatServer):
    """An OpenAI-compatible server: each request takes the next queued reply (status, body)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[tuple[int, Any]] = []

    def answer_with(self, *contents: str, status: int = 200) -> None:
        for content in contents:
            self.replies.append((status, completion(content)))

    def respond(self, body: dict[str, Any]) -> tuple[int, Any]:
        return self.replies.pop(0) if self.replies else (200, completion(json.dumps(ANSWER)))


def completion(content: str) -> dict[str, Any]:
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": "stub-1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 60, "total_tokens": 360}}


@pytest.fixture
def chat_stub() -> Iterator[ChatStub]:
    stub = ChatStub()
    stub.start()
    yield stub
    stub.close()


@dataclass
class Setup:
    engine: Engine
    api: httpx.AsyncClient
    agent: dict[str, Any]
    credential: dict[str, Any]
    answers: list[str] = field(default_factory=list)  # every API answer's text

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.api.request(method, path, **kwargs)
        self.answers.append(response.text)
        return response

    def finished_call(self) -> str:
        """A completed call of the agent with a transcript, written as the engine writes it."""
        started = utcnow() - timedelta(minutes=5)
        with session_scope(self.engine.db) as session:
            call = Call(organization_id=self.engine.organization_id, agent_id=self.agent["id"],
                        direction="inbound", status="completed", from_number="+14155550123",
                        to_number="+14155550177", initiated_at=started, answered_at=started,
                        ended_at=started + timedelta(seconds=40), duration_seconds=40,
                        transcript="\n".join(f"{s}: {t}" for s, t in TALK))
            session.add(call)
            for index, (source, text) in enumerate(TALK):
                session.add(TranscriptEntry(organization_id=call.organization_id, call_id=call.id,
                                            index=index, source=source, text=text,
                                            started_at=started + timedelta(seconds=5 * index)))
            return call.id


@pytest.fixture
async def setup(tmp_path: Path, chat_stub: ChatStub) -> AsyncIterator[Setup]:
    engine = Engine(Settings(data_dir=tmp_path, api_key=ADMIN_KEY))
    engine.setup()
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                 headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        s = Setup(engine, api, {}, {})
        made = await s.call("POST", "/v1/provider-credentials", json={
            "provider": "openai-compatible", "name": "stub", "base_url": chat_stub.url,
            "api_key": PROVIDER_KEY})
        assert made.status_code == 201, made.text
        s.credential = made.json()
        assert s.credential["has_api_key"] is True and "api_key" not in s.credential
        template = await s.call("POST", "/v1/analysis-templates", json={
            "name": "Refunds", "summary_prompt": SUMMARY_PROMPT, "outcomes": OUTCOMES,
            "success_criteria": "A refund was filed.", "structured_data_schema": SCHEMA})
        assert template.status_code == 201, template.text
        agent = await s.call("POST", "/v1/agents", json={
            "name": "Nova", "analysis_template_id": template.json()["id"],
            "brain": {"kind": "llm", "model": "stub-1", "credential_id": s.credential["id"]}})
        assert agent.status_code == 201, agent.text
        s.agent = agent.json()
        yield s
    engine.close()


def assert_key_hidden(s: Setup, caplog: pytest.LogCaptureFixture) -> None:
    assert s.answers and not any(PROVIDER_KEY in text for text in s.answers)
    assert PROVIDER_KEY not in caplog.text


async def test_finalize_asks_the_llm_with_the_credentials_key(
        setup: Setup, chat_stub: ChatStub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call_id = setup.finished_call()
    response = await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")
    assert response.status_code == 200, response.text
    report = response.json()

    # what the LLM was asked: the transcript and the template, with the credential's key
    assert chat_stub.authorizations == [f"Bearer {PROVIDER_KEY}"]
    [asked] = chat_stub.requests
    assert asked["model"] == "stub-1" and asked["stream"] is False
    assert asked["response_format"] == {"type": "json_object"}
    system, user = asked["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert SUMMARY_PROMPT in system["content"] and "A refund was filed." in system["content"]
    assert json.dumps(OUTCOMES) in system["content"] and json.dumps(SCHEMA) in system["content"]
    for source, text in TALK:
        assert f"{source}: {text}" in user["content"]

    # the report holds the LLM's values
    assert report["analysis_status"] == "llm"
    assert report["summary"] == ANSWER["summary"]
    assert (report["outcome"], report["success"]) == ("refund_filed", True)
    assert (report["sentiment"], report["sentiment_score"]) == ("positive", 9)
    assert report["structured_data"] == ANSWER["structured_data"]
    assert "analysis_error" not in report["metadata"]
    llm_cost = next(b["cost_micro_usd"] for b in report["cost_breakdown"] if b["kind"] == "llm")
    assert llm_cost > 0 and report["cost_micro_usd"] == llm_cost
    assert report["cost_details"]["analysis_llm_prompt_tokens"] == 300
    with session_scope(setup.engine.db) as session:
        [usage] = session.exec(select(UsageLog).where(UsageLog.call_id == call_id)).all()
    assert (usage.kind, usage.unit, usage.quantity, usage.cost_micro_usd) == (
        "llm", "tokens", 360.0, llm_cost)

    detail = await setup.call("GET", f"/v1/calls/{call_id}")
    assert detail.json()["analysis"]["status"] == "llm"
    for path in (f"/v1/agents/{setup.agent['id']}", f"/v1/calls/{call_id}/report",
                 f"/v1/provider-credentials/{setup.credential['id']}",
                 "/v1/provider-credentials", "/v1/usage/logs"):
        assert (await setup.call("GET", path)).status_code == 200, path
    assert_key_hidden(setup, caplog)


async def test_invalid_json_is_sent_back_once(setup: Setup, chat_stub: ChatStub) -> None:
    wrong = {**ANSWER, "outcome": "booked"}
    chat_stub.answer_with(json.dumps(wrong), json.dumps(ANSWER))
    call_id = setup.finished_call()
    report = (await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")).json()
    assert report["analysis_status"] == "llm" and report["outcome"] == "refund_filed"
    first, second = chat_stub.requests
    retry = second["messages"]
    assert retry[:2] == first["messages"]
    assert retry[2] == {"role": "assistant", "content": json.dumps(wrong)}
    assert retry[3]["role"] == "user" and "outcome: must be one of" in retry[3]["content"]
    assert report["cost_details"]["analysis_llm_prompt_tokens"] == 600


async def test_invalid_json_twice_keeps_the_heuristic_analysis(
        setup: Setup, chat_stub: ChatStub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    chat_stub.answer_with("Sure! The caller wanted a refund.",
                          json.dumps({**ANSWER, "structured_data": {"issue_type": "lost"}}))
    call_id = setup.finished_call()
    report = (await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")).json()
    assert len(chat_stub.requests) == 2
    assert "not valid JSON" in chat_stub.requests[1]["messages"][3]["content"]
    assert report["analysis_status"] == "heuristic"
    error = report["metadata"]["analysis_error"]
    assert report["analysis_error"] == error
    assert "invalid after 2 attempts" in error
    assert "structured_data.issue_type: must be one of" in error
    assert "structured_data.follow_up_needed: is required" in error
    assert report["summary"] and report["summary"] != ANSWER["summary"]
    assert report["cost_details"]["analysis_llm_prompt_tokens"] == 600  # both attempts cost
    assert "the heuristic analysis stands" in caplog.text and "HTTP Request" in caplog.text

    # once the LLM answers well again, the next finalize clears the error
    again = (await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")).json()
    assert again["analysis_status"] == "llm" and "analysis_error" not in again["metadata"]
    assert_key_hidden(setup, caplog)


async def test_a_failing_endpoint_keeps_the_heuristic_analysis(
        setup: Setup, chat_stub: ChatStub) -> None:
    chat_stub.replies.append((503, {"error": {"message": "overloaded"}}))
    call_id = setup.finished_call()
    report = (await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")).json()
    assert report["analysis_status"] == "heuristic"
    assert "HTTP 503" in report["metadata"]["analysis_error"]
    assert report["cost_details"].get("analysis_llm_prompt_tokens") is None


async def test_an_endpoint_without_json_mode_is_asked_without_it(
        setup: Setup, chat_stub: ChatStub) -> None:
    chat_stub.replies.append((400, {"error": {"message": "response_format is not supported"}}))
    call_id = setup.finished_call()
    report = (await setup.call("POST", f"/v1/calls/{call_id}/report/finalize")).json()
    assert report["analysis_status"] == "llm"
    first, second = chat_stub.requests
    assert "response_format" in first and "response_format" not in second


async def test_the_agents_api_checks_the_credential(setup: Setup) -> None:
    unknown = await setup.call("POST", "/v1/agents", json={
        "name": "Ghost", "brain": {"kind": "llm", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                                   "credential_id": "00000000-0000-0000-0000-000000000000"}})
    assert unknown.status_code == 422 and unknown.json()["field"] == "brain.credential_id"

    child = await setup.call("POST", "/v1/organizations", json={"name": "Other"})
    assert child.status_code == 201, child.text
    other_key = child.json()["api_key"]["key"]
    theirs = await setup.call("POST", "/v1/provider-credentials", json={
        "provider": "openai-compatible", "api_key": "sk-theirs", "base_url": "http://x/v1"},
        headers={"Authorization": f"Bearer {other_key}"})
    assert theirs.status_code == 201, theirs.text
    foreign = await setup.call("PATCH", f"/v1/agents/{setup.agent['id']}", json={
        "brain": {"kind": "llm", "model": "stub-1", "credential_id": theirs.json()["id"]}})
    assert foreign.status_code == 422 and foreign.json()["field"] == "brain.credential_id"

    inline = await setup.call("PATCH", f"/v1/agents/{setup.agent['id']}", json={
        "brain": {"kind": "llm", "model": "stub-1", "base_url": "http://x/v1",
                  "api_key": "sk-inline"}})
    assert inline.status_code == 422 and inline.json()["field"] == "brain.api_key"
    no_url = await setup.call("POST", "/v1/agents", json={
        "name": "Lost", "brain": {"kind": "llm", "model": "m"}})
    assert no_url.status_code == 422 and no_url.json()["field"] == "brain.base_url"
