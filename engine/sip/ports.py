"""RTP port pairs that stay ours from the moment they are chosen until a leg binds them.

aiortp's allocator checks a pair by binding and closing it, searching from the bottom of its
range. A port we put in an SDP offer is bound only when the answer comes, seconds later; another
engine on the host (or any program) searching the same way finds it free meanwhile and takes it,
and our leg fails with "address already in use". Here the search starts at a random even port, and
the pair stays bound (held) until :meth:`RtpPorts.take` hands it to the leg that binds it.

A held socket can outlive its close for an instant: a child process being started by another
thread (espeak-ng for a transfer briefing, or any ``subprocess``) holds a copy of every open
descriptor from its fork until it closes them before ``exec``. A leg binding the pair in that
instant would fail with "address already in use", although the port is ours;
:func:`wait_bindable` waits that instant out.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from itertools import chain

from aiortp.port_allocator import PortAllocator


class RtpPorts(PortAllocator):
    """Even/odd RTP/RTCP pairs in ``port_range``, held bound until taken."""

    def __init__(self, port_range: tuple[int, int]) -> None:
        super().__init__(port_range)
        self._held: dict[int, tuple[socket.socket, socket.socket]] = {}

    async def allocate(self) -> tuple[int, int]:
        """A free pair (rtp, rtcp), bound by us until :meth:`take` or :meth:`release`."""
        async with self._lock:
            ports = range(self._min_port, self._max_port, 2)
            start = random.randrange(len(ports))
            for port in chain(ports[start:], ports[:start]):
                if port in self._allocated:
                    continue
                pair = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
                        socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                try:
                    pair[0].bind(("", port))
                    pair[1].bind(("", port + 1))
                except OSError:
                    for sock in pair:
                        sock.close()
                    continue
                self._allocated.add(port)
                self._held[port] = pair
                return port, port + 1
            raise RuntimeError("no free RTP port pair in range")

    def take(self, port: int) -> None:
        """Lets go of the pair's sockets so that the leg can bind it (it stays allocated)."""
        for sock in self._held.pop(port, ()):
            with contextlib.suppress(OSError):
                sock.close()

    async def release(self, rtp_port: int) -> None:
        self.take(rtp_port)
        await super().release(rtp_port)


BIND_WAIT_S = 0.5  # a child process closes inherited descriptors within this, even on a busy host
BIND_POLL_S = 0.002


def _bindable(host: str, port: int) -> bool:
    for candidate in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                return False
    return True


async def wait_bindable(host: str, port: int, timeout_s: float = BIND_WAIT_S) -> bool:
    """Waits until the pair ``port``/``port + 1`` can be bound on ``host``, at most
    ``timeout_s``; whether it can."""
    deadline = time.monotonic() + timeout_s
    while not _bindable(host, port):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(BIND_POLL_S)
    return True


__all__ = ["RtpPorts", "wait_bindable"]
