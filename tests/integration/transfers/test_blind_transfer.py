"""Blind transfers over real SIP on loopback: a sipp caller talks to the order-status agent, and
the call is transferred by REFER to a caller that takes it (the engine's leg hangs up), by dial
and bridge after a caller answers the REFER 501, or by dial and bridge only (``method: bridge``)
to a sipp recipient that answers (bridged both ways, the agent gone) or answers 486 through the
number's trunk, which does not allow REFER (failed busy, the agent takes the call back)."""

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

from engine.calls.transfers import NOT_CONNECTED
from engine.client import ApiError
from engine.store import PhoneNumber, SipTrunk, session_scope
from tests.harness.callers import start_caller
from tests.harness.rtp import PCMA_PT, MediaSocket, Packet
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import SCENARIOS, SippUas, requires_sipp

pytestmark = requires_sipp

HERE = Path(__file__).with_name("scenarios")
RECIPIENT = HERE / "recipient.xml"
CALLER_REFER = HERE / "caller_refer.xml"  # 202 to the REFER, NOTIFY 100 then 200, our BYE
CALLER_REFER_501 = HERE / "caller_refer_501.xml"  # 501 to the REFER, then our BYE
CALLER_HZ = 1000.0
RECIPIENT_HZ = 600.0


async def send_tone(sock: MediaSocket, addr: tuple[str, int], hz: float) -> None:
    """A-law RTP of a steady tone from ``sock`` to ``addr``, 20 ms a packet, until cancelled."""
    codec = PcmaCodec()
    ssrc = struct.unpack("!I", os.urandom(4))[0]
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    while True:
        t = (np.arange(160) + n * 160) / 8000.0
        pcm = (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()
        header = struct.pack("!BBHII", 0x80, PCMA_PT, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, ssrc)
        assert sock.transport is not None
        sock.transport.sendto(header + codec.encode(pcm), addr)
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))


def dominant_hz(packets: list[Packet]) -> float:
    """The strongest frequency of the A-law audio in ``packets`` (0 for silence)."""
    codec = PcmaCodec()
    pcm = np.concatenate([np.frombuffer(codec.decode(p.payload), dtype="<i2") for p in packets])
    pcm = pcm.astype(np.float64)
    if len(pcm) < 800 or np.sqrt(np.mean(pcm ** 2)) < 200:
        return 0.0
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * 8000 / len(pcm))


def transfer_events(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events if e["event_type"].startswith("transfer.")]


