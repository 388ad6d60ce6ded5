"""Simulated callees answering the engine's outbound calls over real SIP/RTP on loopback: the
engine dials queued calls through a trunk pointing at them; a persona converses with the
order-status agent (over G.722), a voicemail box greets and beeps and records, a busy line
answers 486, a line nobody answers rings out, a fast answer picks up at once and hangs up, and
a number nobody has gets 404."""

from __future__ import annotations

import os
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from engine.app import Engine
from engine.simulator import CallResult, NumberPlan, SimulatedCallees, SimulatedCaller, load_persona
from engine.simulator.callee import ANSWER_LINE
from engine.simulator.number_plan import BEEP_HZ, DEMO_NUMBERS, FastAnswer, Voicemail, demo_plan
from engine.store import Call, PhoneNumber, SipTrunk, TranscriptEntry, session_scope
from tests.harness.sip_engine import SipEngine, add_agent, order_status_agent, sip_settings, started
from tests.harness.waiting import wait_for

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(120)

AGENT_NUMBER = "+14155550134"
ORDER_STATUS = "+12025550101"  # the demo plan's order_status persona
VOICEMAIL = "+12025550110"
NO_ANSWER = "+12025550130"
BUSY_LEAD = "+13125550146"  # not listed: busy by its last digit (the demo range rule)
UNKNOWN = "+13125550246"  # outside 555-0100..0199
FAST = "+12025550141"  # listed as a fast answer (the range rule would make it a persona)
FAST_HANGUP_S = 1.0
VOICEMAIL_LIMIT_S = 10.0


def tone_frames(wav: Path, hz: float) -> int:
    """How many 20 ms frames of the recording's caller (left) channel are a loud tone of ``hz``:
    most of the frame's energy at that frequency (its DFT bin)."""
    with wave.open(str(wav)) as f:
        rate, audio = f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), "<i2")
    left = audio[0::2].astype(np.float64)
    size = rate // 50
    count = 0
    for start in range(0, len(left) - size, size):
        frame = left[start:start + size]
        power = np.abs(np.fft.rfft(frame)) ** 2
        tone = round(hz * size / rate)  # its bin
        peak = power[tone - 1:tone + 2].sum()
        if np.sqrt(np.mean(frame ** 2)) > 1000 and peak > 0.8 * power.sum():
            count += 1
    return count


@dataclass
class Dialler:
    sip: SipEngine
    callees: SimulatedCallees
    trunk_id: str
    number_id: str

    def queue(self, to_number: str, ringing_timeout: int = 30, amd: str = "off") -> str:
        """A queued outbound call to ``to_number`` through the trunk, as the API stores it
        (``amd``: its answering-machine detection)."""
        engine = self.sip.engine
        with session_scope(engine.db) as session:
            call = Call(organization_id=engine.organization_id, type="phone_call",
                        transport="sip", direction="outbound", from_number=AGENT_NUMBER,
                        to_number=to_number, agent_id=self.sip.agent_id,
                        phone_number_id=self.number_id, sip_trunk_id=self.trunk_id,
                        status="queued", ringing_timeout_seconds=ringing_timeout,
                        metadata_={"amd_mode": amd})
            session.add(call)
            return call.id

    async def dial(self, to_number: str, *, ringing_timeout: int = 30, within: float = 90,
                   amd: str = "off") -> tuple[Call, CallResult]:
        """Dials ``to_number``; the engine's row once the call is over, and the callee's result."""
        before = len(self.callees.results)
        call_id = self.queue(to_number, ringing_timeout, amd)
        await self.sip.telephony.dial(call_id)
        await self.sip.settled(within)
        await wait_for(lambda: len(self.callees.results) > before, 20, "the callee's result")
        [result] = self.callees.results[before:]
        with session_scope(self.sip.engine.db) as session:
            call = session.get(Call, call_id)
            assert call is not None
            return call, result

    def transcript(self, call_id: str) -> list[TranscriptEntry]:
        with session_scope(self.sip.engine.db) as session:
            return sorted(session.exec(select(TranscriptEntry).where(
                TranscriptEntry.call_id == call_id)).all(), key=lambda e: e.index)


@pytest.fixture
async def dialler(tmp_path: Path) -> AsyncIterator[Dialler]:
    """The demo order-status agent on an engine with SIP, a trunk to simulated callees (the
    demo plan, its voicemail box taking short messages, G.722 answered when offered)."""
    engine = Engine(sip_settings(tmp_path))
    engine.setup()
    agent_id = add_agent(engine, AGENT_NUMBER, **order_status_agent(idle_timeout_seconds=20))
    plan = NumberPlan.from_mapping({**DEMO_NUMBERS,
                                    VOICEMAIL: Voicemail(limit_s=VOICEMAIL_LIMIT_S),
                                    FAST: FastAnswer(hangup_s=FAST_HANGUP_S)},
                                   ranges=demo_plan().ranges)
    async with started(engine, AGENT_NUMBER, agent_id, warm_s=30) as sip:
        callees = SimulatedCallees(plan, stt=sip.engine.telephony.agents.models.whisper,
                                   codec="g722", limit_s=60)
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


