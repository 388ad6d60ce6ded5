"""The engine's side of the RTP pacer process (:mod:`engine.sip.pacer_process`): starts it, hands
it the legs' sockets and each tick's packets, and folds its lateness reports into the media
clock's.

Everything here but :meth:`RtpPacer.start` and :meth:`RtpPacer.stop` runs on the media thread and
never blocks. A pacer that dies, or falls so far behind that its socket is full (several ticks of
packets), is given up: the packets not handed over count as late, and from the next tick the
batch sends itself, as it does where no pacer runs (a platform without ``SOCK_SEQPACKET``, or a
process that failed to start).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from pathlib import Path

from engine.media import BIN_S, BINS, LATE_S, PACER_PRIORITY, Lateness, request_realtime
from engine.sip.pacer_process import (
    CLOSE,
    CONTROL,
    ENTRY_HEAD,
    MAX_MESSAGE,
    OPEN,
    PACKETS,
    PACKETS_HEAD,
    REPORT,
    REPORT_BIN,
)

log = logging.getLogger(__name__)

PROCESS = Path(__file__).with_name("pacer_process.py")
STOP_TIMEOUT_S = 2.0
SEND_BUFFER = 1 << 20  # room for several ticks' packets (the kernel caps it at wmem_max)


class RtpPacer:
    """A running pacer process and the socket to it."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen[bytes]) -> None:
        self._sock = sock
        self.process = process
        self.alive = True
        self._next_id = 0
        self.late_handed = 0  # reported late, having reached the pacer too late already
        self.lost = 0  # never handed over (the socket to the pacer was full) or refused there
        self.realtime = False  # runs under real-time scheduling
        self._lost_uncounted = 0  # lost since the last collect

    @classmethod
    def start(cls, realtime: bool = False) -> RtpPacer | None:
        """Starts a pacer process, under real-time scheduling when ``realtime`` and the system
        allows it; None where it cannot run (the batch then sends itself)."""
        if not hasattr(socket, "SOCK_SEQPACKET") or not hasattr(socket, "CMSG_SPACE"):
            return None
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as exc:
            log.info("RTP pacer unavailable (%s); the media thread sends RTP itself", exc)
            return None
        with theirs:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", str(PROCESS), str(theirs.fileno()), str(BIN_S),
                     str(BINS), str(LATE_S)],
                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
            except OSError as exc:
                ours.close()
                log.warning("RTP pacer did not start (%s); the media thread sends RTP itself",
                            exc)
                return None
        with contextlib.suppress(OSError):
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        ours.setblocking(False)
        pacer = cls(ours, process)
        if realtime:
            pacer.realtime = request_realtime(PACER_PRIORITY, process.pid)
        log.info("RTP pacer started (pid %d, %s)", process.pid,
                 "real-time scheduling" if pacer.realtime else "normal priority")
        return pacer

    def _died(self, exc: OSError | None) -> None:
        if self.alive:
            self.alive = False
            log.error("the RTP pacer process is gone (%s); the media thread sends RTP itself",
                      exc or f"exit code {self.process.poll()}")

    def _behind(self) -> None:
        """The pacer has not read what it was given for several ticks (stopped, or starved):
        it is ended, and the media thread sends from now on."""
        if self.alive:
            self.alive = False
            log.error("the RTP pacer process is not keeping up; ended, the media thread sends "
                      "RTP itself")
            self.process.kill()

    def _post(self, parts: list[bytes | memoryview], fds: list[int] | None = None) -> bool:
        if not self.alive:
            return False
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                      b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds))] \
            if fds else []
        try:
            self._sock.sendmsg(parts, ancillary)
        except BlockingIOError:
            self._behind()
            return False
        except OSError as exc:
            self._died(exc)
            return False
        return True

    def open(self, fd: int) -> int | None:
        """Passes a leg's socket to the pacer; the id its packets go under, or None."""
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        leg = self._next_id
        return leg if self._post([CONTROL.pack(OPEN, leg)], [fd]) else None

    def close(self, leg: int) -> None:
        """The leg is gone: the pacer closes its copy of the socket."""
        self._post([CONTROL.pack(CLOSE, leg)])

    def hand(self, entries: memoryview, count: int, length: int, slot: float) -> int:
        """Hands ``count`` entries (see :mod:`engine.sip.pacer_process`) of RTP packets of
        ``length`` bytes, to be sent at ``slot``; the number handed over (the rest are lost)."""
        stride = ENTRY_HEAD.size + length
        per_message = max(1, (MAX_MESSAGE - PACKETS_HEAD.size) // stride)
        handed = 0
        while handed < count:
            n = min(per_message, count - handed)
            part = entries[handed * stride:(handed + n) * stride]
            if not self._post([PACKETS_HEAD.pack(PACKETS, n, length, slot), part]):
                break
            handed += n
        self._lose(count - handed)
        return handed

    def _lose(self, count: int) -> None:
        self.lost += count
        self._lost_uncounted += count

    def collect(self, frames: Lateness) -> None:
        """Folds the reports waiting from the pacer into ``frames``; packets never sent count as
        the latest."""
        self._fold_reports(frames)
        if self._lost_uncounted:
            frames.add(BINS * BIN_S, self._lost_uncounted)
            self._lost_uncounted = 0

    def _fold_reports(self, frames: Lateness) -> None:
        while self.alive:
            try:
                report = self._sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError as exc:
                self._died(exc)
                return
            if not report:
                self._died(None)
                return
            failed, late, late_handed, worst, bins = REPORT.unpack_from(report)
            frames.merge([REPORT_BIN.unpack_from(report, REPORT.size + i * REPORT_BIN.size)
                          for i in range(bins)], late, worst)
            self.late_handed += late_handed
            self._lose(failed)

    def stop(self) -> None:
        """Closes the socket (the process exits on it) and waits for the process; blocking."""
        self.alive = False
        self._sock.close()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

