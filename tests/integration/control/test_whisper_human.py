"""A supervisor's whisper (``inject_context``) while a human has the call: a sipp caller talks to
the order-status agent, a supervisor takes the call over from an aiortc peer, and the whisper goes
to the human's screen (``call.whisper`` on the events WebSocket, a ``supervisor.whisper`` event)
instead of the AI's brain; after the hand-back it reaches the AI again. After a blind transfer to
a SIP phone there is no screen to show it: 409 NO_HUMAN_SCREEN."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from engine.api import create_app
from engine.client import ApiError, Client
from engine.webrtc import OfferingPeer
from tests.harness.callers import start_caller
from tests.harness.rtp import MediaSocket
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import RECIPIENT, SippUas, requires_sipp

pytestmark = requires_sipp

WHISPER = "The caller is a premium customer; offer the upgrade."
ASK = "I would like to check my order status."
EVENT_WAIT_S = 20.0


async def served(engine: ControlEngine) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """The engine's API on a loopback port (a real WebSocket for the events stream)."""
    config = uvicorn.Config(create_app(engine.engine), host="127.0.0.1", port=0,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.ensure_future(server.serve())
    await engine.wait_for(lambda: server.started or task.done(), 20, "the API server")
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def supervisor(control_engine: ControlEngine) -> AsyncIterator[Client]:
    """A client with a supervisor-scoped key over real HTTP and WebSocket."""
    server, task, url = await served(control_engine)
    key = await control_engine.client.create_api_key("Sam (supervisor)", ["supervisor"])
    try:
        async with Client(url, key["key"], timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def next_of(stream: AsyncIterator[dict[str, Any]], type_: str) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        async for event in stream:
            if event["type"] == type_:
                return event
        raise AssertionError("the events stream ended")

    return await asyncio.wait_for(find(), EVENT_WAIT_S)


async def test_whisper_goes_to_the_human_who_took_over(control_engine: ControlEngine,
                                                       supervisor: Client,
                                                       tmp_path: Path) -> None:
    engine = control_engine
    media = await MediaSocket.open()
    sipp = start_caller(engine, tmp_path, media)
    peer: OfferingPeer | None = None
    stream = supervisor.events()
    try:
        session = await engine.live_session(25)
        call_id = session.call_id
        pipeline = session.agent.pipeline  # type: ignore[union-attr]
        await engine.wait_for(lambda: pipeline.state == "listening", 20, "the greeting's end")
        stream = supervisor.events(call_id)
        snapshot = await asyncio.wait_for(anext(stream), EVENT_WAIT_S)
        assert snapshot["type"] == "snapshot"

        # everything the AI's brain is told from now on
        told: list[str] = []
        inject = pipeline.inject_context

        def spy(text: str, *, reply: bool = False) -> None:
            told.append(text)
            inject(text, reply=reply)

        pipeline.inject_context = spy  # type: ignore[method-assign]

        # a supervisor takes the call over from a WebRTC peer (silent)
        peer = OfferingPeer(lambda: None)
        joined = await supervisor.join_call(call_id, await peer.offer(), "takeover")
        await peer.accept(joined["sdp"])
        await asyncio.wait_for(peer.connected.wait(), 20)
        assert session.control.taken_over and pipeline.paused
        assert (await next_of(stream, "call.participant_joined"))["data"]["role"] == "takeover"

        whispered = await supervisor.control(call_id, "inject_context", content=WHISPER,
                                             trigger_response=True)
        assert whispered["result"] == "whispered_to_human", whispered
        assert whispered["to"] == "human_agent" and whispered["trigger_response_ignored"] is True
        assert "ignored" in whispered["note"]
        event = await next_of(stream, "call.whisper")
        assert event["call_id"] == call_id
        assert event["data"] == {"call_id": call_id, "content": WHISPER,
                                 "actor": "api_key:Sam (supervisor)", "to": "human_agent"}
        assert told == []  # the AI's brain never heard it
        assert not any(line.kind == "context" for line in pipeline.lines)

        # hand back: the next whisper is the AI's again, and it answers
        await supervisor.leave_call(call_id, joined["participant_id"])
        assert not session.control.taken_over and not pipeline.paused
        asked = await supervisor.control(call_id, "inject_context", content=ASK,
                                         trigger_response=True)
        assert asked["result"] == "responding", asked
        assert told == [ASK]
        await engine.wait_for(lambda: any(line.kind == "context" and "order number" in line.text
                                          for line in pipeline.lines), 30, "the agent's reply")
        control = await next_of(stream, "call.control")
        assert control["data"]["result"] == "responding"

        assert (await supervisor.control(call_id, "end_call"))["result"] == "ending"
        result = await sipp
        assert result.returncode == 0, result.stderr
    finally:
        await stream.aclose()
        if peer is not None:
            await peer.close()
        media.close()
    await engine.settled(20)

    events = await engine.client.call_events(call_id)
    whispers = [e for e in events if e["event_type"] == "supervisor.whisper"]
    assert len(whispers) == 1, whispers
    assert whispers[0]["payload"] == {"content": WHISPER, "to": "human_agent"}
    assert whispers[0]["actor"] == "api_key:Sam (supervisor)"
    results = [e["payload"]["result"] for e in events if e["event_type"] == "control.inject_context"]
    assert results == ["whispered_to_human", "responding"]
    call = await engine.client.get_call(call_id)
    assert not any(WHISPER in e["text"] for e in call["transcript"]["entries"])


async def test_no_screen_after_a_transfer_to_a_phone(control_engine: ControlEngine,
                                                     tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    caller_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        sipp = start_caller(engine, tmp_path, caller_media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            await client.blind_transfer(call_id, f"sip:recipient@127.0.0.1:{uas.port}",
                                        ringing_timeout=15, method="bridge")
            transfer = engine.telephony.transfers.active[call_id]
            await engine.wait_for(lambda: transfer.status == "completed", 25, "the bridge")

            with pytest.raises(ApiError) as refused:
                await client.control(call_id, "inject_context", content=WHISPER)
            assert refused.value.status == 409 and refused.value.code == "NO_HUMAN_SCREEN"
            assert "role whisper" in refused.value.message

            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await sipp
            assert result.returncode == 0, result.stderr
            assert await uas.wait() == 0, uas.stderr
        finally:
            caller_media.close()
            recipient_media.close()
    await engine.settled(20)
    events = await client.call_events(call_id)
    assert not any(e["event_type"] == "supervisor.whisper" for e in events)