async def test_a_persona_callee_converses_with_the_agent_over_g722(dialler: Dialler) -> None:
    # as a dialler does: the agent waits for the person's "Hello?" (answering-machine detection)
    call, result = await dialler.dial(ORDER_STATUS, amd="detect")

    amd = call.metadata_["amd_result"]  # decided on the person's "Hello?" and the pause after it
    assert (amd["decision"], amd["cause"]) == ("human", "short greeting then silence"), amd
    assert call.disconnect_reason != "voicemail", call.disconnect_reason
    assert result.role == "callee" and result.persona == "order_status", result
    assert result.answered and result.sip_status == 200 and result.number == ORDER_STATUS
    assert result.codec == "G722", result.codec
    assert result.hearing  # order_status reacts to words: it heard through whisper
    said = [s.text for s in result.said]
    assert said[:3] == [ANSWER_LINE, "I would like to check my order status.",
                        "My order number is 8 4 3 6 1."]  # a person picks up with "Hello?"
    assert "how can i help" in result.heard_text.lower(), result.heard  # the agent's greeting
    assert result.turns and result.latencies_ms, result.turns
    assert result.goal_reached, (result.goal_missing, result.heard, result.said)

    assert call.status == "completed", (call.status, call.metadata_)
    assert call.answered_at is not None
    assert call.metadata_["rtp"]["codec"] == "G722", call.metadata_
    entries = dialler.transcript(call.id)
    user = [e.text for e in entries if e.source == "user"]
    agent = [e.text for e in entries if e.source == "agent"]
    assert agent and any("order status" in line.lower() for line in user[:2]), (user, agent)
    assert "how can i help" in agent[0].lower(), agent  # the greeting, held till the decision
    assert "hello" not in " ".join(user).lower().split()[:1], user  # not heard while held


async def test_voicemail_greets_beeps_and_records_the_agent(dialler: Dialler) -> None:
    call, result = await dialler.dial(VOICEMAIL)

    assert result.persona == "voicemail" and result.answered, result
    assert [s.text for s in result.said] == [Voicemail().greeting, "(beep)"]
    assert result.ended_by == "callee"  # the box hung up at its limit
    assert result.codec == "G722"
    assert result.recorded_s > 1.0  # it recorded after the beep

    assert call.status == "completed", (call.status, call.metadata_)
    heard = " ".join(e.text for e in dialler.transcript(call.id) if e.source == "user").lower()
    assert "leave a message" in heard or "voicemail" in heard, heard  # the agent heard it
    assert call.recording_status == "completed" and call.recording_path is not None
    assert tone_frames(Path(call.recording_path), BEEP_HZ) >= 15  # 0.3 s of the 0.5 s beep


async def test_a_busy_lead_is_kept_as_486(dialler: Dialler) -> None:
    call, result = await dialler.dial(BUSY_LEAD)

    assert result.persona == "busy" and result.sip_status == 486 and not result.answered
    assert call.status == "busy" and call.metadata_["sip_status_code"] == 486, call.metadata_
    assert call.answered_at is None


async def test_a_line_nobody_answers_rings_out(dialler: Dialler) -> None:
    call, result = await dialler.dial(NO_ANSWER, ringing_timeout=2)

    assert result.persona == "no_answer" and not result.answered
    assert result.sip_status == 487  # rang until the engine's CANCEL
    assert call.status == "no_answer", (call.status, call.metadata_)
    assert call.metadata_["sip_status_code"] == 487
    events = {e.event_type for e in dialler.sip.events(call.id)}
    assert {"ringing_timeout", "cancel_sent"} <= events, events


async def test_a_fast_answer_picks_up_at_once_sends_silence_and_hangs_up(
        dialler: Dialler) -> None:
    call, result = await dialler.dial(FAST)

    assert result.persona == "fast_answer" and result.answered and result.sip_status == 200
    assert result.said == [] and not result.hearing  # nothing rendered, nothing recognised
    assert result.ended_by == "callee" and result.duration_s >= FAST_HANGUP_S, result
    assert result.codec == "G722"
    assert call.status == "completed", (call.status, call.metadata_)
    assert call.answered_at is not None
    assert call.metadata_["rtp"]["frames_received"] > 0, call.metadata_  # the silence came


async def test_an_unknown_number_is_404(dialler: Dialler) -> None:
    call, result = await dialler.dial(UNKNOWN)

    assert result.persona == "unknown" and result.sip_status == 404 and not result.answered
    assert call.status == "failed", (call.status, call.metadata_)
    assert call.metadata_["sip_status_code"] == 404


@pytest.mark.parametrize(("codec", "negotiated"), [("g722", "G722"), ("g711", "PCMU")])
async def test_a_simulated_caller_offers_its_codec_choice(dialler: Dialler, codec: str,
                                                          negotiated: str) -> None:
    sip = dialler.sip
    caller = SimulatedCaller(load_persona("wants_human"), None, codec=codec)
    result = await caller.call(f"sip:{AGENT_NUMBER.lstrip('+')}@127.0.0.1:{sip.port}",
                               limit_s=40)
    await sip.settled(20)

    assert result.answered and result.codec == negotiated, result
    assert result.said and result.said[0].text == "Can I talk to a human, please?"
    [call] = [c for c in sip.calls() if c.direction == "inbound"]
    assert call.metadata_["rtp"]["codec"] == negotiated, call.metadata_
    user = " ".join(e.text for e in dialler.transcript(call.id) if e.source == "user").lower()
    assert "human" in user, user  # the agent heard the caller through that codec
