"""SIP transports on asyncio (RFC 3261 §18): UDP datagrams and TCP streams framed by
Content-Length, plus an in-memory fake that records what is sent."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from engine.sip.message import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)


@dataclass(frozen=True)
class Peer:
    """Where a message came from or goes to."""

    transport: str  # "UDP" | "TCP"
    host: str
    port: int

    @property
    def addr(self) -> tuple[str, int]:
        return (self.host, self.port)


OnData = Callable[[bytes, Peer, bool], None]  # data, source, stream-framed


class Transport:
    name = "UDP"
    reliable = False

    def __init__(self, on_data: OnData) -> None:
        self.on_data = on_data
        self.local_addr: tuple[str, int] = ("127.0.0.1", 0)

    def send(self, data: bytes, peer: Peer) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop receiving and release the sockets."""


class UdpTransport(Transport, asyncio.DatagramProtocol):
    name = "UDP"
    reliable = False

    def __init__(self, on_data: OnData) -> None:
        super().__init__(on_data)
        self._transport: asyncio.DatagramTransport | None = None

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        assert self._transport is not None
        self.local_addr = self._transport.get_extra_info("sockname")[:2]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a datagram endpoint's transport (which subclasses DatagramTransport from Python 3.12 on)
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.strip(b"\r\n\x00") == b"":
            return  # keep-alive (RFC 5626 CRLF ping)
        try:
            self.on_data(data, Peer("UDP", addr[0], addr[1]), False)
        except Exception:  # one bad datagram must never stop the listener
            log.exception("SIP datagram from %s:%s crashed its handler", *addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP error: %s", exc)

    def send(self, data: bytes, peer: Peer) -> None:
        if self._transport is None or self._transport.is_closing():
            raise OSError("UDP transport closed")
        self._transport.sendto(data, peer.addr)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class _StreamConnection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # what a stream server makes
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", host, port)
        self.owner.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            while self.buffer.startswith(b"\r\n"):
                del self.buffer[:2]  # keep-alive CRLFs between messages
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_MESSAGE_BYTES:
                    self._abort("oversized header block")
                return
            match = _CONTENT_LENGTH.search(bytes(self.buffer[:end]))
            if match is None:
                self._abort("no Content-Length on a stream")
                return
            total = end + 4 + int(match.group(1))
            if total > MAX_MESSAGE_BYTES:
                self._abort("oversized message")
                return
            if len(self.buffer) < total:
                return
            frame = bytes(self.buffer[:total])
            del self.buffer[:total]
            assert self.peer is not None
            try:
                self.owner.on_data(frame, self.peer, True)
            except Exception:
                log.exception("SIP message from %s crashed its handler", self.peer)

    def _abort(self, reason: str) -> None:
        log.warning("closing SIP TCP connection from %s: %s", self.peer, reason)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner.connections.get(self.peer) is self:
            del self.owner.connections[self.peer]


class TcpTransport(Transport):
    name = "TCP"
    reliable = True

    def __init__(self, on_data: OnData) -> None:
        super().__init__(on_data)
        self.connections: dict[Peer, _StreamConnection] = {}
        self._server: asyncio.Server | None = None
        self._pending: dict[Peer, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _StreamConnection(self), host, port)
        self.local_addr = self._server.sockets[0].getsockname()[:2]

    def send(self, data: bytes, peer: Peer) -> None:
        conn = self.connections.get(peer)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            conn.transport.write(data)
            return
        if peer in self._pending:
            self._pending[peer].append(data)
            return
        self._pending[peer] = [data]
        task = asyncio.get_running_loop().create_task(self._connect(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _StreamConnection(self), *peer.addr)
        except OSError as exc:
            log.warning("SIP TCP connect to %s failed: %s", peer, exc)
            self._pending.pop(peer, None)
            return
        self.connections[peer] = conn
        for data in self._pending.pop(peer, []):
            assert conn.transport is not None
            conn.transport.write(data)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        for task in self._tasks:
            task.cancel()


class FakeTransport(Transport):
    """Records every datagram sent; tests feed inbound data to the endpoint directly."""

    def __init__(self, on_data: OnData, name: str = "UDP", reliable: bool = False) -> None:
        super().__init__(on_data)
        self.name = name
        self.reliable = reliable
        self.sent: list[tuple[bytes, Peer]] = []
        self.drop_next = 0  # scripted loss: drop this many outgoing messages

    def send(self, data: bytes, peer: Peer) -> None:
        if self.drop_next > 0:
            self.drop_next -= 1
            return
        self.sent.append((data, peer))
