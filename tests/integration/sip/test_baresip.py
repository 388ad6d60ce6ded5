"""baresip as a real phone on loopback (auto-answer, a sine tone as its microphone).

The engine dials baresip: baresip's tone arrives at the engine (the recording's caller channel)
and the engine's tone arrives at baresip (its sndfile dump), each at its own frequency; the call
ends by BYE from the engine or from baresip. baresip calls the engine, which holds it
(re-INVITE a=sendonly, answered a=recvonly) and resumes it (a=sendrecv). The engine REFERs
baresip to the engine's own number: 202, NOTIFY sipfrag 100 then 200, and the new call arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.calls.commands import Hold, Resume
from engine.calls.legs import SipInboundLeg
from engine.calls.live_call import LiveCall
from engine.sip.refer import Refer, ReferResult
from engine.sip.reinvite import OnResult
from tests.harness.baresip import Baresip, dominant_hz, requires_baresip, wav_mono
from tests.harness.sip_engine import SipEngine
from tests.integration.sip.test_sipp_outbound import call_row, queue_call, wait_answered

pytestmark = requires_baresip

PHONE_HZ = 1000  # baresip's tone, told apart from the engine's 440 Hz greeting tone
ENGINE_HZ = 440


async def dial_and_answer(sip: SipEngine, phone: Baresip) -> str:
    sip.telephony.media.speak = False  # the agent's side plays its 440 Hz tone, not speech
    call_id = queue_call(sip, phone.port)
    sip.telephony.dial(call_id)
    try:
        await wait_answered(sip, call_id)
    except AssertionError:
        raise AssertionError(f"baresip did not answer:\n{phone.log}") from None
    return call_id


def assert_tones_both_ways(sip: SipEngine, call_id: str, phone: Baresip) -> None:
    call = call_row(sip, call_id)
    assert call.recording_status == "completed" and call.recording_path is not None
    caller, rate = wav_mono(Path(call.recording_path), 0)  # the callee (baresip) is the left
    assert abs(dominant_hz(caller, rate) - PHONE_HZ) < 15
    heard, rate = wav_mono(phone.received_wav())
    assert abs(dominant_hz(heard, rate) - ENGINE_HZ) < 15


async def test_engine_dials_baresip_and_hangs_up(sip_engine: SipEngine, tmp_path: Path) -> None:
    async with Baresip(tmp_path / "baresip", sine_hz=PHONE_HZ) as phone:
        call_id = await dial_and_answer(sip_engine, phone)
        await asyncio.sleep(2.5)  # the engine's tone is 1 s on, 1 s off
        sip_engine.telephony.calls[call_id].hangup()
        await phone.wait_output(b"terminated", 10.0)  # baresip saw our BYE
        await sip_engine.settled()
    call = call_row(sip_engine, call_id)
    assert call.status == "completed" and call.disconnect_reason == "agent_hangup"
    assert_tones_both_ways(sip_engine, call_id, phone)


async def test_engine_dials_baresip_which_hangs_up(sip_engine: SipEngine,
                                                   tmp_path: Path) -> None:
    async with Baresip(tmp_path / "baresip", sine_hz=PHONE_HZ) as phone:
        call_id = await dial_and_answer(sip_engine, phone)
        await asyncio.sleep(2.5)
        reply = await phone.command("hangup")
        assert reply.get("ok") is True, reply
        await sip_engine.settled()
        assert call_id not in sip_engine.telephony.calls, phone.log
    call = call_row(sip_engine, call_id)
    assert call.status == "completed" and call.disconnect_reason == "callee_hangup"
    assert any(e.event_type == "bye_received" for e in sip_engine.events(call_id))
    assert_tones_both_ways(sip_engine, call_id, phone)


async def confirmed_inbound_session(sip: SipEngine, within: float = 15.0) -> LiveCall:
    """The one inbound call, once baresip has ACKed the engine's 200."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        for session in list(sip.telephony.calls.values()):
            if isinstance(session.leg, SipInboundLeg) and session.leg.sip.state == "confirmed":
                return session
        await asyncio.sleep(0.05)
    raise AssertionError("no confirmed inbound call")


