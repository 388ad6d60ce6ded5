"""Transfers of outbound and web calls over real SIP on loopback. A sipp callee answers an
outbound call and talks with the order-status agent; the callee is then blind-transferred by
dial and bridge (its trunk does not allow REFER) to a sipp recipient, transferred by REFER inside
the outbound dialog (the callee's side calls the destination), or warm-transferred: on hold with
music while the recipient hears the briefing and accepts with key 1. A web call (an aiortc peer)
is blind-transferred to a sipp recipient by dial and bridge, REFER being refused for want of a
SIP dialog. Bridged parties hear each other's tones."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import select

from engine.calls.transfers import TRANSFERRED
from engine.client import ApiError
from engine.media.frame import FRAME_BYTES
from engine.store import PhoneNumber, SipTrunk, session_scope
from engine.webrtc import OfferingPeer
from tests.harness.rtp import PCMA_PT, MediaSocket, alaw_levels
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import RECIPIENT, Callee, SippUas, callee_scenario, requires_sipp
from tests.harness.sipp_steps import recv_bye, recv_refer, recv_response, refer_notify, response
from tests.harness.tones import Capture, Sine, heard, silent_at
from tests.integration.transfers.test_blind_transfer import send_tone, transfer_events
from tests.integration.transfers.test_warm_transfer import (
    ABSENT,
    HEARD,
    send_digit,
    stored_transfer,
    tone_amplitude,
)

pytestmark = requires_sipp

CALLEE = "+14155550142"
CALLEE_HZ = 1000.0
RECIPIENT_HZ = 600.0
WEB_HZ = 880.0
WINDOW = 50  # packets: one second of A-law audio

# after the call is answered: the callee takes a REFER to sip:frontdesk@..., reports the new call
# in NOTIFYs of the refer subscription (sipfrag 100 then 200, subscription terminated) and takes
# the engine's BYE
TAKES_REFER = (
    recv_refer("sip:frontdesk@", timeout_ms=60000)
    + response("202 Accepted", contact="callee")
    + refer_notify(1, "active;expires=60", "SIP/2.0 100 Trying")
    + recv_response(200)
    + refer_notify(2, "terminated;reason=noresource", "SIP/2.0 200 OK")
    + recv_response(200)
)


def trunk_to(engine: ControlEngine, port: int, *, allow_refer: bool) -> str:
    """A trunk to the callee's sipp on the engine's number; returns the number's id."""
    with session_scope(engine.engine.db) as session:
        trunk = SipTrunk(organization_id=engine.engine.organization_id, name="callee",
                         host="127.0.0.1", port=port, allow_refer=allow_refer)
        session.add(trunk)
        number = session.exec(select(PhoneNumber)).one()
        number.sip_trunk_id = trunk.id
        return number.id


async def answered_outbound(engine: ControlEngine, callee: Callee, *,
                            allow_refer: bool) -> Any:
    """Dials the callee; the live outbound session once its agent's greeting was spoken."""
    number_id = trunk_to(engine, callee.port, allow_refer=allow_refer)
    call = await engine.client.create_call(agent_id=engine.agent_id, to_number=CALLEE,
                                           phone_number_id=number_id)
    call_id = call["id"]

    def greeted() -> bool:
        session = engine.telephony.calls.get(call_id)
        pipeline = session.agent.pipeline if session is not None and session.agent else None
        return pipeline is not None and pipeline.state == "listening" and \
            any(line.kind == "greeting" for line in pipeline.lines)

    await engine.wait_for(greeted, 40, "the callee greeted by the agent")
    return engine.telephony.calls[call_id]


async def hears(engine: ControlEngine, sock: MediaSocket, hz: float, what: str,
                within: float = 20.0) -> list[Any]:
    """Waits until the last second ``sock`` received carries a tone at ``hz``; that second."""
    start = time.monotonic()
    last: list[Any] = []

    def check() -> bool:
        nonlocal last
        last = sock.since(start, PCMA_PT)[-WINDOW:]
        return len(last) == WINDOW and tone_amplitude(last, hz) > HEARD

    await engine.wait_for(check, within, what)
    return last


