"""The batch's receive side: once per tick, every G.711 leg's socket is read dry and its
packets put in order, without asyncio waking for each datagram or aiortp parsing each one.

A leg's socket is taken off the event loop when the leg joins the batch. Each tick the drain
reads every such socket until it would block, through libc's ``recvfrom`` called with the GIL
held (like the wire's ``sendto``: releasing the GIL for each of hundreds of non-blocking reads
lets every other thread in between). A plain audio packet of the leg's payload type (version
2, no padding, extension or CSRC; 10 to 60 ms of payload in 10 ms steps) is handled here:

- the SSRC and the symmetric-RTP address are followed as aiortp would (a new SSRC resets the
  stream statistics; a new source address is latched for sending);
- aiortp's stream statistics are kept, so RTCP receiver reports stay true;
- sequence numbers put packets in order: a packet that comes early waits, and a gap is given up
  after ``JITTER_PREFETCH`` later packets (as aiortp's own jitter buffer with that prefetch);
  a late or duplicate packet is dropped;
- the payloads of the whole tick are decoded in one table lookup by the batch, and cut into
  20 ms frames by the leg.

Anything else (RFC 4733 events, comfort noise, RTCP or STUN on the RTP port, other packet
sizes, an unknown payload type) goes to aiortp's own receive path as if asyncio had delivered
it; its sequence number still counts as taken, so a digit is not mistaken for loss.
Without libc (not Linux) the drain does nothing and the legs keep reading through asyncio.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from engine.sip.rtp_wire import HEADER_BYTES, RTP_HEADER, RTP_VERSION_BYTE, libc_function

if TYPE_CHECKING:
    from aiortp.packet import RtpPacket

    from engine.sip.rtp_leg import RtpLeg

log = logging.getLogger(__name__)

# 40 ms: packets held past a gap before it is given up; the frames a batched leg queues before
# play (re)starts; and the prefetch of aiortp's jitter buffer on the other legs
JITTER_PREFETCH = 2
STEP_BYTES = 80  # 10 ms of G.711 at 8 kHz: payloads are a whole number of these
MAX_PAYLOAD_BYTES = 480  # 60 ms
BUFFER_BYTES = 2048
MAX_PER_TICK = 16  # packets read from one socket per tick (a flood is left to the kernel)
SEQUENCE_JUMP = 100  # a jump this far ahead is a restarted stream, not loss
MSG_DONTWAIT = 0x40


# no argtypes: the drain passes ready-made ctypes values, which costs half the conversion
_RECVFROM = libc_function("recvfrom")


def peer_address(sockaddr: bytes) -> tuple[str, int] | None:
    """The (host, port) of a Linux ``struct sockaddr_in``; None for any other family."""
    if len(sockaddr) < 8 or struct.unpack_from("=H", sockaddr)[0] != socket.AF_INET:
        return None
    return socket.inet_ntoa(sockaddr[4:8]), struct.unpack_from("!H", sockaddr, 2)[0]


class _Seen:
    """The two fields aiortp's stream statistics read from a packet."""

    __slots__ = ("sequence_number", "timestamp")

    def __init__(self) -> None:
        self.sequence_number = 0
        self.timestamp = 0


class _Inbound:
    """One leg's receive state."""

    __slots__ = ("expected", "fd", "held", "leg", "payload_type", "seen", "source", "ssrc")

    def __init__(self, fd: int, leg: RtpLeg) -> None:
        self.fd = fd
        self.leg = leg
        self.payload_type = leg.params.payload_type
        self.ssrc: int | None = None
        self.expected: int | None = None  # the next sequence number to hand on
        self.held: dict[int, bytes | None] = {}  # early packets by sequence (None: not audio)
        self.source = b""  # the sockaddr packets are latched to
        self.seen = _Seen()


