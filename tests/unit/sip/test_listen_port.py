"""A user agent asked for port 0 listens on one port for UDP and TCP, picking again when the
free UDP port's TCP twin is taken."""

from __future__ import annotations

import errno
import socket

import pytest

from engine.sip.transport import TcpTransport
from engine.sip.ua import UserAgent


async def test_port_zero_picks_again_when_the_tcp_twin_is_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    refused: list[int] = []
    listen = TcpTransport.listen

    async def taken_once(self: TcpTransport, host: str, port: int) -> None:
        if not refused:  # as if a connection's local port were that number
            refused.append(port)
            raise OSError(errno.EADDRINUSE, "address already in use")
        await listen(self, host, port)

    monkeypatch.setattr(TcpTransport, "listen", taken_once)
    ua = await UserAgent.listen("127.0.0.1", 0, lambda call: None)
    try:
        port = ua.port
        assert refused and ua.endpoint.port("TCP") == port
        # the first UDP socket was let go: its port can be bound again
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", refused[0]))
    finally:
        ua.close()


async def test_a_taken_port_that_was_asked_for_is_an_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError):
            await UserAgent.listen("127.0.0.1", port, lambda call: None)
