"""The G.711 batch's drain: packets read from the legs' sockets once a tick, put in sequence
order, decoded as aiortp would, and everything that is not plain audio left to aiortp."""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiortp.codecs.g711 import PcmaCodec, PcmuCodec

from engine.media.clock import MediaClock
from engine.sip import rtp_drain, sdp
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_leg import RtpLeg

pytestmark = pytest.mark.skipif(rtp_drain._RECVFROM is None, reason="needs libc's recvfrom")

SSRC = 0x1234


@dataclass
class Wire:
    batch: RtpBatch
    leg: RtpLeg
    peer: socket.socket

    def send(self, seq: int, payload: bytes, pt: int = 8, ssrc: int = SSRC,
             peer: socket.socket | None = None) -> None:
        header = struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc)
        (peer or self.peer).sendto(header + payload, ("127.0.0.1", self.leg.local_port))

    def tick(self) -> list[bytes]:
        """One tick's receive: what the leg now holds decoded, as 8 kHz frames."""
        self.batch.decode(self.batch.drain.receive())
        frames = list(self.leg._codec_frames)
        self.leg._codec_frames.clear()
        return frames


def _payload(value: int, size: int = 160) -> bytes:
    return bytes([value]) * size


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    batch = RtpBatch(MediaClock())
    leg = await RtpLeg.open("127.0.0.1", sdp.MediaParams(8, "PCMA", 8000, 101, peer.getsockname(),
                                                         "sendrecv"), batch=batch)
    try:
        yield Wire(batch, leg, peer)
    finally:
        await leg.close()
        peer.close()


async def test_in_order_audio_is_decoded_as_aiortp_decodes_it(wire: Wire) -> None:
    codes = bytes(range(96, 256))
    for seq in (7, 8):
        wire.send(seq, codes)
    frames = wire.tick()
    assert frames == [PcmaCodec().decode(codes)] * 2
    assert wire.batch.drain.fast_packets == 2 and wire.batch.drain.slow_packets == 0
    session = wire.leg.session
    assert session.packets_in == 2 and session.last_rx > 0
    stats = session._stream_stats
    assert stats is not None and stats.packets_received == 2 and stats.max_seq == 8
    assert session._remote_ssrc == SSRC


async def test_pcmu_uses_its_own_table(wire: Wire) -> None:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    leg = await RtpLeg.open("127.0.0.1", sdp.MediaParams(0, "PCMU", 8000, 101, peer.getsockname(),
                                                         "sendrecv"), batch=wire.batch)
    try:
        codes = bytes(range(160))
        peer.sendto(struct.pack("!BBHII", 0x80, 0, 1, 160, 9) + codes, ("127.0.0.1", leg.local_port))
        wire.send(1, codes)
        wire.batch.decode(wire.batch.drain.receive())
        assert list(leg._codec_frames) == [PcmuCodec().decode(codes)]
        assert list(wire.leg._codec_frames) == [PcmaCodec().decode(codes)]
    finally:
        await leg.close()
        peer.close()


async def test_early_packets_wait_and_a_gap_is_given_up(wire: Wire) -> None:
    wire.send(10, _payload(1))
    wire.send(12, _payload(3))  # 11 comes late
    wire.send(11, _payload(2))
    assert [f[0] for f in wire.tick()] == [PcmaCodec().decode(_payload(v))[0] for v in (1, 2, 3)]

    wire.send(14, _payload(5))  # 13 is lost
    assert wire.tick() == []  # held: 13 may still come
    wire.send(15, _payload(6))
    frames = wire.tick()  # two packets past the gap: it is given up
    assert [f[0] for f in frames] == [PcmaCodec().decode(_payload(v))[0] for v in (5, 6)]
    assert wire.batch.drain.lost_packets == 1

    wire.send(13, _payload(4))  # too late now, and a duplicate
    wire.send(15, _payload(6))
    assert wire.tick() == []
    assert wire.batch.drain.late_packets == 2


async def test_longer_packets_are_cut_into_20_ms_frames(wire: Wire) -> None:
    wire.send(1, _payload(1, 240))  # 30 ms, as sipp's uac_pcap plays
    wire.send(2, _payload(1, 240))
    frames = wire.tick()
    assert len(frames) == 3 and all(len(f) == 320 for f in frames)
    assert wire.batch.drain.fast_packets == 2


async def test_a_digit_goes_to_aiortp_and_its_sequence_number_is_no_loss(wire: Wire) -> None:
    digits: list[str] = []
    wire.leg.on_dtmf = digits.append
    wire.send(1, _payload(1))
    for seq, end in ((2, False), (3, False), (4, True)):  # RFC 4733: digit 5
        wire.send(seq, struct.pack("!BBH", 5, 0x8A if end else 0x0A, 800 if end else 400), pt=101)
    wire.send(5, _payload(2))
    frames = wire.tick()
    assert len(frames) == 2  # the audio after the digit is not held back as if 2-4 were lost
    assert digits == ["5"]
    assert wire.batch.drain.slow_packets == 3 and wire.batch.drain.lost_packets == 0


async def test_a_new_source_is_latched_and_a_new_ssrc_restarts_the_order(wire: Wire) -> None:
    wire.send(100, _payload(1))
    assert len(wire.tick()) == 1
    moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    moved.bind(("127.0.0.1", 0))
    try:
        wire.send(5, _payload(2), ssrc=0x9999, peer=moved)  # behind 101, but another stream
        assert len(wire.tick()) == 1
        assert wire.leg.session._remote_addr == moved.getsockname()
        assert wire.leg.session._remote_ssrc == 0x9999
    finally:
        moved.close()


async def test_rtcp_on_the_rtp_port_goes_to_aiortp(wire: Wire) -> None:
    # a receiver report with no blocks (RFC 3550 §6.4.2)
    wire.peer.sendto(struct.pack("!BBHI", 0x80, 201, 1, SSRC), ("127.0.0.1", wire.leg.local_port))
    assert wire.tick() == []
    assert wire.batch.drain.slow_packets == 1 and wire.batch.drain.fast_packets == 0


async def test_play_starts_after_a_prefetch_and_again_after_running_dry(wire: Wire) -> None:
    leg = wire.leg
    wire.send(1, _payload(1))
    wire.batch.decode(wire.batch.drain.receive())
    assert leg.next_codec_frame() is None  # one frame queued: still filling
    wire.send(2, _payload(2))
    wire.batch.decode(wire.batch.drain.receive())
    first, second = leg.next_codec_frame(), leg.next_codec_frame()
    assert first == PcmaCodec().decode(_payload(1)) and second == PcmaCodec().decode(_payload(2))
    assert leg.next_codec_frame() is None  # ran dry: fills up again
    wire.send(3, _payload(3))
    wire.batch.decode(wire.batch.drain.receive())
    assert leg.next_codec_frame() is None