class RtpDrain:
    """Reads the batched legs' sockets once per tick."""

    def __init__(self) -> None:
        self._inbound: dict[RtpLeg, _Inbound] = {}
        self._buffer = ctypes.create_string_buffer(BUFFER_BYTES)
        self._address = ctypes.create_string_buffer(128)
        self._address_len = ctypes.c_uint32(0)
        self.fast_packets = 0
        self.slow_packets = 0
        self.late_packets = 0
        self.lost_packets = 0

    def attach(self, leg: RtpLeg) -> None:
        if _RECVFROM is None:
            return
        datagram = leg.datagram
        # asyncio's selector datagram transport can be paused (it is a ReadTransport too)
        if not isinstance(datagram, asyncio.ReadTransport):
            return
        sock = datagram.get_extra_info("socket")
        if sock is None or sock.family != socket.AF_INET:
            return
        datagram.pause_reading()
        self._inbound[leg] = _Inbound(sock.fileno(), leg)

    def detach(self, leg: RtpLeg) -> None:
        state = self._inbound.pop(leg, None)
        if state is None:
            return
        datagram = leg.datagram
        if isinstance(datagram, asyncio.ReadTransport) and not datagram.is_closing():
            datagram.resume_reading()

    def receive(self) -> list[tuple[RtpLeg, bytes]]:
        """Read every attached socket dry; returns the audio payloads to decode (the leg's
        G.711), in order per leg."""
        out: list[tuple[RtpLeg, bytes]] = []
        recvfrom, address, address_len = _RECVFROM, self._address, self._address_len
        if not self._inbound or recvfrom is None:
            return out
        base, address_base = ctypes.addressof(self._buffer), ctypes.addressof(address)
        buffer_ref, size_ref = ctypes.c_void_p(base), ctypes.c_size_t(BUFFER_BYTES)
        address_ref = ctypes.byref(address_len)
        unpack, string_at, now = RTP_HEADER.unpack_from, ctypes.string_at, time.monotonic()
        for state in list(self._inbound.values()):
            fd = ctypes.c_int(state.fd)
            for _ in range(MAX_PER_TICK):
                address_len.value = 128
                size = recvfrom(fd, buffer_ref, size_ref, MSG_DONTWAIT, address, address_ref)
                if size < 0:
                    err = ctypes.get_errno()
                    if err not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                        # ICMP port unreachable from a peer that went away, and the like
                        log.debug("RTP receive on fd %d failed (errno %d)", state.fd, err)
                    break
                self._packet(state, string_at(base, size),
                             string_at(address_base, address_len.value), unpack, now, out)
        return out

    def _packet(self, state: _Inbound, data: bytes, source: bytes,
                unpack: Callable[[bytes], tuple[Any, ...]], now: float,
                out: list[tuple[RtpLeg, bytes]]) -> None:
        session = state.leg.session
        if len(data) < HEADER_BYTES or data[0] != RTP_VERSION_BYTE:
            self._slow(state, data, source, None, out)
            return
        _, marker_pt, seq, timestamp, ssrc = unpack(data)
        payload_bytes = len(data) - HEADER_BYTES
        if ((marker_pt & 0x7F) != state.payload_type or payload_bytes % STEP_BYTES
                or not 0 < payload_bytes <= MAX_PAYLOAD_BYTES):
            self._slow(state, data, source, seq if ssrc == state.ssrc else None, out)
            return
        if source != state.source:
            addr = peer_address(source)
            if addr is None:
                self._slow(state, data, source, None, out)
                return
            session._latch_rtp_addr(addr)
            state.source = source
        if ssrc != state.ssrc:
            session._remote_ssrc_changed(ssrc)
            session._jitter_buffer.reset()
            state.ssrc, state.expected = ssrc, None
            state.held.clear()
        session.last_rx = now
        session.packets_in += 1
        seen = state.seen
        seen.sequence_number, seen.timestamp = seq, timestamp
        stats = session._stream_stats
        if stats is not None:  # set by _remote_ssrc_changed, for the first packet at the latest
            stats.add(cast("RtpPacket", seen))  # it reads only these two fields
        self.fast_packets += 1
        if seq == state.expected and not state.held:  # the usual case: the next in order
            out.append((state.leg, data[HEADER_BYTES:]))
            state.expected = (seq + 1) & 0xFFFF
        else:
            self._order(state, seq, data[HEADER_BYTES:], out)

    def _order(self, state: _Inbound, seq: int, payload: bytes | None,
               out: list[tuple[RtpLeg, bytes]]) -> None:
        """Hand on ``payload`` (None: a sequence number taken by something not audio) in
        sequence order."""
        expected = state.expected
        if expected is not None:
            ahead = (seq - expected) & 0xFFFF
            if ahead >= 0x8000:  # behind what was already handed on
                self.late_packets += payload is not None
                return
            if ahead >= SEQUENCE_JUMP:
                state.held.clear()
                expected = None
            elif ahead:
                state.held[seq] = payload
                if len(state.held) >= JITTER_PREFETCH:
                    # give the gap up: go on from the earliest packet held
                    first = min(state.held, key=lambda s: (s - expected) & 0xFFFF)
                    self.lost_packets += (first - expected) & 0xFFFF
                    self._release(state, first, out)
                return
        if payload is not None:
            out.append((state.leg, payload))
        self._release(state, (seq + 1) & 0xFFFF, out)

    @staticmethod
    def _release(state: _Inbound, expected: int, out: list[tuple[RtpLeg, bytes]]) -> None:
        held = state.held
        while expected in held:
            payload = held.pop(expected)
            if payload is not None:
                out.append((state.leg, payload))
            expected = (expected + 1) & 0xFFFF
        state.expected = expected

    def _slow(self, state: _Inbound, data: bytes, source: bytes, seq: int | None,
              out: list[tuple[RtpLeg, bytes]]) -> None:
        """aiortp's own path for a packet the drain does not handle; ``seq`` (of the audio
        stream) is marked as taken, which may release audio held behind it into ``out``."""
        self.slow_packets += 1
        if seq is not None:
            self._order(state, seq, None, out)
        addr = peer_address(source)
        transport = state.leg.session._rtp_transport
        if addr is None or transport is None:
            return
        try:
            transport.datagram_received(data, addr)
        except Exception:
            log.exception("RTP packet handling failed")