def watch_reinvite_answers(session: LiveCall) -> list[bytes]:
    """The SDP answers to the engine's re-INVITEs on this call, as they come."""
    answers: list[bytes] = []
    sip_call = session.leg.sip
    send = sip_call.reinvite

    def reinvite(offer: bytes, on_result: OnResult) -> bool:
        def done(status: int, body: bytes) -> None:
            answers.append(body)
            on_result(status, body)
        return send(offer, done)

    sip_call.reinvite = reinvite  # type: ignore[method-assign]
    return answers


async def test_engine_holds_and_resumes_baresip(sip_engine: SipEngine, tmp_path: Path) -> None:
    async with Baresip(tmp_path / "baresip", sine_hz=PHONE_HZ) as phone:
        reply = await phone.command("dial", f"sip:15550100@127.0.0.1:{sip_engine.port}")
        assert reply.get("ok") is True, reply
        try:
            session = await confirmed_inbound_session(sip_engine)
        except AssertionError:
            raise AssertionError(phone.log) from None
        answers = watch_reinvite_answers(session)
        held = await session.control.execute(Hold(type="hold"), "test")
        assert held["result"] == "on_hold" and held["reinvite_status"] == 200, phone.log
        assert held["status"] == "on_hold"
        assert b"a=recvonly" in answers[0], answers  # baresip accepts being held
        resumed = await session.control.execute(Resume(type="resume"), "test")
        assert resumed["result"] == "resumed" and resumed["reinvite_status"] == 200, phone.log
        assert b"a=sendrecv" in answers[1] or b"a=recvonly" not in answers[1], answers
        await asyncio.sleep(1.0)
        session.hangup()
        await phone.wait_output(b"terminated", 10.0)
        await sip_engine.settled()
    [call] = sip_engine.calls()
    assert call.status == "completed" and call.direction == "inbound"
    events = sip_engine.events(call.id)
    steps = [(e.event_type, e.sip_status_code) for e in events]
    assert steps.count(("reinvite_sent", None)) == 2 and steps.count(("reinvite_response", 200)) == 2
    assert ("control.hold", None) in steps and ("control.resume", None) in steps


async def test_engine_refers_baresip_to_the_engines_number(sip_engine: SipEngine,
                                                           tmp_path: Path) -> None:
    async with Baresip(tmp_path / "baresip", sine_hz=PHONE_HZ) as phone:
        call_id = await dial_and_answer(sip_engine, phone)
        session = sip_engine.telephony.calls[call_id]
        assert session.leg.sip is not None and session.leg.sip.dialog is not None
        loop = asyncio.get_running_loop()
        result: asyncio.Future[ReferResult] = loop.create_future()
        Refer(sip_engine.telephony.ua, session.leg.sip.dialog,
              f"sip:15550100@127.0.0.1:{sip_engine.port}",
              lambda r: result.done() or result.set_result(r)).start()
        try:
            outcome = await asyncio.wait_for(result, 15.0)
        except TimeoutError:
            raise AssertionError(phone.log) from None
        assert outcome.outcome == "completed" and outcome.refer_status == 202, phone.log
        assert outcome.final_line == "SIP/2.0 200 OK"
        transferred = await confirmed_inbound_session(sip_engine)  # baresip called the target
        session.hangup()  # the transferor leaves (RFC 5589 §6)
        await asyncio.sleep(0.5)
        transferred.hangup()
        await sip_engine.settled()
    calls = {call.direction: call for call in sip_engine.calls()}
    assert calls["outbound"].status == "completed" and calls["inbound"].status == "completed"
    assert calls["inbound"].from_number.endswith("15550199")