async def test_blind_transfer_bridges_the_recipient(control_engine: ControlEngine,
                                                    tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    caller_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    tones: list[asyncio.Task[None]] = []
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        sipp = start_caller(engine, tmp_path, caller_media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            agent = session.agent.participant  # type: ignore[union-attr]
            assert session.rtp is not None
            tones.append(asyncio.ensure_future(
                send_tone(caller_media, ("127.0.0.1", session.rtp.local_port), CALLER_HZ)))

            started = await client.blind_transfer(call_id, f"sip:recipient@127.0.0.1:{uas.port}",
                                                  ringing_timeout=15, play_dialtone=True,
                                                  method="bridge")
            assert started["kind"] == "blind" and started["call_id"] == call_id
            assert started["status"] in ("requested", "dialing")
            assert started["transfer_to"] == f"sip:recipient@127.0.0.1:{uas.port}"
            transfer = engine.telephony.transfers.active[call_id]
            with pytest.raises(ApiError) as twice:
                await client.blind_transfer(call_id, "sip:other@127.0.0.1:5999")
            assert twice.value.status == 409 and twice.value.code == "TRANSFER_IN_PROGRESS"

            await engine.wait_for(lambda: transfer.status == "completed", 20, "the bridge")
            assert transfer.leg is not None
            tones.append(asyncio.ensure_future(
                send_tone(recipient_media, ("127.0.0.1", transfer.leg.local_port), RECIPIENT_HZ)))
            # the agent left: out of the mixer, its pipeline paused
            assert agent not in session.mixer.participants  # type: ignore[union-attr]
            assert pipeline.paused and session.control.status == "in_progress"
            with pytest.raises(ApiError) as gone:
                await client.control(call_id, "say", content="Still here?")
            assert gone.value.status == 409 and gone.value.code == "CALL_TRANSFERRED"

            # each side hears the other: the recipient the caller's tone, the caller the recipient's
            await asyncio.sleep(0.6)
            mark = time.monotonic()
            await asyncio.sleep(1.5)
            to_recipient = recipient_media.since(mark, PCMA_PT)
            to_caller = caller_media.since(mark, PCMA_PT)
            assert len(to_recipient) >= 30, len(to_recipient)
            assert abs(dominant_hz(to_recipient) - CALLER_HZ) < 30, dominant_hz(to_recipient)
            assert len(to_caller) >= 30, len(to_caller)
            assert abs(dominant_hz(to_caller) - RECIPIENT_HZ) < 30, dominant_hz(to_caller)

            await engine.settled_writes()
            assert (await client.get_call(call_id))["status"] == "in_progress"
            ending = await client.control(call_id, "end_call")
            assert ending["result"] == "ending"
            result = await sipp
            assert result.returncode == 0, result.stderr  # the caller got the BYE
            assert await uas.wait() == 0, uas.stderr  # and so did the recipient
        finally:
            for tone in tones:
                tone.cancel()
            caller_media.close()
            recipient_media.close()
    await engine.settled(20)

    call = await client.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == "supervisor_hangup"
    [row] = await client.call_transfers(call_id)
    assert row["id"] == started["id"] and row["kind"] == "blind"
    assert row["status"] == "completed" and row["sip_status_code"] == 200
    assert row["failure_cause"] is None and row["completed_at"]
    assert [p["role"] for p in row["participants"]] == ["caller", "human"]
    assert row["metadata"]["method"] == "bridge"
    assert [a["method"] for a in row["routing_attempts"]] == ["bridge"]
    events = await client.call_events(call_id)
    kinds = transfer_events(events)
    for kind in ("transfer.requested", "transfer.dialing", "transfer.invite_sent",
                 "transfer.completed"):
        assert kind in kinds, kinds
    assert kinds.index("transfer.requested") < kinds.index("transfer.completed")
    assert not any(kind.startswith("transfer.refer_") for kind in kinds), kinds  # no REFER


async def test_busy_transfer_returns_the_call_to_the_agent(control_engine: ControlEngine,
                                                           tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    async with SippUas(SCENARIOS / "uas_busy.xml") as uas:
        with session_scope(engine.engine.db) as db:  # the number's trunk leads to the busy UAS
            trunk = SipTrunk(organization_id=engine.engine.organization_id, name="sipp",
                             host="127.0.0.1", port=uas.port, allow_refer=False)
            db.add(trunk)
            number = db.exec(select(PhoneNumber)).one()
            number.sip_trunk_id = trunk.id
        sipp = start_caller(engine, tmp_path, media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            agent = session.agent.participant  # type: ignore[union-attr]

            # validation first: 422 naming the field, through both doors
            for fields, field in [({"to": "12345"}, "to"), ({"to": "sip:"}, "to"),
                                  ({"to": "+15550123456", "ringing_timeout": 0},
                                   "ringing_timeout"),
                                  ({"to": "+15550123456", "warm": True}, "warm")]:
                with pytest.raises(ApiError) as bad:
                    await client.blind_transfer(call_id, **fields)
                assert bad.value.status == 422 and bad.value.field == field, fields
            with pytest.raises(ApiError) as bad:
                await client.control(call_id, "transfer", to="not a number")
            assert bad.value.status == 422 and bad.value.field == "to"

            # the trunk does not allow REFER: asking for it is refused, auto bridges
            with pytest.raises(ApiError) as no_refer:
                await client.blind_transfer(call_id, "+15550123456", method="refer")
            assert no_refer.value.status == 409 and no_refer.value.code == "REFER_NOT_ALLOWED"
            with pytest.raises(ApiError) as bad:
                await client.blind_transfer(call_id, "+15550123456", method="carrier_pigeon")
            assert bad.value.status == 422 and bad.value.field == "method"

            moved = await client.control(call_id, "transfer", to="+15550123456",
                                         ringing_timeout=10)
            assert moved["result"] == "transferring" and moved["status"] == "transferring"
            transfer_id = moved["transfer_id"]
            # the busy answer may come back before this line runs: read the stored transfer
            rows: list[dict[str, Any]] = []
            for _ in range(150):
                rows = await client.call_transfers(call_id)
                if rows and rows[0]["status"] == "failed":
                    break
                await asyncio.sleep(0.1)
            assert rows and rows[0]["status"] == "failed", rows
            assert rows[0]["failure_cause"] == "busy" and rows[0]["sip_status_code"] == 486
            assert rows[0]["outbound_trunk_id"] is not None
            assert await uas.wait() == 0, uas.stderr  # the 486 was ACKed

            # the agent is back: in the mixer, unmuted, listening, saying it could not connect
            assert agent in session.mixer.participants and not agent.muted  # type: ignore[union-attr]
            assert not pipeline.paused and session.control.status == "in_progress"
            await engine.wait_for(lambda: any(line.text == NOT_CONNECTED
                                              for line in pipeline.lines), 10, "the apology")
            await engine.settled_writes()
            assert (await client.get_call(call_id))["status"] == "in_progress"

            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await sipp
            assert result.returncode == 0, result.stderr
        finally:
            media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    assert row["id"] == transfer_id and row["status"] == "failed"
    assert row["failure_cause"] == "busy" and row["sip_status_code"] == 486
    assert row["outbound_trunk_id"] is not None
    assert row["routing_attempts"][0]["sip_status_code"] == 486
    assert row["metadata"]["method"] == "bridge"
    events = await client.call_events(call_id)
    assert not any(k.startswith("transfer.refer_") for k in transfer_events(events))
    failed = [e for e in events if e["event_type"] == "transfer.failed"]
    assert failed and failed[0]["failure_cause"] == "busy" and failed[0]["sip_status_code"] == 486
    audit = [e for e in events if e["event_type"] == "control.transfer"]
    assert audit and audit[0]["actor"] == "api_key:admin"
    assert audit[0]["payload"]["content"] == "+15550123456"

    # over: 400 CALL_NOT_LIVE; unknown calls 404
    with pytest.raises(ApiError) as over:
        await client.blind_transfer(call_id, "+15550123456")
    assert over.value.status == 400 and over.value.code == "CALL_NOT_LIVE"
    with pytest.raises(ApiError) as unknown:
        await client.blind_transfer("no-such-call", "+15550123456")
    assert unknown.value.status == 404


async def test_refer_transfer_hands_the_caller_over(control_engine: ControlEngine,
                                                   tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    sipp = start_caller(engine, tmp_path, media, CALLER_REFER)
    try:
        session = await engine.live_session(25)
        call_id = session.call_id
        started = await client.blind_transfer(call_id, "sip:frontdesk@127.0.0.1:5999")
        assert started["metadata"]["method"] == "refer"
        assert started["metadata"]["requested_method"] == "auto"
        result = await asyncio.wait_for(sipp, 20)
        assert result.returncode == 0, result.stderr  # 202, both NOTIFYs answered, our BYE
    finally:
        media.close()
    await engine.settled(20)

    call = await client.get_call(call_id)
    assert call["status"] == "completed" and call["disconnect_reason"] == "transferred"
    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["failure_cause"] is None
    assert row["sip_status_code"] == 200 and row["completed_at"]
    assert row["metadata"]["method"] == "refer"
    [attempt] = row["routing_attempts"]
    assert attempt["method"] == "refer" and attempt["status"] == "completed"
    assert attempt["refer_status"] == 202 and attempt["sipfrag"] == "SIP/2.0 200 OK"
    events = await client.call_events(call_id)
    kinds = transfer_events(events)
    assert kinds[:3] == ["transfer.requested", "transfer.dialing", "transfer.refer_accepted"], kinds
    assert kinds.index("transfer.refer_accepted") < kinds.index("transfer.completed")
    progress = [e["payload"]["sipfrag"] for e in events
                if e["event_type"] == "transfer.refer_progress"]
    assert progress == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]
    assert "transfer.invite_sent" not in kinds  # no leg was dialled
    completed = next(e for e in events if e["event_type"] == "transfer.completed")
    assert completed["payload"]["method"] == "refer"


async def test_refused_refer_falls_back_to_the_bridge(control_engine: ControlEngine,
                                                      tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    caller_media = await MediaSocket.open()
    recipient_media = await MediaSocket.open()
    async with SippUas(RECIPIENT, recipient_media.port) as uas:
        sipp = start_caller(engine, tmp_path, caller_media, CALLER_REFER_501)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            agent = session.agent.participant  # type: ignore[union-attr]
            await client.blind_transfer(call_id, f"sip:frontdesk@127.0.0.1:{uas.port}",
                                        ringing_timeout=10)
            transfer = engine.telephony.transfers.active[call_id]
            await engine.wait_for(lambda: transfer.status == "completed", 15, "the bridge")
            assert transfer.leg is not None
            assert agent not in session.mixer.participants  # type: ignore[union-attr]
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await asyncio.wait_for(sipp, 15)
            assert result.returncode == 0, result.stderr  # 501 sent, then our BYE
            assert await uas.wait(15) == 0, uas.stderr
        finally:
            caller_media.close()
            recipient_media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["sip_status_code"] == 200
    assert row["metadata"]["method"] == "bridge"
    assert row["metadata"]["refer_outcome"] == "refused"
    refer, bridge = row["routing_attempts"]
    assert refer["method"] == "refer" and refer["status"] == "refused"
    assert refer["refer_status"] == 501
    assert bridge["method"] == "bridge" and bridge["status"] == "answered"
    events = await client.call_events(call_id)
    kinds = transfer_events(events)
    assert "transfer.refer_refused" in kinds and "transfer.invite_sent" in kinds, kinds
    assert kinds.index("transfer.refer_refused") < kinds.index("transfer.invite_sent")
    refused = next(e for e in events if e["event_type"] == "transfer.refer_refused")
    assert refused["sip_status_code"] == 501 and refused["payload"]["fallback"] == "bridge"
    call = await client.get_call(call_id)
    assert call["disconnect_reason"] == "supervisor_hangup"
