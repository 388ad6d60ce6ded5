"""Supervisors and human agents join a live SIP call (sipp on loopback) over WebRTC as aiortc
peers; who hears whom is asserted by tones (FFT), the takeover by the AI's voice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.client import ApiError
from engine.media.frame import SAMPLE_RATE
from engine.speech.sipcaller import scenario, write_pcap
from engine.webrtc import OfferingPeer
from tests.harness.sipp import requires_sipp, run_sipp
from tests.harness.tones import TONE_AMPLITUDE, Capture, Sine, heard, silent_at, tone_level
from tests.harness.webrtc_engine import WebRtcEngine, rms, tap, voiced_frames

pytestmark = [requires_sipp, pytest.mark.asyncio(loop_scope="module")]

CALLER_HZ, HUMAN_HZ, LISTEN_HZ, WHISPER_HZ, BARGE_HZ = 440, 700, 1000, 1300, 1700
TONE_FROM_S = 9.0  # the caller is silent for the greeting and the takeover, then plays 440 Hz
CALL_S = 24.0


class Gate:
    """A peer's source: silence until opened, then a sine."""

    def __init__(self, freq: float) -> None:
        self.sine = Sine(freq)
        self.open = False

    def __call__(self) -> bytes | None:
        return self.sine() if self.open else None