async def next_second(engine: ControlEngine, *socks: MediaSocket) -> list[list[Any]]:
    """The next second of A-law audio each of ``socks`` receives."""
    start = time.monotonic()
    await engine.wait_for(lambda: all(len(s.since(start, PCMA_PT)) >= WINDOW for s in socks), 15,
                          "a second of audio")
    return [s.since(start, PCMA_PT)[:WINDOW] for s in socks]


async def test_outbound_blind_transfer_dials_and_bridges(control_engine: ControlEngine,
                                                         tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    callee_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    callee = Callee(callee_scenario(tmp_path / "callee.xml", recv_bye(80000)), callee_media)
    tones: list[asyncio.Task[None]] = []
    await callee.start()
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        try:
            session = await answered_outbound(engine, callee, allow_refer=False)
            call_id = session.call_id
            agent = session.agent.participant
            assert session.rtp is not None and agent in session.mixer.participants
            tones.append(asyncio.ensure_future(
                send_tone(callee_media, ("127.0.0.1", session.rtp.local_port), CALLEE_HZ)))

            with pytest.raises(ApiError) as no_refer:  # the trunk does not allow REFER
                await client.blind_transfer(call_id, f"sip:recipient@127.0.0.1:{uas.port}",
                                            method="refer")
            assert no_refer.value.status == 409 and no_refer.value.code == "REFER_NOT_ALLOWED"

            to = f"sip:recipient@127.0.0.1:{uas.port}"
            started = await client.blind_transfer(call_id, to, ringing_timeout=20,
                                                  play_dialtone=True)
            assert started["kind"] == "blind" and started["call_id"] == call_id
            assert started["metadata"]["method"] == "bridge"  # auto, REFER not allowed
            transfer = engine.telephony.transfers.active[call_id]
            await engine.wait_for(lambda: transfer.status == "completed", 30, "the bridge")
            assert transfer.leg is not None and transfer.sip is not None
            assert f"sip:{CALLEE}@" in transfer.sip.from_header  # the callee is presented
            tones.append(asyncio.ensure_future(
                send_tone(recipient_media, ("127.0.0.1", transfer.leg.local_port),
                          RECIPIENT_HZ)))
            assert agent not in session.mixer.participants  # the AI agent left the call
            assert session.control.transferred and session.control.status == "in_progress"

            # the callee and the recipient hear each other, and not themselves
            await hears(engine, callee_media, RECIPIENT_HZ, "the callee hearing the recipient")
            await hears(engine, recipient_media, CALLEE_HZ, "the recipient hearing the callee")
            to_callee, to_recipient = await next_second(engine, callee_media, recipient_media)
            assert tone_amplitude(to_callee, RECIPIENT_HZ) > HEARD
            assert tone_amplitude(to_callee, CALLEE_HZ) < ABSENT
            assert tone_amplitude(to_recipient, CALLEE_HZ) > HEARD
            assert tone_amplitude(to_recipient, RECIPIENT_HZ) < ABSENT

            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            assert await callee.wait() == 0, callee.stderr  # the callee got the BYE
            assert await uas.wait() == 0, uas.stderr  # and so did the recipient
        finally:
            for tone in tones:
                tone.cancel()
            callee_media.close()
            recipient_media.close()
            await callee.kill()
    await engine.settled(30)

    call = await client.get_call(call_id)
    assert (call["direction"], call["status"]) == ("outbound", "completed")
    [row] = await client.call_transfers(call_id)
    assert row["id"] == started["id"] and row["kind"] == "blind"
    assert row["status"] == "completed" and row["sip_status_code"] == 200
    assert row["metadata"]["method"] == "bridge" and row["failure_cause"] is None
    assert [a["method"] for a in row["routing_attempts"]] == ["bridge"]
    assert [p["role"] for p in row["participants"]] == ["caller", "human"]
    kinds = transfer_events(await client.call_events(call_id))
    for kind in ("transfer.requested", "transfer.dialing", "transfer.completed"):
        assert kind in kinds, kinds
    assert not any(kind.startswith("transfer.refer_") for kind in kinds), kinds


async def test_outbound_blind_transfer_by_refer(control_engine: ControlEngine,
                                                tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    callee = Callee(callee_scenario(tmp_path / "callee.xml", TAKES_REFER, recv_bye(20000)), media)
    await callee.start()
    try:
        session = await answered_outbound(engine, callee, allow_refer=True)
        call_id = session.call_id
        started = await client.blind_transfer(call_id, "sip:frontdesk@127.0.0.1:5999",
                                              ringing_timeout=15)
        assert started["metadata"]["method"] == "refer"
        assert await callee.wait() == 0, callee.stderr  # REFER, NOTIFYs answered, our BYE
    finally:
        media.close()
        await callee.kill()
    await engine.settled(30)

    call = await client.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == TRANSFERRED
    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["metadata"]["method"] == "refer"
    assert row["sip_status_code"] == 200
    assert [a["method"] for a in row["routing_attempts"]] == ["refer"]
    kinds = transfer_events(await client.call_events(call_id))
    assert "transfer.refer_accepted" in kinds and "transfer.refer_progress" in kinds, kinds


async def test_outbound_warm_transfer_accepted_by_key_1(control_engine: ControlEngine,
                                                        tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    callee_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    callee = Callee(callee_scenario(tmp_path / "callee.xml", recv_bye(80000)), callee_media)
    tones: list[asyncio.Task[None]] = []
    await callee.start()
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        try:
            session = await answered_outbound(engine, callee, allow_refer=True)
            call_id = session.call_id
            pipeline = session.agent.pipeline
            agent = session.agent.participant
            assert session.rtp is not None
            tones.append(asyncio.ensure_future(
                send_tone(callee_media, ("127.0.0.1", session.rtp.local_port), CALLEE_HZ)))

            started = await client.warm_transfer(call_id, [
                {"to": f"sip:sales@127.0.0.1:{uas.port}", "label": "Sales"}],
                ringing_timeout=20)
            assert started["kind"] == "warm" and started["status"] in ("requested", "dialing")
            transfer = engine.telephony.transfers.active[call_id]
            assert session.control.status == "transferring" and pipeline.paused

            await engine.wait_for(lambda: transfer.status == "screening"
                                  and transfer.attempt is not None
                                  and transfer.attempt.leg is not None, 30, "the screening")
            leg = transfer.attempt.leg
            tones.append(asyncio.ensure_future(
                send_tone(recipient_media, ("127.0.0.1", leg.local_port), RECIPIENT_HZ)))

            # consultation: the callee hears music, not the recipient; the recipient hears the
            # briefing, not the callee
            await engine.wait_for(lambda: len(recipient_media.packets) > 0, 15, "briefing audio")
            to_callee, to_recipient = await next_second(engine, callee_media, recipient_media)
            assert np.mean(alaw_levels(to_callee)) > 300, "the callee hears music on hold"
            assert tone_amplitude(to_callee, RECIPIENT_HZ) < ABSENT
            assert tone_amplitude(to_recipient, CALLEE_HZ) < ABSENT
            assert agent.muted

            send_digit(recipient_media, ("127.0.0.1", leg.local_port), 1)
            await engine.wait_for(lambda: transfer.status == "completed", 20, "the bridge")
            assert agent not in session.mixer.participants
            assert session.control.transferred and session.control.status == "in_progress"
            await hears(engine, callee_media, RECIPIENT_HZ, "the callee hearing the recipient")
            await hears(engine, recipient_media, CALLEE_HZ, "the recipient hearing the callee")
            assert not any(p.name.startswith("transfer_music") for p in session.mixer.participants)

            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            assert await callee.wait() == 0, callee.stderr
            assert await uas.wait() == 0, uas.stderr
        finally:
            for tone in tones:
                tone.cancel()
            callee_media.close()
            recipient_media.close()
            await callee.kill()
    await engine.settled(30)

    row = await stored_transfer(engine, call_id, "completed")
    assert row["id"] == started["id"] and row["kind"] == "warm"
    assert row["summary"].startswith(f"A caller from {CALLEE}"), row["summary"]
    [accepted] = row["routing_attempts"]
    assert accepted["label"] == "Sales" and accepted["status"] == "accepted"
    assert [p["role"] for p in row["participants"]] == ["caller", "human"]
    expected = ["transfer.requested", "transfer.dialing", "transfer.screening",
                "transfer.bridging", "transfer.completed"]
    kinds = [e["event_type"] for e in await client.call_events(call_id)
             if e["provider"] == "engine" and e["event_type"] in expected]
    assert kinds == expected, kinds
    assert (await client.get_call(call_id))["status"] == "completed"


async def test_web_call_blind_transfer_bridges_a_sip_recipient(control_engine: ControlEngine
                                                              ) -> None:
    engine, client = control_engine, control_engine.client
    recipient_media = await MediaSocket.open()
    ear = Capture()
    peer = OfferingPeer(Sine(WEB_HZ), ear)
    tone: asyncio.Task[None] | None = None
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        try:
            answer = await client.web_call(engine.agent_id, await peer.offer())
            await peer.accept(answer["sdp"])
            await asyncio.wait_for(peer.connected.wait(), 20)
            call_id = answer["call_id"]

            def greeted() -> bool:
                session = engine.telephony.calls.get(call_id)
                pipeline = session.agent.pipeline if session is not None and session.agent \
                    else None
                return pipeline is not None and pipeline.state == "listening" and \
                    any(line.kind == "greeting" for line in pipeline.lines)

            await engine.wait_for(greeted, 40, "the web caller greeted")
            session = engine.telephony.calls[call_id]
            agent = session.agent.participant

            to = f"sip:recipient@127.0.0.1:{uas.port}"
            with pytest.raises(ApiError) as no_refer:
                await client.blind_transfer(call_id, to, method="refer")
            assert no_refer.value.status == 409 and no_refer.value.code == "REFER_NOT_ALLOWED"
            assert "web call" in str(no_refer.value)
            with pytest.raises(ApiError) as no_trunk:
                await client.blind_transfer(call_id, "+14155550123")
            assert no_trunk.value.status == 409 and no_trunk.value.code == "NO_TRUNK"

            started = await client.blind_transfer(call_id, to, ringing_timeout=20)
            assert started["metadata"]["method"] == "bridge"
            transfer = engine.telephony.transfers.active[call_id]
            await engine.wait_for(lambda: transfer.status == "completed", 30, "the bridge")
            assert transfer.leg is not None
            tone = asyncio.ensure_future(
                send_tone(recipient_media, ("127.0.0.1", transfer.leg.local_port),
                          RECIPIENT_HZ))
            assert agent not in session.mixer.participants

            # the recipient hears the browser's tone, the browser the recipient's
            await hears(engine, recipient_media, WEB_HZ, "the recipient hearing the web caller")
            [to_recipient] = await next_second(engine, recipient_media)
            assert tone_amplitude(to_recipient, RECIPIENT_HZ) < ABSENT
            ear.mark()
            await engine.wait_for(lambda: len(ear.since_mark()) >= 75 * FRAME_BYTES
                                  and heard(b"".join(ear.frames[-50:]), RECIPIENT_HZ), 20,
                                  "the web caller hearing the recipient")
            assert silent_at(b"".join(ear.frames[-50:]), WEB_HZ)

            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            assert await uas.wait() == 0, uas.stderr  # the recipient got the BYE
        finally:
            if tone is not None:
                tone.cancel()
            recipient_media.close()
            await peer.close()
    await engine.settled(30)

    call = await client.get_call(call_id)
    assert (call["type"], call["status"]) == ("web_call", "completed")
    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["metadata"]["method"] == "bridge"
    assert [a["method"] for a in row["routing_attempts"]] == ["bridge"]
