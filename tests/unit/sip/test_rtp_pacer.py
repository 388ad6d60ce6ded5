"""The RTP pacer process sends the batch's packets at their slot, from the legs' own sockets,
reports how late they went out, forgets a leg once it detaches, and when it dies the media
thread goes on sending itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import struct
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from engine.media.clock import MediaClock
from engine.media.frame import FRAME_BYTES
from engine.sip import sdp
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_leg import RtpLeg

LEAD_S = 0.15  # handed this long before the slot: the packets must wait for it

pytestmark = pytest.mark.skipif(not hasattr(socket, "SOCK_SEQPACKET"),
                                reason="the pacer needs AF_UNIX SOCK_SEQPACKET")


def _peer() -> socket.socket:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    return peer


async def _legs(batch: RtpBatch, peer: socket.socket) -> list[RtpLeg]:
    return [await RtpLeg.open("127.0.0.1", sdp.MediaParams(pt, codec, 8000, 101,
                                                           peer.getsockname(), "sendrecv"),
                              batch=batch)
            for pt, codec in ((0, "PCMU"), (8, "PCMA"))]


async def _receive(peer: socket.socket, count: int,
                   timeout_s: float = 5.0) -> list[tuple[float, bytes, int]]:
    """``count`` packets: when each arrived, the packet and the port it came from."""
    loop = asyncio.get_running_loop()
    got = []
    for _ in range(count):
        packet, addr = await asyncio.wait_for(loop.sock_recvfrom(peer, 2048), timeout_s)
        got.append((time.monotonic(), packet, addr[1]))
    return got


@contextlib.asynccontextmanager
async def _setup(paced: bool = True) -> AsyncIterator[tuple[RtpBatch, list[RtpLeg],
                                                            socket.socket]]:
    """A batch (with its pacer when ``paced``), a PCMU and a PCMA leg on it, and their peer."""
    peer = _peer()
    batch = RtpBatch(MediaClock())
    if paced:
        assert batch.start_pacer()
    legs = await _legs(batch, peer)
    try:
        yield batch, legs, peer
    finally:
        for leg in legs:
            await leg.close()
        batch.stop_pacer()
        peer.close()


def _tick(batch: RtpBatch, legs: list[RtpLeg], slot: float) -> None:
    """What one media tick does for the batch: the mixers' frames, then the encode stage for
    the slot after ``slot``."""
    frame = (np.arange(FRAME_BYTES // 2, dtype="<i2") * 50).tobytes()
    for leg in legs:
        leg.push(frame)
    batch.clock.slot = slot
    batch.encode()


async def test_packets_leave_at_their_slot_from_the_legs_sockets() -> None:
    async with _setup() as (batch, legs, peer):
        ports = {leg.session._rtp_transport._transport.get_extra_info("sockname")[1]
                 for leg in legs}
        packets = []
        for n in range(3):
            slot = time.monotonic() + LEAD_S - 0.020
            _tick(batch, legs, slot)  # handed now, sent at slot + 20 ms
            got = await _receive(peer, 2)
            for arrived, _, _ in got:
                assert arrived >= slot + 0.020, f"tick {n}: a packet left before its slot"
            assert {port for *_, port in got} == ports  # each from its leg's own socket
            packets += [packet for _, packet, _ in got]
        batch.send()  # the next tick's first stage: the pacer's reports
        await asyncio.sleep(0.05)
        batch.send()
        assert batch.clock.frames.count == 6
        assert batch.wire.fast_packets == 6 and batch.wire.slow_packets == 0
        sender = legs[0].session._sender
        assert sender is not None and sender.packets_sent == 3
        for leg in legs:
            leg.send_encoded(bytes(160))  # aiortp's own path carries on the same stream
        packets += [packet for _, packet, _ in await _receive(peer, 2)]
    streams: dict[int, list[tuple[int, int]]] = {}
    for packet in packets:
        b0, _, seq, ts, ssrc = struct.unpack("!BBHII", packet[:12])
        assert b0 == 0x80 and len(packet) == 172
        streams.setdefault(ssrc, []).append((seq, ts))
    assert len(streams) == 2
    for stream in streams.values():  # the pacer's packets, then aiortp's, one stream
        assert [((s - stream[0][0]) & 0xFFFF, (t - stream[0][1]) & 0xFFFFFFFF)
                for s, t in stream] == [(0, 0), (1, 160), (2, 320), (3, 480)]


async def test_the_pacer_sends_the_bytes_the_media_thread_would() -> None:
    """The same mixed frames through a batch with a pacer and one without: the same audio."""
    payloads: list[dict[int, list[bytes]]] = []
    for paced in (True, False):
        async with _setup(paced) as (batch, legs, peer):
            for n in range(3):
                frame = (np.sin(np.arange(FRAME_BYTES // 2) * (0.05 + n / 50)) * 8000)
                for leg in legs:
                    leg.push(frame.astype("<i2").tobytes())
                batch.clock.slot = time.monotonic()
                batch.encode()
                batch.send()
            by_type: dict[int, list[bytes]] = {}
            for _, packet, _ in await _receive(peer, 6):
                by_type.setdefault(packet[1] & 0x7F, []).append(packet[12:])
            payloads.append(by_type)
    assert set(payloads[0]) == {0, 8} and payloads[0] == payloads[1]


async def test_a_detached_legs_waiting_packets_are_dropped() -> None:
    async with _setup() as (batch, legs, peer):
        _tick(batch, legs, time.monotonic() + 0.3)
        await legs[0].close()  # detaches before the slot comes
        got = await _receive(peer, 1, timeout_s=2.0)
        assert got[0][1][1] & 0x7F == 8  # only the PCMA leg's
        with pytest.raises(TimeoutError):
            await _receive(peer, 1, timeout_s=0.5)


async def test_without_its_pacer_the_batch_sends_itself() -> None:
    async with _setup() as (batch, legs, peer):
        pacer = batch.pacer
        assert pacer is not None
        pacer.process.kill()
        await asyncio.to_thread(pacer.process.wait)
        for _ in range(3):
            _tick(batch, legs, time.monotonic())
            batch.send()
        assert not pacer.alive
        # the first tick went to the dead pacer and is lost; the next two are sent here
        await _receive(peer, 4)
        with pytest.raises(TimeoutError):
            await _receive(peer, 1, timeout_s=0.3)
        assert batch.wire.fast_packets + batch.wire.slow_packets == 4


async def test_a_pacer_that_stops_reading_is_given_up() -> None:
    async with _setup() as (batch, legs, peer):
        pacer = batch.pacer
        assert pacer is not None
        os.kill(pacer.process.pid, signal.SIGSTOP)
        ticks = 0
        while pacer.alive and ticks < 20_000:  # until its socket is full
            _tick(batch, legs, time.monotonic() + 60.0)
            ticks += 1
        assert not pacer.alive and pacer.lost > 0
        assert await asyncio.to_thread(pacer.process.wait, 5.0) == -signal.SIGKILL
        batch.send()
        assert batch.clock.frames.late == pacer.lost  # never handed over: late
        while select.select([peer], [], [], 0)[0]:
            peer.recv(2048)
        _tick(batch, legs, time.monotonic())
        batch.send()  # the media thread sends itself now
        assert len(await _receive(peer, 2)) == 2


def test_the_pacer_exits_when_stopped() -> None:
    batch = RtpBatch(MediaClock())
    assert batch.start_pacer()
    pacer = batch.pacer
    assert pacer is not None
    batch.stop_pacer()
    assert pacer.process.returncode == 0 and batch.pacer is None
