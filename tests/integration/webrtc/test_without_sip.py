"""An engine started without SIP still runs live calls over WebRTC: an aiortc peer calls the
order-status agent (web call), a supervisor joins it and steers it (say, inject_context, hold,
end_call), DTMF and blind transfers are refused with a reason, and an outbound call stays queued
with the reason in its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from engine.api import create_app
from engine.client import ApiError, Client
from engine.webrtc import OfferingPeer
from tests.harness.tones import Capture
from tests.harness.waiting import wait_for
from tests.harness.webrtc_engine import WebRtcEngine, open_webrtc_engine, voiced_frames

pytestmark = pytest.mark.asyncio(loop_scope="module")

SAID = "Your parcel left the warehouse this morning."
GOODBYE = "Thanks for calling, goodbye."


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def plain_engine(tmp_path_factory: Any) -> AsyncIterator[WebRtcEngine]:
    async with open_webrtc_engine(tmp_path_factory.mktemp("nosip"), sip=False,
                                  number="+14155550188") as rtc:
        yield rtc


async def web_call(rtc: WebRtcEngine) -> tuple[OfferingPeer, Capture, Any]:
    ear = Capture()
    peer = OfferingPeer(lambda: None, ear)
    answer = await rtc.api.web_call(rtc.agent_id, await peer.offer())
    await peer.accept(answer["sdp"])
    await asyncio.wait_for(peer.connected.wait(), 15)
    session = await rtc.live_session(20)
    assert session.call_id == answer["call_id"]
    return peer, ear, session


async def test_engine_info_without_sip(plain_engine: WebRtcEngine) -> None:
    info = await plain_engine.api.engine_info()
    assert info["sip"] == {"enabled": False, "host": None, "port": None}
    assert info["webrtc"] == {"enabled": True} and info["version"]
    transport = httpx.ASGITransport(app=create_app(plain_engine.engine))
    async with Client("http://engine", "sb_not_a_key", transport=transport) as stranger:
        with pytest.raises(ApiError) as refused:
            await stranger.engine_info()
    assert refused.value.status == 401


async def test_outbound_call_stays_queued_without_sip(plain_engine: WebRtcEngine) -> None:
    api = plain_engine.api
    call = await api.create_call(agent_id=plain_engine.agent_id, to_number="+14155550123",
                                 from_number=plain_engine.number)
    assert call["status"] == "queued"
    events = await api.call_events(call["id"])
    assert [e["event_type"] for e in events] == ["call.queued"]
    assert "SIP is off" in events[0]["payload"]["not_dialled"]
    assert (await api.get_call(call["id"]))["status"] == "queued"


async def test_web_call_and_join_without_sip(plain_engine: WebRtcEngine) -> None:
    rtc = plain_engine
    peer, ear, session = await web_call(rtc)
    call_id = session.call_id
    pipeline = session.agent.pipeline
    await wait_for(lambda: any(line.kind == "greeting" for line in pipeline.lines), 20, "greeting")
    await wait_for(lambda: voiced_frames(b"".join(ear.frames)) > 30, 20, "the greeting's sound")

    listener_ear = Capture()
    listener = OfferingPeer(lambda: None, listener_ear)
    joined = await rtc.api.join_call(call_id, await listener.offer(), "listen")
    await listener.accept(joined["sdp"])
    await asyncio.wait_for(listener.connected.wait(), 15)
    assert [p["role"] for p in await rtc.api.call_participants(call_id)] == ["listen"]
    said = await rtc.api.control(call_id, "say", content=SAID)
    assert said["status"] == "in_progress"
    await wait_for(lambda: voiced_frames(b"".join(listener_ear.frames)) > 30, 20,
                   "the listener hears the agent")
    await rtc.api.leave_call(call_id, joined["participant_id"])
    await listener.close()
    await peer.close()
    await asyncio.wait_for(session.ended.wait(), 15)
    await rtc.settled()
    call = rtc.call(call_id)
    assert (call.type, call.status, call.disconnect_reason) == ("web_call", "completed",
                                                               "caller_hangup")
    kinds = [e.event_type for e in rtc.events(call_id)]
    assert "participant.joined" in kinds and "participant.left" in kinds


async def test_control_a_web_call(plain_engine: WebRtcEngine) -> None:
    rtc, api = plain_engine, plain_engine.api
    peer, ear, session = await web_call(rtc)
    call_id = session.call_id
    pipeline = session.agent.pipeline
    try:
        await wait_for(lambda: any(line.kind == "greeting" for line in pipeline.lines)
                       and pipeline.state == "listening", 30, "the greeting's end")
        ear.mark()
        said = await api.control(call_id, "say", content=SAID)
        assert said["result"] == "speaking" and said["status"] == "in_progress"
        await wait_for(lambda: any(line.source == "supervisor" for line in pipeline.lines), 20,
                       "the supervisor's line")
        await wait_for(lambda: pipeline.state == "listening", 20, "the said words' end")
        assert voiced_frames(ear.since_mark()) > 40, "the peer hears the supervisor's words"
        heard = await rtc.telephony.agents.models.whisper().transcribe(ear.since_mark())
        assert "warehouse" in heard.text.lower(), heard.text

        asked = await api.control(call_id, "inject_context", trigger_response=True,
                                  content="I would like to check my order status.")
        assert asked["result"] == "responding"
        await wait_for(lambda: any(line.kind == "context" and "order number" in line.text
                                   for line in pipeline.lines), 20, "the agent's reply")
        await wait_for(lambda: pipeline.state == "listening", 20, "the reply's end")

        with pytest.raises(ApiError) as keys:
            await api.control(call_id, "dtmf", digits="12")
        assert keys.value.status == 409 and keys.value.code == "CONTROL_UNSUPPORTED"
        assert "web call" in str(keys.value)
        with pytest.raises(ApiError) as transfer:
            await api.control(call_id, "transfer", to="+14155550123")
        assert transfer.value.status == 409 and "SIP" in str(transfer.value)

        held = await api.control(call_id, "hold")
        assert held["result"] == "on_hold" and held["reinvite_status"] is None
        assert pipeline.paused
        resumed = await api.control(call_id, "resume")
        assert resumed["result"] == "resumed" and not pipeline.paused

        ending = await api.control(call_id, "end_call", message=GOODBYE)
        assert ending["result"] == "ending"
        await asyncio.wait_for(session.ended.wait(), 30)
    finally:
        await peer.close()
    await rtc.settled()
    call = await api.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == "supervisor_hangup"
    supervisor = [e["text"] for e in call["transcript"]["entries"] if e["source"] == "supervisor"]
    assert supervisor == [SAID, GOODBYE]
    events = [e for e in await api.call_events(call_id) if e["provider"] == "supervisor"]
    assert [(e["event_type"], e["payload"]["result"]) for e in events] == [
        ("control.say", "speaking"), ("control.inject_context", "responding"),
        ("control.hold", "on_hold"), ("control.resume", "resumed"),
        ("control.end_call", "ending")]
