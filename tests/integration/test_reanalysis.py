"""Re-analysis a supervisor can trust, through the in-process API over a real SQLite store:
``POST /v1/calls/{id}/report/finalize`` with a template, a history and the end-of-call webhook
sent again; ``POST /v1/calls/analysis`` over a list filter with its progress on the bus; a demo
call's transfer outcome and structured data surviving a re-run; the LLM's success reason; a
transfer and what comes after it; provider credentials checked with their provider on save.

The only stand-ins are HTTP servers on loopback: the OpenAI-compatible chat stub and a webhook
receiver (``tests.harness.receivers``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from engine.api.app import create_app
from engine.app import Engine
from engine.calls.transfers.attempts import link_previous
from engine.demo.catalog import APPOINTMENT_OUTCOMES
from engine.demo.seed import seed
from engine.events import AnalysisJobProgress, parse_event
from engine.settings import Settings
from engine.store import AnalysisTemplate, Call, TranscriptEntry, Transfer, session_scope
from engine.store.timeutil import utcnow
from tests.harness.receivers import ChatStub, Receiver

pytestmark = pytest.mark.timeout(180)

ADMIN_KEY = "sb-admin-reanalysis-test"
PROVIDER_KEY = "sk-reanalysis-0a1b2c3d4e5f6a7b8c9d"
DEMO_CALLS = 400  # enough for a few calls the demo transferred to a person
CRITERION = "A refund was filed for the caller."
OUTCOMES = ["refund_filed", "escalated", "other"]
ANSWER = {"summary": "The caller wanted a refund for a double charge.", "sentiment": "positive",
          "sentiment_score": 8, "outcome": "refund_filed", "success": True,
          "structured_data": {"issue_type": "refund"}}


@dataclass
class Api:
    engine: Engine
    client: httpx.AsyncClient

    @property
    def org(self) -> str:
        return self.engine.organization_id

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def finished_call(self, agent_id: str | None, talk: list[tuple[str, str]], *,
                      seconds: int = 12, reason: str = "caller_hangup") -> str:
        started = utcnow() - timedelta(minutes=5)
        with session_scope(self.engine.db) as session:
            call = Call(organization_id=self.org, agent_id=agent_id, direction="inbound",
                        status="completed", from_number="+14155550123", to_number="+14155550177",
                        initiated_at=started, answered_at=started,
                        ended_at=started + timedelta(seconds=seconds), duration_seconds=seconds,
                        disconnect_reason=reason, cost_tts_micro_usd=900,
                        cost_total_micro_usd=900, cost_details={"tts_characters": 60})
            session.add(call)
            for index, (source, text) in enumerate(talk):
                session.add(TranscriptEntry(organization_id=self.org, call_id=call.id,
                                            index=index, source=source, text=text,
                                            started_at=started + timedelta(seconds=3 * index)))
            return call.id


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    engine = Engine(Settings(data_dir=tmp_path, api_key=ADMIN_KEY))
    engine.setup()
    await engine.start()
    app = create_app(engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield Api(engine, client)
    finally:
        await engine.stop()
        engine.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver("/hooks")
    yield hooks
    hooks.close()


@pytest.fixture
def chat_stub() -> Iterator[ChatStub]:
    answers: list[dict[str, Any]] = []

    def respond(_: dict[str, Any]) -> tuple[int, Any]:
        content = json.dumps(answers.pop(0) if answers else ANSWER)
        return 200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1,
                     "model": "stub-1", "choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant",
                                                                 "content": content}}],
                     "usage": {"prompt_tokens": 200, "completion_tokens": 40}}

    stub = ChatStub(respond)
    stub.answers = answers  # type: ignore[attr-defined]
    stub.start()
    yield stub
    stub.close()


def demo_transferred_call(api: Api) -> str:
    """A demo call the demo data says was transferred to a person, and whose transfer completed."""
    with Session(api.engine.db) as session:
        rows = session.exec(select(Call).where(Call.organization_id == api.org,
                                               Call.outcome == "transferred_to_human")).all()
        for call in rows:
            done = session.exec(select(Transfer).where(Transfer.call_id == call.id,
                                                       Transfer.status == "completed")).first()
            if done is not None and call.structured_data:
                return str(call.id)
    raise AssertionError("the demo data has no completed transfer to a person")


async def test_a_demo_calls_rerun_keeps_its_transfer_outcome_and_data(api: Api) -> None:
    seed(api.engine.db, api.org, calls=DEMO_CALLS)
    call_id = demo_transferred_call(api)
    before = await api.ok("GET", f"/v1/calls/{call_id}")
    assert before["outcome"] == "transferred_to_human"

    report = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize", json={})
    assert report["outcome"] == "transferred_to_human"
    assert before["analysis"]["structured_data"]
    for name, value in before["analysis"]["structured_data"].items():
        if value not in (None, ""):  # none emptied (the heuristic may refine)
            assert report["structured_data"].get(name) not in (None, ""), name
    assert report["success_reason"] and report["webhook"] is None

    after = await api.ok("GET", f"/v1/calls/{call_id}")
    assert after["analysis"]["outcome"] == "transferred_to_human"
    assert after["success_reason"] == after["analysis"]["success_reason"] == report["success_reason"]
    assert after["costs"]["currency"] == "USD" and after["costs"]["unit"] == "micro_usd"
    assert {line["rate_unit"] for line in after["costs"]["lines"]} == {
        "per minute", "per 1k characters", "per 1M tokens"}
    usage = await api.ok("GET", "/v1/usage")
    assert usage["currency"] == "USD"
    assert usage["totals"]["telephony"]["rate_unit"] == "per minute"

    history = await api.ok("GET", f"/v1/calls/{call_id}/analysis/history")
    assert history["current"]["outcome"] == "transferred_to_human"
    [replaced] = history["items"]
    assert replaced["replaced_by"] == "finalize"
    assert replaced["analysis"]["summary"] == before["analysis"]["summary"]
    assert replaced["analysis"]["structured_data"] == before["analysis"]["structured_data"]

    # another template of the organization: its outcomes, its name in the history
    with Session(api.engine.db) as session:
        appointments = session.exec(select(AnalysisTemplate).where(
            AnalysisTemplate.organization_id == api.org,
            AnalysisTemplate.name == "Appointment booking")).one()
    other = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize",
                         json={"template_id": appointments.id})
    assert other["outcome"] is None or other["outcome"] in APPOINTMENT_OUTCOMES
    assert other["metadata"]["analysis_template_id"] == appointments.id
    history = await api.ok("GET", f"/v1/calls/{call_id}/analysis/history")
    assert [item["analysis"]["outcome"] for item in history["items"]] == [
        "transferred_to_human", "transferred_to_human"]

    unknown = await api.call("POST", f"/v1/calls/{call_id}/report/finalize",
                             json={"template_id": "no-such-template"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "template_id"
    extra = await api.call("POST", f"/v1/calls/{call_id}/report/finalize", json={"colour": 1})
    assert extra.status_code == 422 and extra.json()["field"] == "colour"


async def test_a_silent_call_is_summarised_and_its_report_sent_again(
        api: Api, receiver: Receiver) -> None:
    hook = await api.ok("POST", "/v1/webhooks", 201, json={
        "url": receiver.url, "events": ["end-of-call-report"], "secret": "s3cret"})
    call_id = api.finished_call(None, [
        ("agent", "Hello, this is Nova from Acme Parcel. How can I help?"),
        ("user", "[BLANK_AUDIO]"),
        ("agent", "Sorry, I didn't catch that. Are you still there?")], seconds=12)

    report = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize",
                          json={"resend_webhook": True})
    assert report["summary"].startswith("The caller said nothing the agent could understand; "
                                        'the agent said: "Hello, this is Nova')
    assert report["summary"].endswith("the call ended after 12 s by the caller hanging up.")
    webhook = report["webhook"]
    assert webhook["status"] == "delivered" and report["post_call_webhook_status"] == "delivered"
    assert [d["webhook_id"] for d in webhook["deliveries"]] == [hook["id"]]
    [hit] = receiver.at("/hooks", "end-of-call-report")
    assert hit.message["call"]["id"] == call_id
    assert hit.message["summary"] == report["summary"]

    # the seed's own names: retry_webhook sends it again; force_analysis false leaves it as is
    again = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize",
                         json={"retry_webhook": True, "force_analysis": False})
    assert again["webhook"]["status"] == "delivered"
    assert len(receiver.at("/hooks", "end-of-call-report")) == 2
    history = await api.ok("GET", f"/v1/calls/{call_id}/analysis/history")
    assert len(history["items"]) == 0  # the first analysis replaced nothing; the second did not run
    stored = await api.ok("GET", f"/v1/calls/{call_id}/report")
    assert stored["post_call_webhook_status"] == "delivered"


async def finished(api: Api, job_id: str) -> dict[str, Any]:
    """The job's state once it stopped running (the test's timeout bounds the wait)."""
    for _ in range(100_000):
        state: dict[str, Any] = await api.ok("GET", f"/v1/calls/analysis/{job_id}")
        if state["status"] not in ("queued", "running"):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never finished")


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> list[Any]:
    events = []
    while not queue.empty():
        events.append(parse_event(queue.get_nowait()))
    return events


async def test_a_template_rerun_over_a_filtered_set_of_calls(api: Api) -> None:
    seed(api.engine.db, api.org, calls=DEMO_CALLS)
    agents = (await api.ok("GET", "/v1/agents", params={"limit": 100}))["items"]
    orders = next(a for a in agents if a["name"] == "Order status")
    templates = (await api.ok("GET", "/v1/analysis-templates"))["items"]
    service = next(t for t in templates if t["name"] == "Customer service call")
    filters = {"agent_id": orders["id"], "status": "completed"}
    listed = await api.ok("GET", "/v1/calls", params={**filters, "limit": 1})
    total = listed["pagination"]["total"]
    assert total > 0

    wrong = await api.call("POST", "/v1/calls/analysis", json={"filters": {"colour": "red"}})
    assert wrong.status_code == 422 and wrong.json()["field"] == "filters.colour"
    bad_time = await api.call("POST", "/v1/calls/analysis", json={"filters": {"since": "soon"}})
    assert bad_time.status_code == 422 and bad_time.json()["field"] == "filters.since"
    no_template = await api.call("POST", "/v1/calls/analysis", json={"template_id": "x"})
    assert no_template.status_code == 422 and no_template.json()["field"] == "template_id"

    sub = api.engine.bus.subscribe(api.org)
    try:
        job = await api.ok("POST", "/v1/calls/analysis", 202,
                           json={"template_id": service["id"], "filters": filters})
        assert (job["status"], job["total"], job["template_id"]) == ("queued", total,
                                                                      service["id"])
        assert job["filters"]["agent_id"] == orders["id"]
        assert job["filters"]["statuses"] == ["completed"]
        state = await finished(api, job["id"])
        assert (state["status"], state["done"], state["failed"]) == ("completed", total, 0)
        progress = [e for e in await _drain(sub.queue) if isinstance(e, AnalysisJobProgress)]
    finally:
        api.engine.bus.unsubscribe(sub)
    assert progress[0].status == "queued" and progress[1].status == "running"
    assert progress[-1].status == "completed" and progress[-1].done == total
    assert all(p.job_id == job["id"] and p.total == total for p in progress)
    done = [p.done for p in progress]
    assert done == sorted(done) and len(progress) >= 3

    some = (await api.ok("GET", "/v1/calls", params={**filters, "limit": 1}))["items"][0]
    history = await api.ok("GET", f"/v1/calls/{some['id']}/analysis/history")
    assert history["items"][0]["replaced_by"] == f"job:{job['id']}"
    missing = await api.call("GET", "/v1/calls/analysis/no-such-job")
    assert missing.status_code == 404


async def test_the_llms_success_reason_and_checked_credentials(
        api: Api, chat_stub: ChatStub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    catalogue = await api.ok("GET", "/v1/provider-credentials/providers")
    by_name = {p["provider"]: p for p in catalogue["items"]}
    assert {"openai-compatible", "openai", "anthropic", "groq", "deepgram",
            "elevenlabs"} <= set(by_name)
    fields = {f["name"]: f for f in by_name["openai-compatible"]["fields"]}
    assert fields["api_key"]["secret"] is True and fields["base_url"]["secret"] is False
    assert fields["base_url"]["required"] is False and fields["api_key"]["required"] is True
    assert by_name["openai"]["default_base_url"] == "https://api.openai.com/v1"
    assert by_name["elevenlabs"]["agents_use"] is False

    unknown = await api.call("POST", "/v1/provider-credentials",
                             json={"provider": "acme-ai", "api_key": "k"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "provider"
    bad_url = await api.call("POST", "/v1/provider-credentials", json={
        "provider": "openai-compatible", "api_key": "k", "base_url": "127.0.0.1:8080/v1"})
    assert bad_url.status_code == 422 and bad_url.json()["field"] == "base_url"
    no_url = await api.ok("POST", "/v1/provider-credentials", 201,
                          json={"provider": "openai-compatible", "api_key": "k"})
    assert no_url["check_ok"] is None and "no base_url" in no_url["check_message"]

    chat_stub.models_key = PROVIDER_KEY
    made = await api.call("POST", "/v1/provider-credentials", json={
        "provider": "openai-compatible", "name": "stub", "base_url": chat_stub.url,
        "api_key": PROVIDER_KEY})
    assert made.status_code == 201, made.text
    credential = made.json()
    assert credential["check_ok"] is True and credential["checked_at"]
    assert "answered 200 (1 listed)" in credential["check_message"]
    assert chat_stub.model_listings == [f"Bearer {PROVIDER_KEY}"]
    wrong = await api.ok("PATCH", f"/v1/provider-credentials/{credential['id']}",
                         json={"api_key": PROVIDER_KEY[::-1]})
    assert wrong["check_ok"] is False and "answered 401" in wrong["check_message"]
    renamed = await api.ok("PATCH", f"/v1/provider-credentials/{credential['id']}",
                           json={"name": "stub 2"})
    assert renamed["check_ok"] is False and len(chat_stub.model_listings) == 2  # not re-checked
    await api.ok("PATCH", f"/v1/provider-credentials/{credential['id']}",
                 json={"api_key": PROVIDER_KEY})
    rechecked = await api.ok("POST", f"/v1/provider-credentials/{credential['id']}/check")
    assert rechecked["check_ok"] is True and len(chat_stub.model_listings) == 4

    template = await api.ok("POST", "/v1/analysis-templates", 201, json={
        "name": "Refunds", "outcomes": OUTCOMES, "success_criteria": CRITERION,
        "structured_data_schema": {"type": "object", "properties": {
            "issue_type": {"type": "string"}, "order_number": {"type": "string"}}}})
    agent = await api.ok("POST", "/v1/agents", 201, json={
        "name": "Nova", "analysis_template_id": template["id"],
        "brain": {"kind": "llm", "model": "stub-1", "credential_id": credential["id"]}})
    call_id = api.finished_call(agent["id"], [
        ("agent", "Hello, this is Nova. How can I help?"),
        ("user", "Order A-1042 was charged twice, I want my money back."),
        ("agent", "I have filed a refund for the double charge.")])
    chat_stub.answers.extend([  # type: ignore[attr-defined]
        {**ANSWER, "success_reason": "The agent filed the refund the caller asked for.",
         "structured_data": {"issue_type": "refund", "order_number": "A-1042"}},
        {**ANSWER, "structured_data": {"issue_type": "refund"}}])
    first = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize")
    assert first["analysis_status"] == "llm"
    assert first["success_reason"] == "The agent filed the refund the caller asked for."
    second = await api.ok("POST", f"/v1/calls/{call_id}/report/finalize")
    assert second["success_reason"] == f'The LLM judged the criterion "{CRITERION}" met.'
    # the LLM left order_number out this time: the template still defines it, it stays
    assert second["structured_data"] == {"issue_type": "refund", "order_number": "A-1042"}
    history = await api.ok("GET", f"/v1/calls/{call_id}/analysis/history")
    assert history["items"][0]["analysis"]["success_reason"] == first["success_reason"]
    assert history["items"][0]["template_id"] == template["id"]

    answers = [made.text, wrong.__repr__(), json.dumps(catalogue), json.dumps(history)]
    answers.append((await api.call("GET", "/v1/provider-credentials")).text)
    assert not any(PROVIDER_KEY in text or PROVIDER_KEY[::-1] in text for text in answers)
    assert PROVIDER_KEY not in caplog.text and PROVIDER_KEY[::-1] not in caplog.text


async def test_a_transfer_and_the_one_after_it(api: Api) -> None:
    call_id = api.finished_call(None, [("agent", "Let me transfer you.")])
    destinations = [{"to": "+14155550101", "label": "Desk"}, {"to": "+14155550102"},
                    {"to": "+14155550103", "label": "Backup"}]
    with session_scope(api.engine.db) as session:
        first = Transfer(organization_id=api.org, call_id=call_id, kind="blind", status="failed",
                         transfer_to="+14155550100", failure_cause="busy",
                         created_at=utcnow() - timedelta(seconds=30))
        session.add(first)
    with session_scope(api.engine.db) as session:
        second = Transfer(organization_id=api.org, call_id=call_id, kind="warm",
                          status="consulting", transfer_to="+14155550102",
                          destinations=destinations,
                          routing_attempts=[{"to": "+14155550101", "status": "failed"}])
        session.add(second)
        assert link_previous(session, second) == first.id
    got = await api.ok("GET", f"/v1/calls/{call_id}/transfers/{first.id}")
    assert got["id"] == first.id and got["next_transfer_id"] == second.id
    assert got["next_transfer"] == {"id": second.id, "kind": "warm", "status": "consulting",
                                    "to": "+14155550102", "label": None, "attempt": None}
    running = await api.ok("GET", f"/v1/calls/{call_id}/transfers/{second.id}")
    assert running["next_transfer"] == {"id": None, "kind": "warm", "status": "queued",
                                        "to": "+14155550103", "label": "Backup", "attempt": 2}
    listed = await api.ok("GET", f"/v1/calls/{call_id}/transfers")
    assert [t["next_transfer"]["status"] for t in listed["items"]] == ["consulting", "queued"]
    missing = await api.call("GET", f"/v1/calls/{call_id}/transfers/no-such-transfer")
    assert missing.status_code == 404
