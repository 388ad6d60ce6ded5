"""The RTP pacer process: sends the G.711 batch's packets at their slots, under an interpreter of
its own.

The media thread shares its interpreter with call setup, the store and the API, and its cores
with everything else on the machine; a tick that starts late used to make every packet it sent
late. The media thread now hands each tick's finished packets here at the end of the tick that
encoded them, for the next slot, and this process, waiting on nothing else, sends them when that
slot comes. A tick can then run late by up to a whole frame without a packet going out late.

It talks to the engine over one ``AF_UNIX`` ``SOCK_SEQPACKET`` socket (its file descriptor is
the first argument):

- ``OPEN id`` with a leg's UDP socket passed as ``SCM_RIGHTS``: packets for ``id`` go out from
  that socket (the leg's own port, so RTP stays symmetric);
- ``CLOSE id``: the leg is gone; its packets still waiting are dropped and its socket closed;
- ``PACKETS count length slot`` and ``count`` entries of (id, ``struct sockaddr_in``, an RTP
  packet of ``length`` bytes): sent at ``slot`` (``CLOCK_MONOTONIC`` seconds, the engine's media
  clock), or at once when it has passed.

After each ``PACKETS`` it answers with a ``REPORT``: packets failed, late (and how many of those
came too late to be sent on time: the media thread ran late), the worst lateness and a histogram
of the sent packets' lateness (bin index, count) in the engine's bins (arguments 2–4: bin
width, bin count, late threshold), which the engine folds into its own frame lateness.
When the engine's end of the socket closes (a stop, or the engine dying), the process exits.

Only the standard library is imported: the process starts in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _ctypes import CFuncPtr

OPEN = 1
CLOSE = 2
PACKETS = 3
CONTROL = struct.Struct("=BI")  # OPEN / CLOSE, leg id
PACKETS_HEAD = struct.Struct("=BIId")  # PACKETS, count, packet length, slot
ENTRY_HEAD = struct.Struct("!I16s")  # leg id, struct sockaddr_in (as the kernel takes it)
# failed, late, late because handed over late, worst lateness (s), histogram bins (sent ones)
REPORT = struct.Struct("=IIIdH")
REPORT_BIN = struct.Struct("=HI")  # bin index, packets
MAX_MESSAGE = 1 << 16  # the engine splits a tick's packets into messages of at most this
SOCKADDR_BYTES = 16


def _libc_sendto() -> CFuncPtr:
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.sendto
    fn.restype = ctypes.c_ssize_t
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_uint32]
    return fn


class Pacer:
    """The process's state: the legs' sockets and the packets waiting for their slot."""

    def __init__(self, sock: socket.socket, bin_s: float, bins: int, late_s: float) -> None:
        self.sock = sock
        self.bin_s, self.bins, self.late_s = bin_s, bins, late_s
        self.fds: dict[int, int] = {}
        self.pending: deque[tuple[float, int, int, bytearray, float]] = deque()
        self._sendto = _libc_sendto()
        self._ancillary = socket.CMSG_SPACE(struct.calcsize("i"))

    def run(self) -> None:
        sock, pending = self.sock, self.pending
        while True:
            timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
            readable, _, _ = select.select([sock], [], [], timeout)
            if readable and not self._read():
                return
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                self._send(*pending.popleft())
                now = time.monotonic()

    def _read(self) -> bool:
        """Handles every message waiting; False once the engine has gone."""
        while True:
            buffer = bytearray(MAX_MESSAGE)
            try:
                size, ancillary, _, _ = self.sock.recvmsg_into([buffer], self._ancillary,
                                                               socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if size == 0:
                return False
            self._handle(buffer, size, ancillary)

    def _handle(self, buffer: bytearray, size: int, ancillary: list[tuple[int, int, bytes]]) -> None:
        passed = [fd for level, kind, data in ancillary
                  if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
                  for fd in struct.unpack(f"{len(data) // 4}i", data[:len(data) // 4 * 4])]
        kind = buffer[0]
        if kind == PACKETS and size >= PACKETS_HEAD.size:
            _, count, length, slot = PACKETS_HEAD.unpack_from(buffer)
            if PACKETS_HEAD.size + count * (ENTRY_HEAD.size + length) <= size:
                self.pending.append((slot, count, length, buffer, time.monotonic()))
        elif kind == OPEN and size >= CONTROL.size and passed:
            _, leg = CONTROL.unpack_from(buffer)
            old = self.fds.pop(leg, None)
            if old is not None:
                os.close(old)
            self.fds[leg] = passed.pop(0)
        elif kind == CLOSE and size >= CONTROL.size:
            _, leg = CONTROL.unpack_from(buffer)
            fd = self.fds.pop(leg, None)
            if fd is not None:
                os.close(fd)
        for fd in passed:  # anything passed that was not kept
            os.close(fd)

    def _send(self, slot: float, count: int, length: int, buffer: bytearray,
              received: float) -> None:
        base = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
        stride = ENTRY_HEAD.size + length
        sendto, fds, unpack, monotonic = self._sendto, self.fds, ENTRY_HEAD.unpack_from, \
            time.monotonic
        bin_s, last_bin, late_s = self.bin_s, self.bins - 1, self.late_s
        histogram: dict[int, int] = {}
        failed = late = 0
        worst = 0.0
        offset = PACKETS_HEAD.size
        for _ in range(count):
            leg, _ = unpack(buffer, offset)
            fd = fds.get(leg)
            if fd is not None:
                start = base + offset
                if sendto(fd, start + ENTRY_HEAD.size, length, 0, start + 4,
                          SOCKADDR_BYTES) == length:
                    lateness = monotonic() - slot
                    index = min(int(lateness / bin_s), last_bin) if lateness > 0 else 0
                    histogram[index] = histogram.get(index, 0) + 1
                    if lateness > late_s:
                        late += 1
                    if lateness > worst:
                        worst = lateness
                else:
                    failed += 1
            offset += stride
        handed_late = late if received - slot > late_s else 0
        report = REPORT.pack(failed, late, handed_late, worst, len(histogram)) + b"".join(
            REPORT_BIN.pack(index, n) for index, n in histogram.items())
        try:
            self.sock.send(report, socket.MSG_DONTWAIT)
        except OSError:
            pass  # the engine reads reports each tick; a full socket loses one


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine decides when this stops
    fd, bin_s, bins, late_s = int(argv[1]), float(argv[2]), int(argv[3]), float(argv[4])
    with socket.socket(fileno=fd) as sock:
        Pacer(sock, bin_s, bins, late_s).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
