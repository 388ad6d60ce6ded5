"""The G.711 batch's wire sends what aiortp's own sender would: same header fields, sequence
numbers and timestamps continuing across both paths, the sender's counters advanced alike."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct

import numpy as np

from engine.media.clock import MediaClock
from engine.media.frame import FRAME_BYTES
from engine.sip import rtp_wire, sdp
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_leg import RtpLeg
from engine.sip.rtp_wire import sockaddr_in


async def test_batched_packets_match_aiortps_own() -> None:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    batch = RtpBatch(MediaClock())
    legs = [await RtpLeg.open("127.0.0.1", sdp.MediaParams(pt, codec, 8000, 101,
                                                           peer.getsockname(), "sendrecv"),
                              batch=batch)
            for pt, codec in ((0, "PCMU"), (8, "PCMA"))]
    loop = asyncio.get_running_loop()
    frame = (np.arange(FRAME_BYTES // 2, dtype="<i2") * 50).tobytes()
    try:
        assert all(leg.batch is batch for leg in legs)
        for _ in range(3):
            for leg in legs:
                leg.push(frame)
            batch.encode()  # after the mixers
            batch.send()  # at the start of the next tick
        for leg in legs:  # aiortp's path carries on from where the wire left
            leg.send_encoded(bytes(160))
        packets = [await asyncio.wait_for(loop.sock_recv(peer, 2048), 10.0) for _ in range(8)]
        sender = legs[0].session._sender
        assert sender is not None and sender.packets_sent == 4 and sender.octets_sent == 640
    finally:
        for leg in legs:
            await leg.close()
        peer.close()
    by_ssrc: dict[int, list[tuple[int, int, int, bytes]]] = {}
    for p in packets:
        b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", p[:12])
        assert b0 == 0x80 and len(p) == 172
        by_ssrc.setdefault(ssrc, []).append((b1, seq, ts, p[12:]))
    assert len(by_ssrc) == 2
    for stream in by_ssrc.values():
        assert len({b1 for b1, *_ in stream}) == 1
        seqs = [seq for _, seq, _, _ in stream]
        stamps = [ts for _, _, ts, _ in stream]
        assert [(b - a) & 0xFFFF for a, b in itertools.pairwise(seqs)] == [1, 1, 1]
        assert [(b - a) & 0xFFFFFFFF for a, b in itertools.pairwise(stamps)] == \
            [160, 160, 160]
        assert stream[1][3] == stream[2][3] and stream[3][3] == bytes(160)
    assert batch.wire.fast_packets + batch.wire.slow_packets == 6
    assert batch.wire.fast_packets == (6 if rtp_wire._SENDTO is not None else 0)


def test_sockaddr_is_ipv4_only() -> None:
    sa = sockaddr_in(("127.0.0.1", 5004))
    assert sa is not None and len(sa) == 16 and sa[2:4] == (5004).to_bytes(2, "big")
    assert sockaddr_in(("::1", 5004)) is None

