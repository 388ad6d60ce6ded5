"""Answering-machine detection on outbound calls over real SIP/RTP on loopback: the engine
dials simulated callees; the voicemail box (greeting, beep, recording) is decided a machine and
left the call's message, which its recording holds when transcribed back. (A person answering
"Hello?", decided human, is test_callees' G.722 conversation.)"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import select

from engine.app import Engine
from engine.simulator import CallResult, NumberPlan, SimulatedCallees
from engine.simulator.number_plan import Voicemail
from engine.store import Call, CallEvent, PhoneNumber, SipTrunk, TranscriptEntry, session_scope
from tests.harness.sip_engine import SipEngine, add_agent, order_status_agent, sip_settings, started
from tests.harness.waiting import wait_for

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = [pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="module")]

AGENT_NUMBER = "+14155550134"
VOICEMAIL = "+12025550110"
MESSAGE = ("Hello {{first_name}}, this is Northwind Outfitters about your order. "
           "Please call us back today.")


@dataclass
class Dialler:
    sip: SipEngine
    callees: SimulatedCallees
    trunk_id: str
    number_id: str

    async def dial(self, to_number: str, metadata: dict[str, Any],
                   variables: dict[str, Any] | None = None) -> tuple[Call, CallResult]:
        """A queued outbound call with ``metadata`` (as POST /v1/calls stores it), dialled; the
        engine's row once it is over, and the callee's result."""
        engine = self.sip.engine
        before = len(self.callees.results)
        with session_scope(engine.db) as session:
            row = Call(organization_id=engine.organization_id, type="phone_call",
                       transport="sip", direction="outbound", from_number=AGENT_NUMBER,
                       to_number=to_number, agent_id=self.sip.agent_id,
                       phone_number_id=self.number_id, sip_trunk_id=self.trunk_id,
                       status="queued", metadata_=metadata, dynamic_variables=variables or {})
            session.add(row)
            call_id = row.id
        await self.sip.telephony.dial(call_id)
        await self.sip.settled(60)
        await wait_for(lambda: len(self.callees.results) > before, 20, "the callee's result")
        [result] = self.callees.results[before:]
        with session_scope(engine.db) as session:
            call = session.get(Call, call_id)
            assert call is not None
            return call, result

    def events(self, call_id: str, kind: str) -> list[CallEvent]:
        with session_scope(self.sip.engine.db) as session:
            return list(session.exec(select(CallEvent).where(
                CallEvent.call_id == call_id, CallEvent.event_type == kind)).all())

    def transcript(self, call_id: str) -> list[TranscriptEntry]:
        with session_scope(self.sip.engine.db) as session:
            return sorted(session.exec(select(TranscriptEntry).where(
                TranscriptEntry.call_id == call_id)).all(), key=lambda e: e.index)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dialler(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dialler]:
    """The order-status agent on one engine with SIP, its number's trunk to a simulated
    voicemail box."""
    tmp_path = tmp_path_factory.mktemp("amd")
    engine = Engine(sip_settings(tmp_path))
    engine.setup()
    agent_id = add_agent(engine, AGENT_NUMBER, **order_status_agent(idle_timeout_seconds=20))
    plan = NumberPlan.from_mapping({VOICEMAIL: Voicemail(limit_s=30.0)})
    async with started(engine, AGENT_NUMBER, agent_id, warm_s=30) as sip:
        callees = SimulatedCallees(plan, stt=sip.engine.telephony.agents.models.whisper,
                                   codec="g711", limit_s=60)
        await callees.start()
        try:
            with session_scope(engine.db) as session:
                trunk = SipTrunk(organization_id=engine.organization_id, name="callees",
                                 host="127.0.0.1", port=callees.port)
                session.add(trunk)
                number = session.exec(select(PhoneNumber)).one()
                number.sip_trunk_id = trunk.id
                ids = trunk.id, number.id
            yield Dialler(sip, callees, *ids)
        finally:
            await callees.stop()


async def test_a_voicemail_box_is_left_the_message_after_its_beep(dialler: Dialler) -> None:
    call, result = await dialler.dial(
        VOICEMAIL, {"amd_mode": "detect_and_leave_message", "voicemail_message": MESSAGE},
        {"first_name": "Robin"})

    amd = call.metadata_["amd_result"]
    assert amd["decision"] == "machine", amd
    assert amd["cause"] in ("long greeting", "many words", "beep"), amd
    assert 0 < amd["decision_ms"] <= 4000, amd
    [decided] = dialler.events(call.id, "amd.decided")
    assert decided.payload == amd
    [left] = dialler.events(call.id, "agent.voicemail_message")
    assert left.payload["after"] == "beep", left.payload  # the box beeps after its greeting
    assert "Robin" in left.payload["text"] and "{" not in left.payload["text"]
    assert call.status == "completed" and call.disconnect_reason == "voicemail", call
    assert result.answered and result.ended_by == "agent", result  # we hung up, not the box
    assert not [e for e in dialler.transcript(call.id) if e.source == "agent"]  # no greeting

    heard = await dialler.sip.telephony.agents.models.whisper().transcribe(result.recording, "en")
    words = heard.text.lower()
    assert result.recorded_s > 2.0, result.recorded_s
    found = [w for w in ("robin", "north", "order", "call us back", "today") if w in words]
    assert len(found) >= 2, words
