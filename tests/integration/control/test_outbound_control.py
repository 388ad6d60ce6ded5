"""An outbound call answered by sipp (the callee) is talked through by the call's agent, exactly as
an inbound call: the callee hears the greeting on the wire, speaks and is answered, and a
supervisor steers the call through the API (say, DTMF to the callee, hold / resume by re-INVITE
from our side, end_call with a goodbye), all of it in the transcript and the events."""

from __future__ import annotations

import asyncio
import struct
import time
import wave
from pathlib import Path

import numpy as np
from sqlmodel import select

from engine.speech.sipcaller import CallerLine, render_lines
from engine.store import PhoneNumber, SipTrunk, session_scope
from tests.harness import sipp_steps
from tests.harness.rtp import PCMA_PT, MediaSocket, alaw_levels, dtmf_digits
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import Callee, callee_scenario, requires_sipp

pytestmark = requires_sipp

CALLEE = "+14155550142"
SAID = "Your parcel left the warehouse this morning."
GOODBYE = "Thank you for your time. Goodbye."
ASKED = "I want to check my order status."
SPEECH_LEVEL = 300.0  # RMS: espeak-ng speech in A-law; silence decodes to ±8
MUSIC_LEVEL = 100.0  # RMS: the hold music's quietest frames stay above ~200


async def speak(media: MediaSocket, port: int, text: str) -> None:
    """The callee says ``text``: espeak-ng speech as A-law RTP from its media socket, paced at
    20 ms a packet, to the engine's RTP port."""
    from aiortp.codecs.g711 import PcmaCodec

    from engine.media.polyphase import resample

    audio = await asyncio.to_thread(render_lines, [CallerLine(0.2, text)], 1.0)
    pcm = resample(audio.pcm, 16000, 8000)
    codec = PcmaCodec()
    assert media.transport is not None
    loop = asyncio.get_running_loop()
    start = loop.time()
    for seq, offset in enumerate(range(0, len(pcm) - 320 + 1, 320)):
        header = struct.pack("!BBHII", 0x80, PCMA_PT | (0x80 if seq == 0 else 0), seq,
                             seq * 160, 0x0CA11EE5)
        media.transport.sendto(header + codec.encode(pcm[offset:offset + 320]), ("127.0.0.1", port))
        await asyncio.sleep(max(0.0, start + (seq + 1) * 0.02 - loop.time()))  # the packet clock


def dial_plan(engine: ControlEngine, port: int) -> str:
    """A trunk to the callee's sipp on the number; returns the number's id."""
    with session_scope(engine.engine.db) as session:
        trunk = SipTrunk(organization_id=engine.engine.organization_id, name="callee",
                         host="127.0.0.1", port=port)
        session.add(trunk)
        number = session.exec(select(PhoneNumber)).one()
        number.sip_trunk_id = trunk.id
        return number.id


async def test_outbound_call_is_talked_through_and_controlled(control_engine: ControlEngine,
                                                              tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    xml = callee_scenario(tmp_path / "callee.xml",
                          sipp_steps.answer_reinvite(1, "sendonly", "recvonly"),
                          sipp_steps.answer_reinvite(2, "sendrecv", "sendrecv"),
                          sipp_steps.recv_bye(80000))
    callee = Callee(xml, media)
    await callee.start()
    try:
        number_id = dial_plan(engine, callee.port)
        call = await client.create_call(agent_id=engine.agent_id, to_number=CALLEE,
                                        phone_number_id=number_id)
        call_id = call["id"]
        await engine.wait_for(lambda: call_id in engine.telephony.calls
                              and engine.telephony.calls[call_id].agent is not None, 20,
                              "the answered call's agent")
        session = engine.telephony.calls[call_id]
        pipeline = session.agent.pipeline
        assert pipeline is not None and session.route.agent_id == engine.agent_id

        # the callee hears the agent's greeting on the wire
        await engine.wait_for(lambda: any(line.kind == "greeting" for line in pipeline.lines)
                              and pipeline.state == "listening", 30, "the greeting's end")
        levels = alaw_levels(media.since(0, PCMA_PT))
        assert sum(level > SPEECH_LEVEL for level in levels) > 75, "about 1.5 s of speech"

        # the callee talks with the agent
        assert session.rtp is not None
        await speak(media, session.rtp.local_port, ASKED)
        await engine.wait_for(lambda: any(line.source == "user" for line in pipeline.lines), 20,
                              "the callee's words recognised")
        await engine.wait_for(lambda: any(line.source == "agent" and "order number" in line.text
                                          for line in pipeline.lines), 20, "the agent's answer")
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the answer's end")

        # a supervisor's words reach the callee
        said_at = time.monotonic()
        said = await client.control(call_id, "say", content=SAID)
        assert said["result"] == "speaking" and said["status"] == "in_progress"
        await engine.wait_for(lambda: any(line.source == "supervisor" for line in pipeline.lines),
                              20, "the supervisor's line")
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the words' end")
        spoken = alaw_levels(media.since(said_at, PCMA_PT))
        assert sum(level > SPEECH_LEVEL for level in spoken) > 50, "the words on the wire"

        keyed_at = time.monotonic()
        assert (await client.control(call_id, "dtmf", digits="42#"))["result"] == "sent"
        await engine.wait_for(lambda: dtmf_digits(media.since(keyed_at)) == "42#", 10, "RFC 4733")

        held = await client.control(call_id, "hold")
        assert held["result"] == "on_hold" and held["reinvite_status"] == 200
        assert held["status"] == "on_hold" and pipeline.paused
        music_from = time.monotonic() + 0.3
        await engine.wait_for(lambda: len(media.since(music_from, PCMA_PT)) >= 40, 10,
                              "music on hold")
        music = alaw_levels(media.since(music_from, PCMA_PT))
        assert sum(level > MUSIC_LEVEL for level in music) >= 0.9 * len(music), music
        resumed = await client.control(call_id, "resume")
        assert resumed["result"] == "resumed" and resumed["reinvite_status"] == 200
        assert not pipeline.paused

        ending = await client.control(call_id, "end_call", message=GOODBYE)
        assert ending["result"] == "ending"
        assert await callee.wait() == 0, callee.stderr  # the re-INVITEs answered, BYE received
    finally:
        media.close()
        await callee.kill()
    await engine.settled(30)

    row = await client.get_call(call_id)
    assert (row["direction"], row["status"], row["disconnect_reason"]) == (
        "outbound", "completed", "supervisor_hangup")
    assert row["agent"]["id"] == engine.agent_id
    entries = row["transcript"]["entries"]
    assert entries[0]["source"] == "agent" and "thanks for calling" in entries[0]["text"].lower()
    assert any(e["source"] == "user" and "order" in e["text"].lower() for e in entries), entries
    assert [e["text"] for e in entries if e["source"] == "supervisor"] == [SAID, GOODBYE]
    events = await client.call_events(call_id)
    assert [(e["event_type"], e["payload"]["result"]) for e in events
            if e["provider"] == "supervisor"] == [
        ("control.say", "speaking"), ("control.dtmf", "sent"), ("control.hold", "on_hold"),
        ("control.resume", "resumed"), ("control.end_call", "ending")]
    sip = [(e["event_type"], e["sip_status_code"]) for e in events if e["provider"] == "sip"]
    assert sip.count(("reinvite_response", 200)) == 2

    # what the callee heard, recognised in the recording's agent channel
    with wave.open(str(session.recorder.path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    heard = await engine.telephony.agents.models.whisper().transcribe(stereo[:, 1].copy().tobytes())
    text = heard.text.lower()
    for words in ("for calling", "order number", "warehouse", "your time"):
        assert words in text, text

