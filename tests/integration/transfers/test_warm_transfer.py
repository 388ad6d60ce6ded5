"""Warm transfers over real SIP on loopback: a sipp caller talks to the order-status agent and is
put on hold with music while sipp recipients are consulted in turn. The first declines by SIP
INFO (key 2), the second hears the briefing and accepts by RFC 4733 (key 1): the caller and the
recipient are bridged and hear each other, the agent gone. Each fallback runs after a busy, an
unanswered or a hung-up destination; a supervisor completes or cancels a transfer; console users
are offered the call (unavailable, declined, then answered over WebRTC with aiortc)."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortp.codecs.g711 import PcmaCodec
from sqlmodel import select

from engine.calls.transfers import GOODBYE, NOT_CONNECTED, TAKE_MESSAGE, TAKE_MESSAGE_INSTRUCTION
from engine.client import ApiError
from engine.store import PhoneNumber, SipTrunk, User, session_scope
from engine.webrtc import OfferingPeer
from tests.harness.callers import start_caller
from tests.harness.rtp import DTMF_PT, PCMA_PT, MediaSocket, Packet, alaw_levels
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import RECIPIENT, SCENARIOS, SippUas, requires_sipp
from tests.harness.tones import Capture, Sine, heard
from tests.harness.waiting import wait_for as until
from tests.integration.transfers.test_blind_transfer import send_tone, transfer_events

pytestmark = requires_sipp

HERE = Path(__file__).with_name("scenarios")
DECLINES_BY_INFO = HERE / "recipient_info_decline.xml"  # answers, INFO Signal=2, our BYE
HANGS_UP = HERE / "recipient_hangs_up.xml"  # answers, then BYE during the briefing
BUSY = SCENARIOS / "uas_busy.xml"  # 486
RINGS = SCENARIOS / "uas_ring_forever.xml"  # 180 until our CANCEL
CALLER_HZ = 1000.0
RECIPIENT_HZ = 600.0
HEARD = 2000.0  # a tone sent at amplitude 8000 comes through at about that
ABSENT = 300.0


def tone_amplitude(packets: list[Packet], hz: float) -> float:
    """The amplitude of the sinusoid at ``hz`` in the A-law audio of ``packets``."""
    codec = PcmaCodec()
    audio = [p for p in packets if p.pt == PCMA_PT]
    if len(audio) < 10:
        return 0.0
    x = np.concatenate([np.frombuffer(codec.decode(p.payload), dtype="<i2")
                        for p in audio]).astype(np.float64)
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    return float(spectrum[(freqs > hz - 10) & (freqs < hz + 10)].max())


def send_digit(sock: MediaSocket, addr: tuple[str, int], digit: int) -> None:
    """One RFC 4733 event from ``sock``: three progress packets and three end packets."""
    assert sock.transport is not None
    ssrc = struct.unpack("!I", os.urandom(4))[0]
    timestamp = 80000
    for n in range(6):
        end = n >= 3
        payload = struct.pack("!BBH", digit, (0x80 if end else 0) | 10, 160 * (n + 1))
        header = struct.pack("!BBHII", 0x80, (0x80 if n == 0 else 0) | DTMF_PT, 1000 + n,
                             timestamp, ssrc)
        sock.transport.sendto(header + payload, addr)


async def stored_transfer(engine: ControlEngine, call_id: str, status: str,
                          within: float = 30.0) -> dict[str, Any]:
    """The call's transfer row once it reached ``status``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    rows: list[dict[str, Any]] = []
    while loop.time() < deadline:
        await engine.settled_writes()
        rows = await engine.client.call_transfers(call_id)
        if rows and rows[-1]["status"] == status:
            return rows[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"transfer never {status}: {rows}")


def said(session: Any, text: str) -> bool:
    return any(line.text == text for line in session.agent.pipeline.lines)


