"""Live control over real SIP on loopback: a sipp caller, the engine's order-status agent, and a
supervisor's commands through the API (say, inject_context, end_call, hold / resume with music,
mute, DTMF out), with what the caller received checked on the wire and in the recording."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from engine.client import ApiError
from tests.harness.rtp import PCMA_PT, MediaSocket, alaw_levels, dtmf_digits
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import requires_sipp, run_sipp, write_scenario
from tests.harness.sipp_steps import answer_reinvite, recv_bye, send_bye, send_reinvite

pytestmark = requires_sipp

SAID = "Your refund of forty dollars has been approved."
GOODBYE = "Thank you for your patience. Goodbye."
MUSIC_LEVEL = 100.0  # RMS: the music's quietest frames (decayed notes) stay above ~200
QUIET_LEVEL = 60.0  # RMS: A-law silence decodes to ±8


def start_sipp(engine: ControlEngine, xml: Path, media: MediaSocket,
               limit_s: float = 50.0) -> asyncio.Task:  # type: ignore[type-arg]
    return asyncio.ensure_future(run_sipp(xml, engine.port, engine.number.lstrip("+"),
                                          limit_s=limit_s,
                                          extra=["-key", "rtp_port", str(media.port)]))


async def test_say_inject_context_and_end_call(control_engine: ControlEngine,
                                               tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    sipp = start_sipp(engine, write_scenario(tmp_path / "caller.xml", recv_bye(45000)), media)
    try:
        session = await engine.live_session()
        pipeline = session.agent.pipeline  # type: ignore[union-attr]
        call_id = session.call_id
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the greeting's end")

        said = await client.control(call_id, "say", content=SAID)
        assert said["result"] == "speaking" and said["status"] == "in_progress"
        await engine.wait_for(lambda: any(line.source == "supervisor" for line in pipeline.lines),
                              20, "the supervisor's line")

        quiet = await client.control(call_id, "inject_context",
                                     content="The caller is a returning customer.")
        assert quiet["result"] == "injected"
        asked = await client.control(call_id, "inject_context", trigger_response=True,
                                     content="I would like to check my order status.")
        assert asked["result"] == "responding"
        await engine.wait_for(lambda: any(line.kind == "context" and "order number" in line.text
                                          for line in pipeline.lines), 20, "the agent's reply")
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the reply's end")

        ending = await client.control(call_id, "end_call", message=GOODBYE)
        assert ending["result"] == "ending"
        again = await client.control(call_id, "end_call")
        assert again["result"] == "already_ended"
        with pytest.raises(ApiError) as refused:
            await client.control(call_id, "say", content="Too late.")
        assert refused.value.status == 400 and refused.value.code == "CALL_NOT_LIVE"

        result = await sipp
        assert result.returncode == 0, result.stderr  # sipp received the BYE
    finally:
        media.close()
    await engine.settled(20)

    call = await client.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == "supervisor_hangup"
    entries = call["transcript"]["entries"]
    supervisor = [e["text"] for e in entries if e["source"] == "supervisor"]
    assert supervisor == [SAID, GOODBYE], entries
    assert any("order number" in e["text"] for e in entries if e["source"] == "agent")

    events = [e for e in await client.call_events(call_id) if e["provider"] == "supervisor"]
    actions = [(e["event_type"], e["payload"]["result"]) for e in events]
    assert actions == [("control.say", "speaking"), ("control.inject_context", "injected"),
                       ("control.inject_context", "responding"), ("control.end_call", "ending"),
                       ("control.end_call", "already_ended")], actions
    assert all(e["actor"] == "api_key:admin" and e["occurred_at"] for e in events)
    assert events[0]["payload"]["content"] == SAID

    # over: 400 for a command, end_call stays idempotent, unknown calls are 404
    with pytest.raises(ApiError) as over:
        await client.control(call_id, "hold")
    assert over.value.status == 400 and over.value.code == "CALL_NOT_LIVE"
    assert "status completed" in str(over.value)
    assert (await client.control(call_id, "end_call"))["result"] == "already_ended"
    with pytest.raises(ApiError) as unknown:
        await client.control("no-such-call", "say", content="hello")
    assert unknown.value.status == 404
    with pytest.raises(ApiError) as bad:
        await client.control(call_id, "dtmf", digits="12x")
    assert bad.value.status == 422 and bad.value.field == "digits"

    # what the caller heard: the agent's side of the recording, recognised by whisper
    with wave.open(str(session.recorder.path)) as wav:  # type: ignore[union-attr]
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    heard = await engine.telephony.agents.models.whisper().transcribe(stereo[:, 1].copy().tobytes())
    text = heard.text.lower()
    for words in ("refund", "approved", "order number", "your patience"):
        assert words in text, text


async def test_hold_resume_mute_and_dtmf(control_engine: ControlEngine, tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    xml = write_scenario(tmp_path / "held.xml",
                         answer_reinvite(1, "sendonly", "recvonly"),
                         answer_reinvite(2, "sendrecv", "sendrecv"),
                         # the caller holds the engine, then resumes, then hangs up
                         send_reinvite(2, "sendonly", "recvonly", 300),
                         send_reinvite(3, "sendrecv", "sendrecv", 1200),
                         send_bye(300))
    sipp = start_sipp(engine, xml, media)
    try:
        session = await engine.live_session()
        call_id = session.call_id
        pipeline = session.agent.pipeline  # type: ignore[union-attr]
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the greeting's end")

        assert (await client.control(call_id, "mute_agent"))["result"] == "muted"
        assert (await client.control(call_id, "mute_agent"))["result"] == "already_muted"
        assert (await client.control(call_id, "unmute_agent"))["result"] == "unmuted"

        held = await client.control(call_id, "hold")
        assert held["result"] == "on_hold" and held["reinvite_status"] == 200
        assert held["status"] == "on_hold" and pipeline.paused
        assert (await client.control(call_id, "hold"))["result"] == "already_on_hold"
        start = time.monotonic()
        await asyncio.sleep(1.2)
        levels = alaw_levels(media.since(start + 0.2, PCMA_PT))
        assert len(levels) >= 40, len(levels)
        assert sum(level > MUSIC_LEVEL for level in levels) >= 0.9 * len(levels), levels
        await engine.settled_writes()
        assert (await client.get_call(call_id))["status"] == "on_hold"

        keyed_at = time.monotonic()
        keyed = await client.control(call_id, "dtmf", digits="12#")
        assert keyed["result"] == "sent"
        await engine.wait_for(lambda: dtmf_digits(media.since(keyed_at)) == "12#", 5, "RFC 4733")

        resumed = await client.control(call_id, "resume")
        assert resumed["result"] == "resumed" and resumed["reinvite_status"] == 200
        assert resumed["status"] == "in_progress" and not pipeline.paused
        assert (await client.control(call_id, "resume"))["result"] == "not_on_hold"
        start = time.monotonic()
        await asyncio.sleep(0.8)
        levels = alaw_levels(media.since(start + 0.2, PCMA_PT))
        assert levels and sum(level < QUIET_LEVEL for level in levels) >= 0.9 * len(levels), levels

        # the caller's own hold: the engine answers recvonly and stops sending
        await engine.wait_for(lambda: session.control.held_by_peer, 10, "the caller's hold")
        assert pipeline.paused
        await asyncio.sleep(0.3)
        quiet_from = time.monotonic()
        await asyncio.sleep(0.5)
        if session.control.held_by_peer:
            assert len(media.since(quiet_from, PCMA_PT)) <= 2
        result = await sipp
        assert result.returncode == 0, result.stderr
    finally:
        media.close()
    await engine.settled(20)

    assert not session.control.held_by_peer  # resumed by the caller before the BYE
    call = await client.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == "caller_hangup"
    events = await client.call_events(call_id)
    actions = [e["event_type"] for e in events if e["provider"] == "supervisor"]
    assert actions == ["control.mute_agent", "control.mute_agent", "control.unmute_agent",
                       "control.hold", "control.hold", "control.dtmf", "control.resume",
                       "control.resume"]
    sip = [(e["event_type"], e["sip_status_code"]) for e in events if e["provider"] == "sip"]
    assert sip.count(("reinvite_sent", None)) == 2
    assert sip.count(("reinvite_response", 200)) == 2
    assert sip.count(("reinvite_answered", 200)) == 2
    kinds = [e["event_type"] for e in events]
    assert "hold_received" in kinds and "resume_received" in kinds
