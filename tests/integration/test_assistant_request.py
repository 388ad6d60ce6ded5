"""The assistant-request webhook on inbound SIP calls (sipp callers on loopback, a real HTTP
receiver): its answer picks the agent, overrides its greeting and sets dynamic variables; a
refusal rejects the call with 403; a receiver slower than the deadline leaves the call to the
number's own agent without holding it up. Every request is checked for its signature."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from engine.app import Engine
from engine.calls.live_call import LiveCall
from engine.settings import Settings
from engine.store import Agent, Call, CallEvent, PhoneNumber, Webhook, session_scope
from engine.webhooks import verify
from tests.harness.receivers import Receiver
from tests.harness.rtp import MediaSocket
from tests.harness.sip_engine import greeted_session, settled
from tests.harness.sipp import requires_sipp, run_sipp, write_scenario
from tests.harness.sipp_steps import ack_rejection, invite, recv_bye, recv_response, scenario, sdp

pytestmark = requires_sipp
os.environ["HF_HUB_OFFLINE"] = "1"

NUMBER = "+14155550166"
SECRET = "whsec_assistant_0123456789"
DAY_GREETING = "Day desk, hello."
NIGHT_GREETING = "Night line, how can I help?"

# the caller's INVITE, refused with a 403, which it ACKs
REJECTED = scenario("rejected",
                    invite(sdp(port="[media_port]", events_fmtp=False, direction=None)),
                    recv_response(100, optional=True),
                    recv_response(403),
                    ack_rejection())


@dataclass
class Desk:
    engine: Engine
    day: str
    night: str

    @property
    def port(self) -> int:
        return int(self.engine.telephony.port)

    def rows(self, call_id: str) -> tuple[Call, list[CallEvent]]:
        self.engine.writer.flush()
        with session_scope(self.engine.db) as session:
            call = session.get(Call, call_id)
            assert call is not None
            events = list(session.exec(select(CallEvent).where(CallEvent.call_id == call_id)))
            session.expunge_all()
            return call, events

    def calls(self) -> list[Call]:
        with session_scope(self.engine.db) as session:
            rows = list(session.exec(select(Call)))
            session.expunge_all()
            return rows

    async def settled(self, within: float = 20.0) -> None:
        await settled(self.engine, within)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver("/assistant", answer={})
    yield server
    server.close()


@pytest.fixture
async def desk(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Desk]:
    engine = Engine(Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0))
    engine.setup()
    org = engine.organization_id
    voice = {"engine": "espeak-ng", "voice": "en-us", "rate": 175}
    with session_scope(engine.db) as session:
        day = Agent(organization_id=org, name="Day desk", first_message=DAY_GREETING,
                    stt={"engine": "whisper", "model": "tiny.en"}, tts=voice,
                    idle_timeout_seconds=60)
        night = Agent(organization_id=org, name="Night desk", first_message="Night desk.",
                      stt={"engine": "whisper", "model": "tiny.en"}, tts=voice,
                      idle_timeout_seconds=60)
        session.add_all([day, night])
        session.add(PhoneNumber(organization_id=org, number=NUMBER, label="desk", agent_id=day.id))
        session.add(Webhook(organization_id=org, url=receiver.url, secret=SECRET,
                            events=["assistant-request"], timeout_seconds=30.0))
        ids = day.id, night.id
    await engine.start()
    engine.telephony.rtp_timeout_s = 120.0  # the callers send no RTP
    await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
    yield Desk(engine, *ids)
    await engine.stop()
    engine.close()


async def greeted(desk: Desk, within: float = 20.0) -> LiveCall:
    """The live call once its agent has spoken the greeting."""
    return await greeted_session(desk.engine, within, "no greeted call")


def call_in(desk: Desk, tmp_path: Path, media: MediaSocket) -> asyncio.Future[Any]:
    xml = write_scenario(tmp_path / "caller.xml", recv_bye(40000))
    return asyncio.ensure_future(run_sipp(xml, desk.port, NUMBER.lstrip("+"), limit_s=45,
                                          extra=["-key", "rtp_port", str(media.port)]))


def webhook_event(events: list[CallEvent]) -> dict[str, Any]:
    found = [e for e in events if e.event_type == "webhook.assistant_request"]
    assert len(found) == 1, [e.event_type for e in events]
    return dict(found[0].payload)


async def test_the_answer_picks_the_agent_and_its_greeting(desk: Desk, receiver: Receiver,
                                                           tmp_path: Path) -> None:
    receiver.answer = {"agent_id": desk.night, "overrides": {"first_message": NIGHT_GREETING},
                       "dynamic_variables": {"tier": "gold"}}
    media = await MediaSocket.open()
    sipp = call_in(desk, tmp_path, media)
    try:
        session = await greeted(desk)
        assert session.route.agent_id == desk.night
        session.hangup()
        result = await sipp
        assert result.returncode == 0, result.stderr
    finally:
        media.close()
    await desk.settled()

    [hit] = receiver.hits
    assert verify(SECRET, hit.body, hit.signature)
    assert not verify("another secret", hit.body, hit.signature)
    message = hit.message
    assert message["type"] == "assistant-request"
    assert message["call"]["to_number"] == NUMBER and message["call"]["agent_id"] == desk.day
    assert message["call"]["id"] == session.call_id

    call, events = desk.rows(session.call_id)
    assert call.agent_id == desk.night and call.status == "completed"
    assert call.dynamic_variables == {"tier": "gold"}
    assert call.transcript.splitlines()[0] == f"agent: {NIGHT_GREETING}"
    logged = webhook_event(events)
    assert logged["outcome"] == "applied" and logged["agent_id"] == desk.night
    assert logged["default_agent_id"] == desk.day and logged["overrides"] == ["first_message"]


async def test_a_refusal_rejects_the_call(desk: Desk, receiver: Receiver, tmp_path: Path) -> None:
    receiver.answer = {"error": "this caller is blocked"}
    xml = tmp_path / "rejected.xml"
    xml.write_text(REJECTED)
    result = await run_sipp(xml, desk.port, NUMBER.lstrip("+"), limit_s=20)
    assert result.returncode == 0, result.stderr  # 403 received and ACKed
    await desk.settled()
    [call] = desk.calls()
    call, events = desk.rows(call.id)
    assert (call.status, call.disconnect_reason) == ("failed", "assistant_rejected")
    assert call.metadata_["error_message"] == "this caller is blocked"
    assert webhook_event(events)["outcome"] == "rejected"
    assert len(receiver.hits) == 1


async def test_a_slow_receiver_leaves_the_call_to_the_number_agent(
        desk: Desk, receiver: Receiver, tmp_path: Path) -> None:
    deadline_s = 0.6
    desk.engine.telephony.assistant_deadline_s = deadline_s
    receiver.answer = {"agent_id": desk.night}
    receiver.delay_s = 6.0
    media = await MediaSocket.open()
    started = time.monotonic()
    sipp = call_in(desk, tmp_path, media)
    try:
        loop = asyncio.get_running_loop()
        limit = loop.time() + 15
        answered_after = None
        while answered_after is None and loop.time() < limit:
            for session in list(desk.engine.telephony.calls.values()):
                if session.answered_at is not None:
                    answered_after = time.monotonic() - started
            await asyncio.sleep(0.02)
        assert answered_after is not None, "the call was not answered"
        # answered after the deadline plus a margin for sipp's start and a busy machine,
        # long before the receiver's answer would have come
        assert answered_after < deadline_s + 2.5, answered_after
        session = await greeted(desk)
        assert session.route.agent_id == desk.day
        session.hangup()
        result = await sipp
        assert result.returncode == 0, result.stderr
    finally:
        media.close()
    await desk.settled()
    assert len(receiver.hits) == 1 and verify(SECRET, receiver.hits[0].body,
                                              receiver.hits[0].signature)
    call, events = desk.rows(session.call_id)
    assert call.agent_id == desk.day
    assert call.transcript.splitlines()[0] == f"agent: {DAY_GREETING}"
    logged = webhook_event(events)
    assert logged["outcome"] == "timeout"
    assert deadline_s * 1000 - 50 <= logged["elapsed_ms"] < deadline_s * 1000 + 500, logged