def caller_pcap(tmp: Path) -> Path:
    t = np.arange(int((CALL_S - TONE_FROM_S) * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (TONE_AMPLITUDE * np.sin(2 * np.pi * CALLER_HZ * t)).astype("<i2")
    pcm = np.concatenate([np.zeros(int(TONE_FROM_S * SAMPLE_RATE), dtype="<i2"), tone])
    pcap = write_pcap(pcm.tobytes(), tmp / "caller.pcap")
    return scenario(pcap, CALL_S + 1.0, tmp / "caller.xml")


async def join(rtc: WebRtcEngine, call_id: str, role: str, source: Any) -> tuple[OfferingPeer, str,
                                                                                 Capture]:
    ear = Capture()
    peer = OfferingPeer(source, ear)
    answer = await rtc.api.join_call(call_id, await peer.offer(), role)
    assert answer["type"] == "answer" and answer["participant_id"]
    await peer.accept(answer["sdp"])
    await asyncio.wait_for(peer.connected.wait(), 10)
    return peer, answer["participant_id"], ear


async def test_join_roles_by_tone_and_takeover(rtc_engine: WebRtcEngine, tmp_path: Path) -> None:
    rtc = rtc_engine
    sipp = asyncio.ensure_future(run_sipp(caller_pcap(tmp_path), rtc.sip_port,
                                          rtc.number.lstrip("+"), limit_s=60))
    session = await rtc.live_session()
    call_id = session.call_id
    bus = rtc.engine.bus.subscribe(rtc.engine.organization_id, call_id)
    caller_ear = tap(session, "caller")
    ai_ear = tap(session, "agent")
    ai_mouth = tap(session, "agent", mouth=True)
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(ApiError) as bad:
        await rtc.api.join_call(call_id, "v=0\r\nnot an offer", "listen")
    assert bad.value.status == 422 and bad.value.field == "sdp", bad.value

    # -- takeover during the greeting: the AI falls silent, and hand-back does not greet again
    await asyncio.sleep(1.5)
    assert voiced_frames(caller_ear.since_mark()) > 20, "the caller hears the greeting"
    human = Gate(HUMAN_HZ)
    t0 = loop.time()
    taker, taker_id, _ = await join(rtc, call_id, "takeover", human)
    connect_s = loop.time() - t0
    assert session.agent.pipeline.paused
    await asyncio.sleep(0.3)
    caller_ear.mark()
    ai_mouth.mark()
    await asyncio.sleep(1.5)
    assert rms(caller_ear.since_mark()) < 50, "the AI is silent while taken over"
    human.open = True
    await asyncio.sleep(0.5)
    caller_ear.mark()
    await asyncio.sleep(1.0)
    assert heard(caller_ear.since_mark(), HUMAN_HZ), tone_level(caller_ear.since_mark(), HUMAN_HZ)
    await rtc.api.leave_call(call_id, taker_id)
    await taker.close()
    assert not session.agent.pipeline.paused
    ai_mouth.mark()
    await asyncio.sleep(2.0)
    assert voiced_frames(ai_mouth.since_mark()) == 0, "no new greeting after the hand-back"

    # -- listen, whisper, barge and a human agent at once, with the caller's 440 Hz tone
    await asyncio.sleep(max(0.0, TONE_FROM_S + 0.5 - (loop.time() - started)))
    peers = {}
    for role, freq in (("agent", HUMAN_HZ), ("listen", LISTEN_HZ), ("whisper", WHISPER_HZ),
                       ("barge", BARGE_HZ)):
        gate = Gate(freq)
        gate.open = True
        peers[role] = await join(rtc, call_id, role, gate)
    assert len(await rtc.api.call_participants(call_id)) == 4
    await asyncio.sleep(1.5)
    ears = {"caller": caller_ear, "ai": ai_ear, **{role: p[2] for role, p in peers.items()}}
    for ear in ears.values():
        ear.mark()
    await asyncio.sleep(1.5)
    got = {name: ear.since_mark() for name, ear in ears.items()}
    hears = {  # who hears which tone (DESIGN §5)
        "caller": {HUMAN_HZ, BARGE_HZ},
        "ai": {CALLER_HZ, HUMAN_HZ},
        "agent": {CALLER_HZ, WHISPER_HZ, BARGE_HZ},
        "listen": {CALLER_HZ, HUMAN_HZ, BARGE_HZ},
        "whisper": {CALLER_HZ, HUMAN_HZ, BARGE_HZ},
        "barge": {CALLER_HZ, HUMAN_HZ},
    }
    levels = {name: {f: round(tone_level(pcm, f)) for f in
                     (CALLER_HZ, HUMAN_HZ, LISTEN_HZ, WHISPER_HZ, BARGE_HZ)}
              for name, pcm in got.items()}
    for name, expected in hears.items():
        for freq in (CALLER_HZ, HUMAN_HZ, LISTEN_HZ, WHISPER_HZ, BARGE_HZ):
            if freq in expected:
                assert heard(got[name], freq), (name, freq, levels)
            else:
                assert silent_at(got[name], freq), (name, freq, levels)

    await rtc.api.leave_call(call_id, peers["listen"][1])
    with pytest.raises(ApiError) as gone:
        await rtc.api.leave_call(call_id, peers["listen"][1])
    assert gone.value.status == 404
    for role in ("agent", "whisper"):  # these two leave by closing their peer connections
        await peers[role][0].close()
    result = await sipp  # the caller hangs up; barge is still joined and leaves with the call
    assert result.returncode == 0, result.stderr
    await peers["barge"][0].close()
    await peers["listen"][0].close()
    await rtc.settled()

    call = rtc.call(call_id)
    assert call.status == "completed"
    events = rtc.events(call_id)
    joined = [e for e in events if e.event_type == "participant.joined"]
    left = [e for e in events if e.event_type == "participant.left"]
    assert [e.payload["role"] for e in joined] == ["takeover", "agent", "listen", "whisper", "barge"]
    assert all(e.provider == "webrtc" and e.actor and e.actor.startswith("api_key:")
               for e in joined + left)
    reasons = {e.payload["role"]: e.payload["reason"] for e in left}
    assert reasons == {"takeover": "left", "listen": "left", "agent": "peer_closed",
                       "whisper": "peer_closed", "barge": "call_ended"}, reasons
    kinds = [e.event_type for e in events]
    assert "agent.taken_over" in kinds and "agent.handed_back" in kinds
    greetings = [line for line in session.agent.pipeline.lines if line.kind == "greeting"]
    assert len(greetings) == 1
    published = []
    while not bus.queue.empty():
        published.append(bus.queue.get_nowait()["type"])
    rtc.engine.bus.unsubscribe(bus)
    assert published.count("call.participant_joined") == 5
    assert published.count("call.participant_left") == 5
    print(f"takeover join answered and connected in {connect_s * 1000:.0f} ms")


async def test_join_errors(rtc_engine: WebRtcEngine) -> None:
    api = rtc_engine.api
    peer = OfferingPeer(lambda: None)
    offer = await peer.offer()
    try:
        with pytest.raises(ApiError) as unknown:
            await api.join_call("no-such-call", offer, "listen")
        assert unknown.value.status == 404
        ended = next(iter(c.call_id for c in rtc_engine.telephony.finished), None)
        if ended is not None:
            with pytest.raises(ApiError) as over:
                await api.join_call(ended, offer, "listen")
            assert over.value.status == 400 and over.value.code == "CALL_NOT_LIVE"
        with pytest.raises(ApiError) as role:
            await api.join_call("no-such-call", offer, "spy")
        assert role.value.status == 422 and role.value.field == "role"
    finally:
        await peer.close()
