"""Outbound webhooks against a real engine process and a real HTTP receiver on 127.0.0.1.

The engine runs with ``SWITCHBOARD_WEBHOOK_BACKOFF_S`` set small, so a report retried five times
takes under two seconds; its log (stderr) goes to a file the tests read. Finished calls are
written straight into the engine's SQLite file (the API cannot end a call), then a PATCH of the
call makes the API publish ``call.updated`` with the new status, as the call code does.

The in-process part (assistant-request, tool-calls) drives ``Engine.webhooks`` directly, the way
the call code will.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine.app import Engine
from engine.client import ApiError, Client
from engine.settings import Settings
from engine.store import (
    Agent,
    Call,
    PhoneNumber,
    ToolTemplate,
    TranscriptEntry,
    Webhook,
    make_engine,
    session_scope,
    sqlite_url,
)
from engine.store.timeutil import utcnow
from engine.webhooks import BACKOFF_ENV, WebhookError, verify
from tests.harness.engine_host import RunningEngine, start_engine
from tests.harness.receivers import Hit, Receiver, Reply
from tests.harness.sipp import requires_sipp, run_sipp
from tests.harness.tenants import write_rows
from tests.harness.waiting import wait_for as poll

BACKOFF_S = 0.02  # the first retry wait of the engine under test: 0.02, 0.08, 0.32, 1.28 s
SECRETS: set[str] = set()  # every secret given to the engine here; none may show up anywhere


def secret(name: str) -> str:
    value = f"whsec_{name}_{os.urandom(8).hex()}"
    SECRETS.add(value)
    return value


async def wait_for(check: Callable[[], Any], within: float = 15.0, what: str = "condition") -> Any:
    return await poll(check, within, what, every_s=0.02)


async def wait_until(check: Callable[[], Awaitable[Any]], within: float = 15.0,
                     what: str = "condition") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# -- fixtures ---------------------------------------------------------------------------------


@dataclass
class LoggedEngine:
    running: RunningEngine
    log_path: Path


def start_logged_engine(data_dir: Path, log_path: Path, timeout: float = 60.0) -> LoggedEngine:
    """``switchboard serve --port 0`` with a short webhook backoff, its stderr in a file."""
    running = start_engine(data_dir, extra_env={BACKOFF_ENV: str(BACKOFF_S)}, log_path=log_path,
                           timeout=timeout)
    return LoggedEngine(running, log_path)


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedEngine]:
    root = tmp_path_factory.mktemp("webhooks")
    engine = start_logged_engine(root / "data", root / "engine.log")
    yield engine
    engine.running.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@dataclass
class Org:
    api: Client
    id: str
    agent: dict[str, Any]
    other_agent: dict[str, Any]
    data_dir: Path
    path: str  # this test's receiver path


@pytest.fixture
async def org(hooked: LoggedEngine, request: pytest.FixtureRequest) -> AsyncIterator[Org]:
    """A fresh child organization with two agents; its own receiver path."""
    running = hooked.running
    async with Client(running.url, running.api_key) as admin:
        created = await admin.create_organization(f"webhooks {request.node.name}")
    async with Client(running.url, created["api_key"]["key"]) as api:
        agent = await api.agents.create(name="Ava")
        other = await api.agents.create(name="Bert")
        yield Org(api, created["id"], agent, other, running.data_dir, f"/t/{request.node.name}")


async def new_call(org: Org, agent: dict[str, Any] | None = None) -> dict[str, Any]:
    agent = agent or org.agent
    call: dict[str, Any] = await org.api.create_call(agent_id=agent["id"], to_number="+14155550123",
                                                     is_test=True)
    return call


def finish_call(org: Org, call_id: str, status: str = "completed") -> None:
    """Write the end of a call into the store, as the call code would (row, then transcript)."""
    db = make_engine(sqlite_url(org.data_dir / "switchboard.db"))
    now = utcnow()
    try:
        write_rows(db, TranscriptEntry, [
            {"organization_id": org.id, "call_id": call_id, "index": i, "source": source, "text": text,
             "started_at": now - timedelta(seconds=40 - 5 * i)}
            for i, (source, text) in enumerate((
                ("agent", "Hello, how can I help?"),
                ("user", "I would like to book an appointment for Tuesday"),
                ("agent", "Your appointment is booked for Tuesday"),
                ("user", "Great, thank you"),
            ))
        ])
        with db.begin() as conn:
            conn.execute(update(Call).where(Call.id == call_id).values(  # type: ignore[arg-type]
                status=status, answered_at=now - timedelta(seconds=42), ended_at=now,
                duration_seconds=42, disconnect_reason="customer_hangup",
                recording_status="completed", recording_path=f"recordings/{call_id}.wav",
                cost_stt_micro_usd=1200, cost_tts_micro_usd=300, cost_total_micro_usd=1500,
                updated_at=now))
    finally:
        db.dispose()


async def end_call(org: Org, call_id: str, status: str = "completed") -> None:
    await asyncio.to_thread(finish_call, org, call_id, status)
    await org.api.update_call(call_id, notes="ended")  # the API publishes call.updated


def assert_signed(hit: Hit, key: str) -> None:
    assert verify(key, hit.body, hit.headers.get("x-switchboard-signature")), hit.headers
    stamp = int(hit.headers["x-switchboard-timestamp"])
    assert abs(stamp - time.time()) < 120
    assert hit.headers["x-switchboard-delivery"]
    assert hit.headers["content-type"] == "application/json"


# -- status-update ----------------------------------------------------------------------------


async def test_status_update_on_a_new_call_is_signed(org: Org, receiver: Receiver) -> None:
    key = secret("status")
    hook = await org.api.webhooks.create(url=receiver.url + org.path, secret=key,
                                         events=["status-update"], headers={"X-Tenant": "acme"})
    call = await new_call(org)
    hits = await wait_for(lambda: receiver.at(org.path, "status-update"), what="status-update")
    hit = hits[0]
    assert_signed(hit, key)
    assert hit.headers["x-tenant"] == "acme"
    message = hit.message
    assert message["type"] == "status-update"
    assert message["status"] == "queued"
    assert message["call"]["id"] == call["id"]
    assert message["call"]["agent_id"] == org.agent["id"]
    assert message["call"]["agent_name"] == "Ava"
    assert message["call"]["organization_id"] == org.id
    async def logged() -> list[dict[str, Any]]:
        return (await org.api.webhook_deliveries(hook["id"])).items

    row = (await wait_until(logged, what="the delivery row"))[0]
    assert (row["event"], row["status"], row["attempts"], row["response_code"]) == (
        "status-update", "delivered", 1, 200)
    assert row["call_id"] == call["id"]


async def test_end_of_call_report_retried_then_delivered(org: Org, receiver: Receiver) -> None:
    key = secret("report")
    hook = await org.api.webhooks.create(url=receiver.url + org.path, secret=key,
                                         events=["status-update", "end-of-call-report"])
    receiver.script(org.path, "end-of-call-report", Reply(500), Reply(500), Reply(200))
    call = await new_call(org)
    await wait_for(lambda: receiver.at(org.path, "status-update"), what="queued status-update")
    await end_call(org, call["id"])

    reports = await wait_for(lambda: len(receiver.at(org.path, "end-of-call-report")) >= 3
                             and receiver.at(org.path, "end-of-call-report"), what="three report attempts")
    assert len({h.body for h in reports}) == 1  # every attempt is the same signed body
    for hit in reports:
        assert_signed(hit, key)
    gaps = [b.at - a.at for a, b in itertools.pairwise(reports)]
    assert gaps[0] >= BACKOFF_S * 0.9 and gaps[1] >= BACKOFF_S * 4 * 0.9, gaps
    report = reports[0].message
    assert report["call"]["id"] == call["id"]
    assert report["call"]["status"] == "completed"
    assert report["ended_reason"] == "customer_hangup"
    assert "appointment" in report["transcript"]
    assert [m["role"] for m in report["messages"]] == ["agent", "user", "agent", "user"]
    assert report["analysis"]["status"] == "heuristic"
    assert report["summary"]
    assert report["costs"]["total"] == 1500
    assert report["recording_url"] == f"/v1/calls/{call['id']}/recording"
    assert report["duration_seconds"] == 42

    statuses = [h.message["status"] for h in receiver.at(org.path, "status-update")]
    assert statuses == ["queued", "completed"]

    async def delivered() -> dict[str, Any] | None:
        detail = await org.api.get_call(call["id"])
        return detail if detail["post_call_webhook_status"] == "delivered" else None

    detail = await wait_until(delivered, what="post_call_webhook_status delivered")
    assert detail["analysis"]["status"] == "heuristic"
    page = await org.api.webhook_deliveries(hook["id"], event="end-of-call-report")
    assert page.total == 1
    row = page.items[0]
    assert (row["status"], row["attempts"], row["response_code"]) == ("delivered", 3, 200)
    assert row["last_error"] is None and row["delivered_at"]
    newest_first = await org.api.webhook_deliveries(hook["id"])
    assert newest_first.items[0]["event"] == "end-of-call-report"
    assert [r["event"] for r in newest_first.items][-1] == "status-update"


async def test_end_of_call_report_fails_after_five_attempts(org: Org, receiver: Receiver) -> None:
    hook = await org.api.webhooks.create(url=receiver.url + org.path, secret=secret("fail"),
                                         events=["end-of-call-report"])
    receiver.script(org.path, "end-of-call-report", Reply(500, {"error": "down"}))
    call = await new_call(org)
    await end_call(org, call["id"], status="failed")

    async def failed() -> dict[str, Any] | None:
        detail = await org.api.get_call(call["id"])
        return detail if detail["post_call_webhook_status"] == "failed" else None

    await wait_until(failed, what="post_call_webhook_status failed")
    assert len(receiver.at(org.path, "end-of-call-report")) == 5
    assert receiver.at(org.path, "status-update") == []  # not subscribed
    row = (await org.api.webhook_deliveries(hook["id"])).items[0]
    assert (row["status"], row["attempts"], row["response_code"]) == ("failed", 5, 500)
    assert row["last_error"].startswith("HTTP 500")
    # a later edit of the finished call sends nothing again
    await org.api.update_call(call["id"], notes="again")
    await asyncio.sleep(0.5)
    assert len(receiver.at(org.path, "end-of-call-report")) == 5


async def test_agent_scope_and_disabled_webhooks(org: Org, receiver: Receiver) -> None:
    everyone, scoped, disabled = (org.path + "/all", org.path + "/ava", org.path + "/off")
    await org.api.webhooks.create(url=receiver.url + everyone, events=["status-update"])
    await org.api.webhooks.create(url=receiver.url + scoped, events=["status-update"],
                                  agent_id=org.agent["id"])
    await org.api.webhooks.create(url=receiver.url + disabled, events=["status-update"], enabled=False)
    await org.api.webhooks.create(url=receiver.url + org.path + "/other", events=["tool-calls"])
    mine = await new_call(org, org.agent)
    theirs = await new_call(org, org.other_agent)

    def calls_at(path: str) -> set[str]:
        return {h.message["call"]["id"] for h in receiver.at(path)}

    await wait_for(lambda: calls_at(everyone) == {mine["id"], theirs["id"]}, what="both calls")
    await wait_for(lambda: calls_at(scoped) == {mine["id"]}, what="the scoped call")
    await asyncio.sleep(0.3)
    assert calls_at(scoped) == {mine["id"]}
    assert receiver.at(disabled) == []
    assert receiver.at(org.path + "/other") == []
    hits = receiver.at(everyone)
    assert all("x-switchboard-signature" not in h.headers for h in hits)  # no secret, no signature


# -- the API: test pings, the delivery log, secrets ---------------------------------------------


async def test_ping_answers_the_delivery_and_pages_newest_first(org: Org, receiver: Receiver) -> None:
    key = secret("ping")
    hook = await org.api.webhooks.create(url=receiver.url + org.path, secret=key,
                                         events=["status-update"], enabled=False)
    receiver.script(org.path, "ping", Reply(200), Reply(500, {"error": "nope"}), Reply(204, None))
    first = await org.api.test_webhook(hook["id"])
    assert (first["event"], first["status"], first["attempts"], first["response_code"]) == (
        "ping", "delivered", 1, 200)
    assert first["webhook_id"] == hook["id"]
    hit = receiver.at(org.path, "ping")[0]
    assert_signed(hit, key)
    assert hit.message == {"type": "ping", "timestamp": hit.message["timestamp"], "webhook_id": hook["id"]}
    second = await org.api.test_webhook(hook["id"])
    assert (second["status"], second["response_code"]) == ("failed", 500)
    assert second["last_error"].startswith("HTTP 500")
    third = await org.api.test_webhook(hook["id"])
    assert (third["status"], third["response_code"]) == ("delivered", 204)

    page1 = await org.api.webhook_deliveries(hook["id"], limit=2)
    assert page1.total == 3 and page1.total_pages == 2
    assert [r["id"] for r in page1.items] == [third["id"], second["id"]]
    page2 = await org.api.webhook_deliveries(hook["id"], limit=2, page=2)
    assert [r["id"] for r in page2.items] == [first["id"]]
    failed = await org.api.webhook_deliveries(hook["id"], status="failed")
    assert [r["id"] for r in failed.items] == [second["id"]]

    with pytest.raises(ApiError) as missing:
        await org.api.test_webhook("no-such-webhook")
    assert missing.value.status == 404
    with pytest.raises(ApiError) as missing_log:
        await org.api.webhook_deliveries("no-such-webhook")
    assert missing_log.value.status == 404


async def test_another_organizations_webhook_does_not_exist(org: Org, hooked: LoggedEngine,
                                                            receiver: Receiver) -> None:
    hook = await org.api.webhooks.create(url=receiver.url + org.path, secret=secret("iso"))
    async with Client(hooked.running.url, hooked.running.api_key) as root:
        for call in (root.test_webhook(hook["id"]), root.webhook_deliveries(hook["id"])):
            with pytest.raises(ApiError) as err:
                await call
            assert err.value.status == 404
    assert receiver.at(org.path) == []


async def test_the_secret_never_shows(org: Org, hooked: LoggedEngine, receiver: Receiver) -> None:
    key = secret("hidden")
    receiver.script(org.path, "*", Reply(500, {"error": "down"}))
    created = await org.api.webhooks.create(url=receiver.url + org.path, secret=key,
                                            events=list(("status-update", "end-of-call-report")))
    answers: list[Any] = [created]
    answers.append(await org.api.webhooks.get(created["id"]))
    answers.append((await org.api.webhooks.list()).items)
    answers.append(await org.api.webhooks.update(created["id"], timeout_seconds=2.0))
    answers.append(await org.api.test_webhook(created["id"]))
    call = await new_call(org)
    await end_call(org, call["id"])

    async def reported() -> bool:
        return (await org.api.get_call(call["id"]))["post_call_webhook_status"] == "failed"

    await wait_until(reported, what="the failed report")
    answers.append((await org.api.webhook_deliveries(created["id"], limit=100)).items)
    answers.append(await org.api.get_call(call["id"]))
    answers.append(await org.api.call_report(call["id"]))
    assert created["has_secret"] is True and "secret" not in created
    text = json.dumps(answers)
    log_text = hooked.log_path.read_text()
    assert "not delivered" in log_text  # the failures were logged...
    for value in SECRETS:
        assert value not in text
        assert value not in log_text  # ...without any secret


# -- assistant-request and tool-calls, in process -----------------------------------------------


@dataclass
class Local:
    engine: Engine
    agent: Agent
    other: Agent
    receiver: Receiver
    key: str

    def add_webhook(self, path: str, events: list[str], **fields: Any) -> str:
        with session_scope(self.engine.db) as session:
            hook = Webhook(organization_id=self.engine.organization_id, url=self.receiver.url + path,
                           secret=self.key, events=events, **fields)
            session.add(hook)
            return hook.id

    def call(self) -> dict[str, Any]:
        return {"id": "call-local-1", "direction": "inbound", "from_number": "+14155550111",
                "to_number": "+14155550100", "agent_id": self.agent.id, "status": "ringing"}


@pytest.fixture
async def local(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Local]:
    engine = Engine(Settings(data_dir=tmp_path))
    engine.setup()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, name="Day desk")
        other = Agent(organization_id=engine.organization_id, name="Night desk")
        session.add(agent)
        session.add(other)
    await engine.start()
    yield Local(engine, agent, other, receiver, secret("local"))
    await engine.stop()
    engine.close()


async def test_assistant_request_picks_and_overrides_an_agent(local: Local, receiver: Receiver) -> None:
    path = "/local/assistant"
    hook_id = local.add_webhook(path, ["assistant-request"])
    receiver.script(path, "assistant-request", Reply(200, {
        "agent_id": local.other.id, "overrides": {"first_message": "Night line, hello", "bogus": 1},
        "dynamic_variables": {"tier": "gold"}}))
    choice = await local.engine.webhooks.request_assistant(local.engine.organization_id, local.call())
    assert choice == {"agent_id": local.other.id, "overrides": {"first_message": "Night line, hello"},
                      "dynamic_variables": {"tier": "gold"}}
    hit = receiver.at(path)[0]
    assert_signed(hit, local.key)
    assert hit.message["type"] == "assistant-request"
    assert hit.message["call"]["to_number"] == "+14155550100"

    def logged() -> list[Any]:
        with session_scope(local.engine.db) as session:
            from sqlmodel import select

            from engine.store import WebhookDelivery
            return list(session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)))

    rows = await wait_for(logged, what="the delivery row")
    assert (rows[0].event, rows[0].status, rows[0].response_code) == ("assistant-request", "delivered", 200)


async def test_assistant_request_falls_back_to_the_number_agent(local: Local, receiver: Receiver) -> None:
    webhooks = local.engine.webhooks
    org = local.engine.organization_id
    assert await webhooks.request_assistant(org, local.call()) is None  # no webhook at all
    path = "/local/fallback"
    local.add_webhook(path, ["assistant-request"])
    receiver.script(path, "assistant-request", Reply(200, {"agent_id": "not-an-agent-of-ours"}),
                    Reply(500, {"error": "boom"}), Reply(200, {}))
    assert await webhooks.request_assistant(org, local.call()) is None  # unknown agent
    assert await webhooks.request_assistant(org, local.call()) is None  # 500
    assert await webhooks.request_assistant(org, local.call()) is None  # chose nothing
    assert len(receiver.at(path)) == 3


async def test_assistant_request_deadline(local: Local, receiver: Receiver) -> None:
    path = "/local/slow"
    local.add_webhook(path, ["assistant-request"], timeout_seconds=30.0)
    receiver.script(path, "assistant-request", Reply(200, {"agent_id": local.other.id}, delay_s=3.0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    choice = await local.engine.webhooks.request_assistant(local.engine.organization_id, local.call(),
                                                           deadline_s=0.3)
    elapsed = loop.time() - started
    assert choice is None
    assert elapsed < 1.5, elapsed
    assert len(receiver.at(path)) == 1


async def test_tool_calls(local: Local, receiver: Receiver) -> None:
    webhooks = local.engine.webhooks
    org = local.engine.organization_id
    call = local.call()
    tool = {"id": "tc-1", "name": "book_slot", "arguments": {"day": "Tuesday"}}
    missing = await webhooks.call_tool(org, call, tool)
    assert missing["results"][0]["toolCallId"] == "tc-1" and "error" in missing["results"][0]

    path = "/local/tools"
    local.add_webhook(path, ["tool-calls"])
    receiver.script(path, "tool-calls", Reply(200, {"results": [{"toolCallId": "tc-1", "result": "booked"}]}))
    answer = await webhooks.call_tool(org, call, tool)
    assert answer == {"results": [{"toolCallId": "tc-1", "result": "booked"}]}
    hit = receiver.at(path, "tool-calls")[0]
    assert_signed(hit, local.key)
    assert hit.message["toolCallList"] == [
        {"id": "tc-1", "type": "function",
         "function": {"name": "book_slot", "arguments": {"day": "Tuesday"}}}]

    # a function tool with its own URL is called there instead
    own = "/local/own-tool"
    with session_scope(local.engine.db) as session:
        template = ToolTemplate(organization_id=org, name="book_slot", type="function",
                                function={"name": "book_slot", "url": receiver.url + own,
                                          "headers": {"X-Tool": "1"}})
        session.add(template)
        agent = session.get(Agent, local.agent.id)
        assert agent is not None
        agent.tool_ids = [template.id]
        session.add(agent)
    receiver.script(own, "tool-calls", Reply(200, {"slot": "10:00"}), Reply(503, {"error": "busy"}))
    runner = webhooks.tool_runner(org, call)
    assert await runner(tool) == {"slot": "10:00"}
    assert receiver.at(own)[0].headers["x-tool"] == "1"
    with pytest.raises(WebhookError, match="HTTP 503"):
        await runner(tool)
    assert len(receiver.at(path, "tool-calls")) == 1


# -- a real SIP call through the telephony service ----------------------------------------------


@requires_sipp
async def test_a_sip_call_sends_status_updates_and_its_report(tmp_path: Path, receiver: Receiver) -> None:
    settings = Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0)
    engine = Engine(settings)
    engine.setup()
    key = secret("sip")
    path = "/sip/hook"
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, name="Reception",
                      first_message="Hello, thanks for calling.")
        session.add(agent)
        session.add(PhoneNumber(organization_id=engine.organization_id, number="+15550100",
                                agent_id=agent.id))
        session.add(Webhook(organization_id=engine.organization_id, url=receiver.url + path, secret=key,
                            events=["status-update", "end-of-call-report"], agent_id=agent.id))
    await engine.start()
    try:
        assert engine.telephony is not None
        result = await run_sipp("uac", engine.telephony.port, "15550100", extra=["-d", "500"])
        assert result.returncode == 0, result.stderr
        reports = await wait_for(lambda: receiver.at(path, "end-of-call-report"), what="the report")
    finally:
        await engine.stop()
        engine.close()
    statuses = [h.message["status"] for h in receiver.at(path, "status-update")]
    assert statuses == ["ringing", "in_progress", "completed"]
    for hit in receiver.at(path):
        assert_signed(hit, key)
    ringing = receiver.at(path, "status-update")[0].message["call"]
    assert ringing["agent_id"] == agent.id and ringing["direction"] == "inbound"
    report = reports[0].message
    assert report["call"]["status"] == "completed"
    assert report["ended_reason"] == "caller_hangup"
    assert report["analysis"]["status"] == "heuristic"
    assert report["recording"]["status"] == "completed"
