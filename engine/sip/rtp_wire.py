"""The batch's wire: one tick's G.711 packets built in one array and sent without the per-packet
Python layers of aiortp and asyncio.

Each packet is what aiortp's sender would have sent (same header, sequence number and timestamp,
its counters advanced the same way), sent to the session's current remote address from the
leg's own socket. On Linux the datagrams go out through libc's ``sendto`` called with the GIL
held: a non-blocking UDP send takes a few µs, while releasing and retaking the GIL for each of
hundreds of packets a tick lets every other thread in between (measured at 200 calls through
``transport.sendto``: 63 µs of wall time a packet for 12 µs of CPU). Anything unusual (no libc,
IPv6, a send that fails or would block, a transport with queued data, aiortp's retransmission
history or duplicate sending on) goes through aiortp's own path instead, packet by packet.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import logging
import socket
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from engine.sip.pacer_process import ENTRY_HEAD

if TYPE_CHECKING:
    from _ctypes import CFuncPtr

    from aiortp.sender import RtpSender

    from engine.sip.rtp_leg import RtpLeg
    from engine.sip.rtp_pacer import RtpPacer

log = logging.getLogger(__name__)

HEADER_BYTES = 12
RTP_HEADER = struct.Struct("!BBHII")  # RFC 3550 §5.1: V/P/X/CC, M/PT, sequence, timestamp, SSRC
RTP_VERSION_BYTE = 0x80  # version 2, no padding, no extension, no CSRC
# a packet for the pacer: its leg id and sockaddr_in (ENTRY_HEAD), then the RTP header
PACED_HEAD = struct.Struct(ENTRY_HEAD.format + RTP_HEADER.format[1:])


def libc_function(name: str) -> CFuncPtr | None:
    """A libc socket call (returning ``ssize_t``) as a foreign function that keeps the GIL, with
    errno kept for ``ctypes.get_errno``; None where unavailable (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: CFuncPtr = getattr(ctypes.PyDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_ssize_t
    return fn


def _libc_sendto() -> CFuncPtr | None:
    fn = libc_function("sendto")
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                       ctypes.c_char_p, ctypes.c_uint32]
    return fn


_SENDTO = _libc_sendto()


def sockaddr_in(addr: tuple[str, int]) -> bytes | None:
    """Linux's ``struct sockaddr_in`` for an IPv4 address (None for anything else)."""
    try:
        packed = socket.inet_aton(addr[0])
    except (OSError, TypeError):
        return None
    if ":" in addr[0]:
        return None
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", addr[1]) + packed + bytes(8)


class RtpWire:
    """Sends one tick's encoded frames, one per leg: itself, or through the RTP pacer process
    (:mod:`engine.sip.rtp_pacer`) when one runs."""

    def __init__(self) -> None:
        self._fds: dict[RtpLeg, int] = {}
        self._addrs: dict[tuple[str, int], bytes | None] = {}
        self.pacer: RtpPacer | None = None
        self._paced: dict[RtpLeg, int] = {}  # leg -> its id at the pacer
        self.fast_packets = 0
        self.slow_packets = 0

    def attach(self, leg: RtpLeg) -> None:
        datagram = leg.datagram
        sock = datagram.get_extra_info("socket") if datagram is not None else None
        fd = self._fds[leg] = sock.fileno() if sock is not None else -1
        pacer = self.pacer
        if pacer is not None and pacer.alive and fd >= 0:
            paced = pacer.open(fd)
            if paced is not None:
                self._paced[leg] = paced

    def detach(self, leg: RtpLeg) -> None:
        self._fds.pop(leg, None)
        paced = self._paced.pop(leg, None)
        if paced is not None and self.pacer is not None:
            self.pacer.close(paced)

    def _sockaddr(self, addr: tuple[str, int]) -> bytes | None:
        try:
            return self._addrs[addr]
        except KeyError:
            if len(self._addrs) > 4096:
                self._addrs.clear()
            sa = self._addrs[addr] = sockaddr_in(addr)
            return sa

    def _target(self, leg: RtpLeg) -> tuple[RtpSender, bytes] | None:
        """The leg's aiortp sender and remote ``sockaddr_in`` when its next packet may be built
        here; None when it must go through aiortp's own path."""
        session = leg.session
        sender = session._sender
        transport = session._rtp_transport
        datagram = transport._transport if transport is not None else None
        addr = session._remote_addr
        # asyncio's selector datagram transport is a WriteTransport too (it has a write buffer)
        if (sender is None or not isinstance(datagram, asyncio.WriteTransport) or addr is None
                or session._closed
                or session._paced_sender is not None or sender._enable_history
                or sender._duplicate_tx or datagram.is_closing()
                or datagram.get_write_buffer_size()):
            return None
        sa = self._sockaddr(addr)
        return (sender, sa) if sa is not None else None

    @staticmethod
    def _sent(leg: RtpLeg, sender: RtpSender, ts: int, size: int) -> None:
        """Advances the sender's counters as aiortp does for a packet sent."""
        sender._sequence_number = (sender._sequence_number + 1) & 0xFFFF
        sender._packets_sent += 1
        sender._octets_sent += size
        sender._last_rtp_timestamp = ts
        sender._current_timestamp = (ts + sender._timestamp_increment) & 0xFFFFFFFF
        leg.frames_sent += 1

    def _send_slow(self, leg: RtpLeg, payload: bytes) -> None:
        try:
            leg.send_encoded(payload)
        except Exception:
            log.exception("sending RTP failed")
        self.slow_packets += 1

    def send(self, legs: list[RtpLeg], payloads: npt.NDArray[np.uint8],
             report: Callable[[], None] | None = None) -> None:
        """Send row ``i`` of ``payloads`` as the next RTP packet of ``legs[i]``; ``report()`` is
        called after each packet goes out."""
        count, size = payloads.shape
        length = HEADER_BYTES + size
        packets = np.empty((count, length), dtype=np.uint8)
        packets[:, HEADER_BYTES:] = payloads
        base, pack_into, sendto, fds = packets.ctypes.data, RTP_HEADER.pack_into, _SENDTO, self._fds
        buffer = packets.data
        for row, leg in enumerate(legs):
            target = self._target(leg) if sendto is not None else None
            fd = fds.get(leg, -1)
            sent = False
            if target is not None and fd >= 0 and sendto is not None:
                sender, sa = target
                ts = sender._current_timestamp
                offset = row * length
                pack_into(buffer, offset, RTP_VERSION_BYTE, sender._payload_type,
                          sender._sequence_number, ts, sender._ssrc)
                sent = sendto(fd, base + offset, length, 0, sa, len(sa)) == length
                if sent:
                    self._sent(leg, sender, ts, size)
                    self.fast_packets += 1
                elif ctypes.get_errno() not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
                    log.debug("RTP send from fd %d failed (errno %d); retrying through asyncio",
                              fd, ctypes.get_errno())
            if not sent:
                self._send_slow(leg, payloads[row].tobytes())
            if report is not None:
                report()

    def hand(self, legs: list[RtpLeg], payloads: npt.NDArray[np.uint8],
             slot: float) -> list[int]:
        """Build row ``i`` of ``payloads`` as the next RTP packet of ``legs[i]`` and hand the
        packets to the pacer, to be sent at ``slot``; the rows it cannot take (see
        :meth:`_target`), for :meth:`send` at that slot."""
        pacer = self.pacer
        count, size = payloads.shape
        if pacer is None or not pacer.alive:
            return list(range(count))
        length = HEADER_BYTES + size
        stride = PACED_HEAD.size + size
        entries = np.empty((count, stride), dtype=np.uint8)
        pack_into, paced, buffer = PACED_HEAD.pack_into, self._paced, entries.data
        kept: list[int] = []
        rest: list[int] = []
        for row, leg in enumerate(legs):
            target = self._target(leg)
            paced_id = paced.get(leg)
            if target is None or paced_id is None:
                rest.append(row)
                continue
            sender, sa = target
            ts = sender._current_timestamp
            pack_into(buffer, len(kept) * stride, paced_id, sa, RTP_VERSION_BYTE,
                      sender._payload_type, sender._sequence_number, ts, sender._ssrc)
            self._sent(leg, sender, ts, size)
            kept.append(row)
        if kept:
            n = len(kept)
            entries[:n, PACED_HEAD.size:] = payloads if n == count else payloads[kept]
            self.fast_packets += pacer.hand(entries[:n].data.cast("B"), n, length, slot)
        return rest