async def test_warm_transfer_declined_then_accepted(control_engine: ControlEngine,
                                                    tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    caller_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    tones: list[asyncio.Task[None]] = []
    async with SippUas(DECLINES_BY_INFO) as first, SippUas(RECIPIENT, recipient_media.port) \
            as second:
        sipp = start_caller(engine, tmp_path, caller_media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            agent = session.agent.participant  # type: ignore[union-attr]
            assert session.rtp is not None
            tones.append(asyncio.ensure_future(
                send_tone(caller_media, ("127.0.0.1", session.rtp.local_port), CALLER_HZ)))

            started = await client.warm_transfer(call_id, [
                {"to": f"sip:first@127.0.0.1:{first.port}", "label": "First"},
                {"to": f"sip:second@127.0.0.1:{second.port}", "label": "Second",
                 "screening_prompt": "Transfer for the second desk."},
            ], summary="The caller wants to change a delivery address.", ringing_timeout=15)
            assert started["kind"] == "warm" and started["status"] in ("requested", "dialing")
            assert [d["to"] for d in started["destinations"]] == [
                f"sip:first@127.0.0.1:{first.port}", f"sip:second@127.0.0.1:{second.port}"]
            assert started["fallback"]["strategy"] == "return_to_agent"
            transfer = engine.telephony.transfers.active[call_id]
            assert session.control.status == "transferring" and pipeline.paused
            with pytest.raises(ApiError) as twice:
                await client.warm_transfer(call_id, [{"to": "sip:x@127.0.0.1:5999"}])
            assert twice.value.status == 409 and twice.value.code == "TRANSFER_IN_PROGRESS"

            # the first recipient declines by INFO; the second is dialled and briefed
            assert await first.wait(30) == 0, first.stderr
            await until(lambda: transfer.status == "screening" and transfer.attempt is not None
                        and transfer.attempt.index == 1 and transfer.attempt.leg is not None,
                        20, "the second recipient's screening")
            leg = transfer.attempt.leg  # type: ignore[union-attr]
            assert leg is not None
            tones.append(asyncio.ensure_future(
                send_tone(recipient_media, ("127.0.0.1", leg.local_port), RECIPIENT_HZ)))

            # during the consultation: the caller hears music, not the recipient nor the agent;
            # the recipient hears the briefing, not the caller
            await asyncio.sleep(0.5)
            mark = time.monotonic()
            await asyncio.sleep(2.0)
            to_caller = caller_media.since(mark, PCMA_PT)
            to_recipient = recipient_media.since(mark, PCMA_PT)
            assert len(to_caller) >= 60, len(to_caller)
            assert np.mean(alaw_levels(to_caller)) > 300, "the caller hears music on hold"
            assert tone_amplitude(to_caller, RECIPIENT_HZ) < ABSENT
            assert agent.muted  # type: ignore[union-attr]
            assert len(to_recipient) >= 60, len(to_recipient)
            assert np.mean(alaw_levels(to_recipient)) > 200, "the recipient hears the briefing"
            assert tone_amplitude(to_recipient, CALLER_HZ) < ABSENT

            send_digit(recipient_media, ("127.0.0.1", leg.local_port), 1)
            await until(lambda: transfer.status == "completed", 15, "the bridge")
            assert agent not in session.mixer.participants  # type: ignore[union-attr]
            assert session.control.status == "in_progress" and session.control.transferred

            # bridged: each side hears the other, no music left
            await asyncio.sleep(0.6)
            mark = time.monotonic()
            await asyncio.sleep(1.5)
            to_caller = caller_media.since(mark, PCMA_PT)
            to_recipient = recipient_media.since(mark, PCMA_PT)
            assert tone_amplitude(to_caller, RECIPIENT_HZ) > HEARD
            assert tone_amplitude(to_recipient, CALLER_HZ) > HEARD
            assert not any(p.name.startswith("transfer_music")
                           for p in session.mixer.participants)  # type: ignore[union-attr]

            await engine.settled_writes()
            assert (await client.get_call(call_id))["status"] == "in_progress"
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await sipp
            assert result.returncode == 0, result.stderr
            assert await second.wait() == 0, second.stderr
        finally:
            for tone in tones:
                tone.cancel()
            caller_media.close()
            recipient_media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    assert row["id"] == started["id"] and row["status"] == "completed"
    assert row["failure_cause"] is None and row["completed_at"]
    assert row["transfer_to"] == f"sip:second@127.0.0.1:{second.port}"
    assert row["summary"] == "The caller wants to change a delivery address."
    declined, accepted = row["routing_attempts"]
    assert declined["label"] == "First" and declined["status"] == "failed"
    assert declined["failure_cause"] == "declined" and declined["kind"] == "sip"
    assert declined["started_at"] and declined["ended_at"]
    assert accepted["label"] == "Second" and accepted["status"] == "accepted"
    assert accepted["sip_status_code"] == 200
    assert [p["role"] for p in row["participants"]] == ["caller", "human"]
    events = await client.call_events(call_id)
    kinds = transfer_events(events)
    expected = ["transfer.requested", "transfer.dialing", "transfer.screening",
                "transfer.attempt_failed", "transfer.next_destination", "transfer.dialing",
                "transfer.screening", "transfer.bridging", "transfer.completed"]
    engine_kinds = [e["event_type"] for e in events if e["provider"] == "engine"
                    and e["event_type"] in expected]
    assert engine_kinds == expected, engine_kinds
    assert "transfer.dtmf_info" in kinds  # the first recipient's INFO
    failed = next(e for e in events if e["event_type"] == "transfer.attempt_failed")
    assert failed["failure_cause"] == "declined" and failed["payload"]["label"] == "First"
    nxt = next(e for e in events if e["event_type"] == "transfer.next_destination")
    assert nxt["payload"]["label"] == "Second" and nxt["payload"]["attempt"] == 1
    call = await client.get_call(call_id)
    assert call["status"] == "completed"


@pytest.mark.parametrize("strategy", ["return_to_agent", "take_message", "end_call"])
async def test_fallbacks(control_engine: ControlEngine, tmp_path: Path, strategy: str) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    scenario = {"return_to_agent": BUSY, "take_message": RINGS, "end_call": HANGS_UP}[strategy]
    async with SippUas(scenario) as uas:
        if strategy == "return_to_agent":  # a phone number through the number's trunk
            with session_scope(engine.engine.db) as db:
                trunk = SipTrunk(organization_id=engine.engine.organization_id, name="sipp",
                                 host="127.0.0.1", port=uas.port, allow_refer=False)
                db.add(trunk)
                number = db.exec(select(PhoneNumber)).one()
                number.sip_trunk_id = trunk.id
            to = "+15550123456"
        else:
            to = f"sip:desk@127.0.0.1:{uas.port}"
        message = {"return_to_agent": "Sorry, the desk is busy. Anything else?",
                   "take_message": None, "end_call": None}[strategy]
        sipp = start_caller(engine, tmp_path, media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            fallback: dict[str, Any] = {"strategy": strategy}
            if message:
                fallback["message"] = message
            await client.warm_transfer(call_id, [{"to": to, "label": "Desk"}],
                                       ringing_timeout=2, fallback=fallback)
            row = await stored_transfer(engine, call_id, "failed")
            assert await uas.wait() == 0, uas.stderr
            spoken = {"return_to_agent": message, "take_message": TAKE_MESSAGE,
                      "end_call": GOODBYE}[strategy]
            await engine.wait_for(lambda: said(session, spoken), 15, "the fallback message")
            if strategy == "end_call":
                result = await asyncio.wait_for(sipp, 30)
                assert result.returncode == 0, result.stderr  # the agent hung up
            else:
                assert not pipeline.paused and session.control.status == "in_progress"
                agent = session.agent.participant  # type: ignore[union-attr]
                assert agent in session.mixer.participants and not agent.muted  # type: ignore[union-attr]
                assert not any(p.name.startswith("transfer_music")
                               for p in session.mixer.participants)  # type: ignore[union-attr]
                if strategy == "take_message":
                    brain = session.agent.brain  # type: ignore[union-attr]
                    assert TAKE_MESSAGE_INSTRUCTION in brain.context  # type: ignore[attr-defined]
                await engine.settled_writes()
                assert (await client.get_call(call_id))["status"] == "in_progress"
                assert (await client.control(call_id, "end_call"))["result"] == "ending"
                result = await sipp
                assert result.returncode == 0, result.stderr
        finally:
            media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    cause, code = {"return_to_agent": ("busy", 486), "take_message": ("no_answer", None),
                   "end_call": ("declined", None)}[strategy]
    assert row["status"] == "failed" and row["failure_cause"] == cause, row
    [attempt] = row["routing_attempts"]
    assert attempt["failure_cause"] == cause and attempt["label"] == "Desk"
    if code is not None:
        assert row["sip_status_code"] == code and attempt["sip_status_code"] == code
        assert row["outbound_trunk_id"] is not None
    result_of = {"return_to_agent": "returned_to_agent", "take_message": "taking_message",
                 "end_call": "ended"}
    assert row["metadata"]["fallback_result"] == {"strategy": strategy, "message": spoken,
                                                  "result": result_of[strategy]}
    kinds = transfer_events(await client.call_events(call_id))
    assert kinds.index("transfer.failed") < kinds.index("transfer.fallback"), kinds
    assert "transfer.next_destination" not in kinds
    call = await client.get_call(call_id)
    if strategy == "end_call":
        assert call["disconnect_reason"] == "supervisor_hangup"


async def test_complete_route_and_validation(control_engine: ControlEngine,
                                             tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    with session_scope(engine.engine.db) as db:
        other_org_user = User(organization_id="someone-else", email="x@y.z", display_name="X",
                              presence="available")
        db.add(other_org_user)
        stranger = other_org_user.id
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        sipp = start_caller(engine, tmp_path, media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            agent = session.agent.participant  # type: ignore[union-attr]
            to = f"sip:desk@127.0.0.1:{uas.port}"
            for body, field in [
                ({"destinations": []}, "destinations"),
                ({"destinations": [{"to": to}, {"to": "12345"}]}, "destinations[1].to"),
                ({"destinations": [{"to": to}], "ringing_timeout": 301}, "ringing_timeout"),
                ({"destinations": [{"to": to}], "fallback": {"strategy": "voicemail"}},
                 "fallback.strategy"),
                ({"destinations": [{"to": to}, {"to": "user:no-such-user"}]},
                 "destinations[1].to"),
                ({"destinations": [{"to": f"user:{stranger}"}]}, "destinations[0].to"),
                ({"destinations": [{"to": to}], "warm": True}, "warm"),
            ]:
                with pytest.raises(ApiError) as bad:
                    await client.request("POST", f"/v1/calls/{call_id}/transfers/warm",
                                         json=body)
                assert bad.value.status == 422 and bad.value.field == field, (body, bad.value)
            with pytest.raises(ApiError) as no_trunk:
                await client.warm_transfer(call_id, [{"to": "+15550123456"}])
            assert no_trunk.value.status == 409 and no_trunk.value.code == "NO_TRUNK"
            assert engine.telephony.transfers.active == {}

            started = await client.warm_transfer(call_id, [{"to": to}], ringing_timeout=10)
            tid = started["id"]
            transfer = engine.telephony.transfers.active[call_id]
            with pytest.raises(ApiError) as unknown:
                await client.complete_transfer(call_id, "no-such-transfer")
            assert unknown.value.status == 404
            await until(lambda: transfer.status == "screening", 20, "screening")
            done = await client.complete_transfer(call_id, tid)  # a supervisor forces it
            assert done["status"] == "completed" and done["id"] == tid
            assert agent not in session.mixer.participants  # type: ignore[union-attr]
            for action in (client.complete_transfer, client.cancel_transfer):
                with pytest.raises(ApiError) as over:
                    await action(call_id, tid)
                assert over.value.status == 409 and over.value.code == "TRANSFER_FINISHED"
            # the recipient hears the caller now
            tones = asyncio.ensure_future(send_tone(media, ("127.0.0.1", session.rtp.local_port),  # type: ignore[union-attr]
                                                    CALLER_HZ))
            try:
                await asyncio.sleep(0.6)
                mark = time.monotonic()
                await asyncio.sleep(1.2)
                assert tone_amplitude(recipient_media.since(mark), CALLER_HZ) > HEARD
            finally:
                tones.cancel()
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            assert (await sipp).returncode == 0
            assert await uas.wait() == 0, uas.stderr
        finally:
            media.close()
            recipient_media.close()
    await engine.settled(20)
    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["metadata"]["forced_by"] == "api_key:admin"
    bridging = next(e for e in await client.call_events(call_id)
                    if e["event_type"] == "transfer.bridging")
    assert bridging["payload"]["forced"] is True and bridging["actor"] == "api_key:admin"
    assert "Transfer for" not in row["summary"] and row["summary"]  # generated from the call
    assert "has been speaking with" in row["summary"]


async def test_cancel_warm_and_blind(control_engine: ControlEngine, tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    async with SippUas(RINGS) as warm_uas, SippUas(RINGS) as blind_uas:
        sipp = start_caller(engine, tmp_path, media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            warm = await client.warm_transfer(
                call_id, [{"to": f"sip:desk@127.0.0.1:{warm_uas.port}"}], ringing_timeout=60,
                fallback={"strategy": "return_to_agent", "message": "Back with you now."})
            transfer = engine.telephony.transfers.active[call_id]
            await until(lambda: transfer.attempt is not None and transfer.attempt.sip is not None
                        and transfer.attempt.sip.state == "proceeding", 15, "ringing")
            with pytest.raises(ApiError) as early:
                await client.complete_transfer(call_id, warm["id"])
            assert early.value.status == 409 and early.value.code == "TRANSFER_NOT_READY"
            canceled = await client.cancel_transfer(call_id, warm["id"])
            assert canceled["status"] == "canceled" and canceled["failure_cause"] is None
            assert canceled["routing_attempts"][0]["status"] == "canceled"
            assert await warm_uas.wait() == 0, warm_uas.stderr  # CANCEL, 487, ACK
            await engine.wait_for(lambda: said(session, "Back with you now."), 15, "the agent")
            assert not pipeline.paused and session.control.status == "in_progress"

            blind = await client.blind_transfer(call_id, f"sip:desk@127.0.0.1:{blind_uas.port}",
                                                ringing_timeout=60, method="bridge")
            transfer = engine.telephony.transfers.active[call_id]
            await until(lambda: transfer.sip is not None and transfer.sip.state == "proceeding",
                        15, "ringing")
            with pytest.raises(ApiError) as not_ready:
                await client.complete_transfer(call_id, blind["id"])
            assert not_ready.value.code == "TRANSFER_NOT_READY"
            canceled = await client.cancel_transfer(call_id, blind["id"])
            assert canceled["status"] == "canceled" and canceled["kind"] == "blind"
            assert await blind_uas.wait() == 0, blind_uas.stderr
            await engine.wait_for(lambda: said(session, NOT_CONNECTED), 15, "the apology")
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            assert (await sipp).returncode == 0
        finally:
            media.close()
    await engine.settled(20)
    rows = await client.call_transfers(call_id)
    assert [(r["kind"], r["status"]) for r in rows] == [("warm", "canceled"),
                                                        ("blind", "canceled")]
    assert rows[0]["metadata"]["canceled_by"] == "api_key:admin"
    kinds = transfer_events(await client.call_events(call_id))
    assert kinds.count("transfer.canceled") == 2
    with pytest.raises(ApiError) as over:
        await client.cancel_transfer(call_id, rows[0]["id"])
    assert over.value.status == 409 and over.value.code == "TRANSFER_FINISHED"


async def next_event(sub: Any, type_: str, within: float = 20.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        event = await asyncio.wait_for(sub.queue.get(), max(0.01, deadline - loop.time()))
        if event["type"] == type_:
            return dict(event["data"])


async def test_console_users_offered_declined_and_answered(control_engine: ControlEngine,
                                                           tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    org = engine.engine.organization_id
    with session_scope(engine.engine.db) as db:
        away = User(organization_id=org, email="a@x.io", display_name="Away", presence="away")
        dana = User(organization_id=org, email="d@x.io", display_name="Dana",
                    presence="available")
        marc = User(organization_id=org, email="m@x.io", display_name="Marc",
                    presence="available")
        db.add_all([away, dana, marc])
        away_id, dana_id, marc_id = away.id, dana.id, marc.id
    media = await MediaSocket.open()
    bus = engine.engine.bus.subscribe(org)
    sipp = start_caller(engine, tmp_path, media)
    peer: OfferingPeer | None = None
    tone: asyncio.Task[None] | None = None
    try:
        session = await engine.live_session(25)
        call_id = session.call_id
        agent = session.agent.participant  # type: ignore[union-attr]
        assert session.rtp is not None
        tone = asyncio.ensure_future(send_tone(media, ("127.0.0.1", session.rtp.local_port),
                                               CALLER_HZ))
        started = await client.warm_transfer(call_id, [
            {"to": f"user:{away_id}", "label": "Away"},
            {"to": f"user:{dana_id}", "label": "Dana"},
            {"to": f"user:{marc_id}", "label": "Marc", "summary": "Wants Marc."},
        ], ringing_timeout=20)
        tid = started["id"]

        offered = await next_event(bus, "transfer.offered")
        assert offered["user_id"] == dana_id and offered["transfer_id"] == tid  # away skipped
        assert offered["call_id"] == call_id and offered["ringing_timeout"] == 20
        assert offered["agent_name"] == "" or isinstance(offered["agent_name"], str)
        assert offered["caller"] and isinstance(offered["data"], dict)
        assert offered["last_turns"] and offered["last_turns"][0]["role"] == "agent"
        assert "has been speaking with" in offered["summary"]
        with pytest.raises(ApiError) as wrong:
            await client.answer_transfer(call_id, tid, marc_id, "v=0")
        assert wrong.value.status == 409 and wrong.value.code == "TRANSFER_NOT_OFFERED"
        row = await client.decline_transfer(call_id, tid, dana_id, reason="in a meeting")
        assert [a["failure_cause"] for a in row["routing_attempts"]] == ["unavailable",
                                                                         "declined"]
        assert row["routing_attempts"][1]["reason"] == "in a meeting"
        ended = await next_event(bus, "transfer.offer_ended")
        assert ended == {"call_id": call_id, "transfer_id": tid, "user_id": dana_id,
                         "reason": "declined", "declined_reason": "in a meeting"}

        offered = await next_event(bus, "transfer.offered")
        assert offered["user_id"] == marc_id and offered["summary"] == "Wants Marc."
        ear = Capture()
        peer = OfferingPeer(Sine(RECIPIENT_HZ), ear)
        with pytest.raises(ApiError) as bad_sdp:
            await client.answer_transfer(call_id, tid, marc_id, "v=0\r\nnot an offer")
        assert bad_sdp.value.status == 422 and bad_sdp.value.field == "sdp"
        answer = await client.answer_transfer(call_id, tid, marc_id, await peer.offer())
        assert answer["type"] == "answer" and answer["participant_id"]
        await peer.accept(answer["sdp"])
        await asyncio.wait_for(peer.connected.wait(), 15)
        ended = await next_event(bus, "transfer.offer_ended")
        assert ended["user_id"] == marc_id and ended["reason"] == "answered"
        updated = await next_event(bus, "user.updated")
        assert updated["id"] == marc_id and updated["presence"] == "busy"
        assert agent not in session.mixer.participants  # type: ignore[union-attr]
        assert session.control.transferred

        # the user hears the caller's tone; the caller hears the user's
        await asyncio.sleep(1.0)
        ear.mark()
        mark = time.monotonic()
        await asyncio.sleep(1.5)
        assert heard(ear.since_mark(), CALLER_HZ)
        assert tone_amplitude(media.since(mark), RECIPIENT_HZ) > HEARD

        # the user hangs up: the call ends, the user is available again
        await client.leave_call(call_id, answer["participant_id"])
        result = await asyncio.wait_for(sipp, 20)
        assert result.returncode == 0, result.stderr
        updated = await next_event(bus, "user.updated")
        assert updated["id"] == marc_id and updated["presence"] == "available"
    finally:
        if tone is not None:
            tone.cancel()
        if peer is not None:
            await peer.close()
        engine.engine.bus.unsubscribe(bus)
        media.close()
    await engine.settled(20)
    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed"
    assert [a["failure_cause"] for a in row["routing_attempts"]] == ["unavailable", "declined",
                                                                     None]
    assert row["participants"][-1]["user_id"] == marc_id
    # the transcript names the user, not their id
    system = [e["text"] for e in (await client.get_call(call_id))["transcript"]["entries"]
              if e["source"] == "system"]
    assert any("Marc" in line for line in system), system
    assert not any("user:" in line for line in system), system
    call = await client.get_call(call_id)
    assert call["disconnect_reason"] == "agent_hangup"
    with session_scope(engine.engine.db) as db:
        assert db.get(User, marc_id).presence == "available"  # type: ignore[union-attr]


async def test_user_offer_times_out_to_the_fallback(control_engine: ControlEngine,
                                                    tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    org = engine.engine.organization_id
    with session_scope(engine.engine.db) as db:
        user = User(organization_id=org, email="d@x.io", display_name="Dana",
                    presence="available")
        db.add(user)
        user_id = user.id
    media = await MediaSocket.open()
    bus = engine.engine.bus.subscribe(org)
    sipp = start_caller(engine, tmp_path, media)
    try:
        session = await engine.live_session(25)
        call_id = session.call_id
        started = await client.warm_transfer(call_id, [{"to": f"user:{user_id}"}],
                                             ringing_timeout=2)
        assert (await next_event(bus, "transfer.offered"))["user_id"] == user_id
        ended = await next_event(bus, "transfer.offer_ended")
        assert ended["reason"] == "no_answer"
        row = await stored_transfer(engine, call_id, "failed")
        assert row["id"] == started["id"] and row["failure_cause"] == "no_answer"
        await engine.wait_for(lambda: said(session, NOT_CONNECTED), 15, "the apology")
        with pytest.raises(ApiError) as late:
            await client.answer_transfer(call_id, started["id"], user_id, "v=0")
        assert late.value.status == 409 and late.value.code == "TRANSFER_FINISHED"
        assert (await client.control(call_id, "end_call"))["result"] == "ending"
        assert (await sipp).returncode == 0
    finally:
        engine.engine.bus.unsubscribe(bus)
        media.close()
    await engine.settled(20)
