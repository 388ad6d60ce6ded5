"""Blind transfers over real SIP on loopback: a sipp caller talks to the order-status agent, and
the call is transferred to a sipp recipient that answers (bridged both ways, the agent gone) or
answers 486 through the number's trunk (failed busy, the agent takes the call back)."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from aiortp.codecs.g711 import PcmaCodec
from sqlmodel import select

from engine.calls.transfers import NOT_CONNECTED
from engine.client import ApiError
from engine.store import PhoneNumber, SipTrunk, session_scope
from tests.integration.control.callers import PCMA_PT, MediaSocket, Packet, recv_bye, write_scenario
from tests.integration.control.conftest import ControlEngine
from tests.integration.sip.conftest import (
    SCENARIOS,
    free_media_port,
    free_udp_port,
    requires_sipp,
    run_sipp,
)

pytestmark = requires_sipp

RECIPIENT = Path(__file__).with_name("scenarios") / "recipient.xml"
CALLER_HZ = 1000.0
RECIPIENT_HZ = 600.0


class SippUas:
    """sipp as the transfer's recipient on a free loopback port."""

    def __init__(self, scenario: Path, rtp_port: int | None = None) -> None:
        self.scenario = scenario
        self.rtp_port = rtp_port
        self.port = free_udp_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = ""

    async def __aenter__(self) -> SippUas:
        args = ["sipp", "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_media_port()),
                "-m", "1", "-nostdin", "-timeout", "50s", "-timeout_error", "-sf",
                str(self.scenario)]
        if self.rtp_port is not None:
            args += ["-key", "rtp_port", str(self.rtp_port)]
        self.proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                         stderr=asyncio.subprocess.PIPE)
        return self

    async def wait(self, within: float = 30.0) -> int:
        assert self.proc is not None
        _, err = await asyncio.wait_for(self.proc.communicate(), within)
        self.stderr = err.decode(errors="replace")
        return self.proc.returncode or 0

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


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


def start_caller(engine: ControlEngine, tmp_path: Path, media: MediaSocket) -> asyncio.Task:  # type: ignore[type-arg]
    xml = write_scenario(tmp_path / "caller.xml", recv_bye(50000))
    return asyncio.ensure_future(run_sipp(xml, engine.port, engine.number.lstrip("+"),
                                          limit_s=55, extra=["-key", "rtp_port", str(media.port)]))


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
            assert session.leg is not None
            tones.append(asyncio.ensure_future(
                send_tone(caller_media, ("127.0.0.1", session.leg.local_port), CALLER_HZ)))

            started = await client.blind_transfer(call_id, f"sip:recipient@127.0.0.1:{uas.port}",
                                                  ringing_timeout=15, play_dialtone=True)
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
    events = await client.call_events(call_id)
    kinds = [e["event_type"] for e in events if e["event_type"].startswith("transfer.")]
    for kind in ("transfer.requested", "transfer.dialing", "transfer.invite_sent",
                 "transfer.completed"):
        assert kind in kinds, kinds
    assert kinds.index("transfer.requested") < kinds.index("transfer.completed")


async def test_busy_transfer_returns_the_call_to_the_agent(control_engine: ControlEngine,
                                                           tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    media = await MediaSocket.open()
    async with SippUas(SCENARIOS / "uas_busy.xml") as uas:
        with session_scope(engine.engine.db) as db:  # the number's trunk leads to the busy UAS
            trunk = SipTrunk(organization_id=engine.engine.organization_id, name="sipp",
                             host="127.0.0.1", port=uas.port)
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

            moved = await client.control(call_id, "transfer", to="+15550123456",
                                         ringing_timeout=10)
            assert moved["result"] == "transferring" and moved["status"] == "transferring"
            transfer_id = moved["transfer_id"]
            transfer = engine.telephony.transfers.active.get(call_id)
            assert transfer is not None and transfer.target.trunk_id is not None
            await engine.wait_for(lambda: transfer.status == "failed", 15, "the busy answer")
            assert transfer.fields["failure_cause"] == "busy"
            assert transfer.fields["sip_status_code"] == 486
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
    events = await client.call_events(call_id)
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
