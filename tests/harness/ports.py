"""Free loopback ports for the peers a test starts: a UDP port for SIP, an even pair for RTP and
RTCP, and one free for both UDP and TCP."""

from __future__ import annotations

import socket

PORT_TRIES = 50  # a port found free can be taken before it is bound; try again this many times


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_media_port() -> int:
    """An even port whose neighbour (RTCP) is free too, for sipp's -mp."""
    for _ in range(PORT_TRIES):
        port = free_udp_port() & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
                return port
        except OSError:
            continue
    raise RuntimeError("no free media port pair")


def free_port() -> int:
    """A loopback port free for both UDP and TCP (baresip listens for SIP on both)."""
    for _ in range(PORT_TRIES):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")
