"""The transaction layer's front door: parse what transports deliver, stamp received/rport
(RFC 3581), match requests and responses to transactions (RFC 3261 §17.1.3, §17.2.3), answer
what cannot be parsed with 400 (or drop it), and hand new requests to the transaction user."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from engine.sip.build import make_response, new_branch
from engine.sip.client_transaction import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
    OnResponse,
    OnTimeout,
)
from engine.sip.message import Message, ParseError, Request, Response, parse
from engine.sip.server_transaction import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
)
from engine.sip.timers import Clock
from engine.sip.transaction import Transaction, server_key
from engine.sip.transport import Peer, Transport

log = logging.getLogger(__name__)


class TransactionUser(Protocol):
    def on_request(self, request: Request, tx: ServerTransaction, peer: Peer) -> None: ...

    def on_ack(self, request: Request, peer: Peer) -> None: ...

    def on_cancel(self, request: Request, tx: NonInviteServerTransaction,
                  invite: InviteServerTransaction | None) -> None: ...

    def on_stray_response(self, response: Response, peer: Peer) -> None: ...


class Endpoint:
    """Owns the transports and the live transactions of one SIP user agent."""

    def __init__(self, clock: Clock, host: str = "127.0.0.1") -> None:
        self.clock = clock
        self.host = host
        self.transports: dict[str, Transport] = {}
        self.tu: TransactionUser | None = None
        self.servers: dict[str, ServerTransaction] = {}
        self.clients: dict[str, ClientTransaction] = {}
        self.stats = {"received": 0, "malformed_answered": 0, "malformed_dropped": 0,
                      "absorbed": 0, "stray_responses": 0}

    def add_transport(self, transport: Transport) -> None:
        self.transports[transport.name] = transport

    def port(self, transport: str = "UDP") -> int:
        return self.transports[transport].local_addr[1]

    def via(self, transport: str, branch: str | None = None) -> str:
        port = self.port(transport)
        return f"SIP/2.0/{transport} {self.host}:{port};branch={branch or new_branch()};rport"

    # inbound
    def receive(self, data: bytes, peer: Peer, stream: bool = False) -> None:
        self.stats["received"] += 1
        try:
            message = parse(data, stream=stream)
        except ParseError as exc:
            self._malformed(exc, peer)
            return
        if isinstance(message, Request):
            self._stamp_received(message, peer)
            self._request(message, peer)
        else:
            self._response(message, peer)

    def _malformed(self, exc: ParseError, peer: Peer) -> None:
        request = exc.partial
        if request is None or request.method == "ACK":
            self.stats["malformed_dropped"] += 1
            log.warning("dropped unparseable SIP message from %s:%s: %s", peer.host, peer.port,
                        exc.reason)
            return
        self.stats["malformed_answered"] += 1
        log.warning("answered %d to a malformed %s from %s:%s: %s", exc.status, request.method,
                    peer.host, peer.port, exc.reason)
        try:
            self._stamp_received(request, peer)
            warning = exc.phrase.replace("\\", "/").replace('"', "'")
            response = make_response(request, exc.status, exc.phrase,
                                     extra=[("Warning", f'399 - "{warning}"')])
            self.send(response, self.response_peer(request, peer))
        except (ParseError, ValueError, OSError) as send_exc:
            log.warning("could not answer a malformed message: %s", send_exc)

    @staticmethod
    def _stamp_received(request: Request, peer: Peer) -> None:
        """RFC 3261 §18.2.1 received=, RFC 3581 rport=."""
        via = request.top_via
        changed = False
        if via.host != peer.host:
            via.received = peer.host
            changed = True
        if "rport" in via.params and not via.params["rport"]:
            via.params["rport"] = str(peer.port)
            via.received = peer.host
            changed = True
        if changed:
            request.set_top_via(via)

    @staticmethod
    def response_peer(request: Request, peer: Peer) -> Peer:
        """Where responses go (RFC 3261 §18.2.2, RFC 3581 §4): the connection for streams; for
        datagrams the received address and rport, or the Via's sent-by port."""
        if peer.transport != "UDP":
            return peer
        via = request.top_via
        host = via.received or peer.host
        rport = via.params.get("rport")
        port = int(rport) if rport and rport.isdigit() else (via.port or 5060)
        return Peer("UDP", host, port)

    def _request(self, request: Request, peer: Peer) -> None:
        key = server_key(request)
        existing = self.servers.get(key)
        if request.method == "ACK":
            if isinstance(existing, InviteServerTransaction) and existing.final_sent and (
                    existing.last_response is not None and existing.last_response.status >= 300):
                existing.receive_request(request)
            elif self.tu is not None:
                self.tu.on_ack(request, peer)
            return
        if existing is not None:
            self.stats["absorbed"] += 1
            existing.receive_request(request)
            return
        tx = self.server_transaction(request, peer)
        if self.tu is None:
            tx.respond(make_response(request, 503))
            return
        if request.method == "CANCEL":
            invite = self.servers.get(server_key(request, "INVITE"))
            assert isinstance(tx, NonInviteServerTransaction)
            self.tu.on_cancel(request, tx,
                              invite if isinstance(invite, InviteServerTransaction) else None)
            return
        self.tu.on_request(request, tx, peer)

    def _response(self, response: Response, peer: Peer) -> None:
        via = response.top_via
        key = f"{via.branch}|{response.cseq.method if response.cseq.method != 'ACK' else 'INVITE'}"
        tx = self.clients.get(key)
        if tx is not None:
            tx.receive(response)
            return
        self.stats["stray_responses"] += 1
        if self.tu is not None:
            self.tu.on_stray_response(response, peer)

    # transactions
    def server_transaction(self, request: Request, peer: Peer) -> ServerTransaction:
        dest = self.response_peer(request, peer)
        transport = self.transports.get(peer.transport)
        reliable = bool(transport and transport.reliable)
        sender = self._sender(dest)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, sender, self.clock, reliable, self._forget_server)
        else:
            tx = NonInviteServerTransaction(request, sender, self.clock, reliable,
                                            self._forget_server)
        self.servers[tx.key] = tx
        tx.start()
        return tx

    def client_transaction(self, request: Request, peer: Peer, on_response: OnResponse,
                           on_timeout: OnTimeout) -> ClientTransaction:
        """Start a client transaction for a request whose top Via is already set."""
        transport = self.transports[peer.transport]
        sender = self._sender(peer)
        cls = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        tx = cls(request, sender, self.clock, transport.reliable, on_response, on_timeout,
                 self._forget_client)
        self.clients[tx.key] = tx
        tx.start()
        return tx

    def _sender(self, peer: Peer) -> Callable[[Message], None]:
        def send(message: Message) -> None:
            self.send(message, peer)

        return send

    def send(self, message: Message, peer: Peer) -> None:
        transport = self.transports.get(peer.transport)
        if transport is None:
            raise OSError(f"no {peer.transport} transport")
        transport.send(bytes(message), peer)

    def _forget_server(self, tx: Transaction) -> None:
        if self.servers.get(tx.key) is tx:
            del self.servers[tx.key]

    def _forget_client(self, tx: Transaction) -> None:
        if self.clients.get(tx.key) is tx:
            del self.clients[tx.key]
