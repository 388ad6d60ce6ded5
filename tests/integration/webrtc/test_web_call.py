"""A web call from an aiortc peer to the demo order-status agent: the greeting is heard (and
recognised by whisper), and closing the peer completes the call's row."""

from __future__ import annotations

import asyncio
import wave

import pytest

from engine.client import ApiError
from engine.webrtc import OfferingPeer
from tests.harness.tones import Capture
from tests.harness.webrtc_engine import WebRtcEngine, voiced_frames

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_web_call_hears_the_greeting_and_ends_cleanly(rtc_engine: WebRtcEngine) -> None:
    rtc = rtc_engine
    ear = Capture()
    peer = OfferingPeer(lambda: None, ear)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    answer = await rtc.api.web_call(rtc.agent_id, await peer.offer(),
                                    dynamic_variables={"customer": "Ada"})
    await peer.accept(answer["sdp"])
    await asyncio.wait_for(peer.connected.wait(), 10)
    connect_ms = (loop.time() - t0) * 1000
    call_id = answer["call_id"]
    session = rtc.telephony.calls[call_id]
    await asyncio.sleep(7.0)
    pcm = b"".join(ear.frames)
    assert voiced_frames(pcm) > 50, "the greeting reaches the peer"
    heard = await rtc.telephony.agents.models.whisper().transcribe(pcm)
    assert "thanks for calling" in heard.text.lower(), heard.text
    await peer.close()
    await asyncio.wait_for(session.ended.wait(), 10)
    await rtc.settled()

    call = rtc.call(call_id)
    assert (call.type, call.transport, call.direction, call.status) == (
        "web_call", "webrtc", "inbound", "completed")
    assert call.disconnect_reason == "caller_hangup"
    assert call.answered_at is not None and call.ended_at is not None
    assert call.duration_seconds is not None and call.duration_seconds >= 6
    assert call.dynamic_variables == {"customer": "Ada"}
    assert call.recording_status == "completed" and call.recording_path
    with wave.open(call.recording_path) as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() / wav.getframerate() >= 6
    assert call.transcript.startswith("agent: Hi, thanks for calling")
    assert call.metadata_["webrtc"]["frames_received"] > 300
    kinds = [e.event_type for e in rtc.events(call_id)]
    assert kinds[0] == "offer_received" and "call.answered" in kinds
    assert kinds[-2:] == ["call.ended", "analysis.completed"]  # analysed as it ended
    assert call.analysis_status == "heuristic" and call.summary
    print(f"web call answered and connected in {connect_ms:.0f} ms")


async def test_web_call_errors(rtc_engine: WebRtcEngine) -> None:
    with pytest.raises(ApiError) as agent:
        await rtc_engine.api.web_call("no-such-agent", "v=0")
    assert agent.value.status == 422 and agent.value.field == "agent_id"
    with pytest.raises(ApiError) as sdp:
        await rtc_engine.api.web_call(rtc_engine.agent_id, "v=0\r\nnonsense")
    assert sdp.value.status == 422 and sdp.value.field == "sdp"
