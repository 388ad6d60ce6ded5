"""The user agent core (RFC 3261 §8.2, §12, §13): routes requests to calls and dialogs, answers
OPTIONS, refuses what it does not implement, and owns the listening transports."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from typing import Protocol

from engine.sip.build import make_response
from engine.sip.dialog import Dialog
from engine.sip.endpoint import Endpoint
from engine.sip.message import Request, Response, sdp_part
from engine.sip.server_transaction import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
)
from engine.sip.timers import Clock, LoopClock
from engine.sip.transport import Peer, TcpTransport, UdpTransport
from engine.sip.uas import IncomingCall

log = logging.getLogger(__name__)

ALLOWED = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "NOTIFY")
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()
# Port 0: how many free UDP ports to try before one's TCP twin is free as well
FREE_PORT_TRIES = 20
SUPPORTED_SCHEMES = frozenset({"sip", "sips", "tel"})
SDP = "application/sdp"
DialogId = tuple[str, str, str]
NotifyHandler = Callable[[Request, ServerTransaction], None]


class DialogOwner(Protocol):
    """A call owning a dialog (incoming or outgoing): it takes the dialog's in-dialog requests."""

    @property
    def dialog(self) -> Dialog | None: ...

    def receive_bye(self, request: Request, tx: ServerTransaction) -> None: ...

    def receive_info(self, request: Request, tx: ServerTransaction) -> None: ...

    def receive_reinvite(self, request: Request, tx: InviteServerTransaction) -> None: ...


class UserAgent:
    """One SIP identity on one host/port. ``on_invite`` receives each new :class:`IncomingCall`
    (once, however often the INVITE is retransmitted)."""

    def __init__(self, endpoint: Endpoint, on_invite: Callable[[IncomingCall], None]) -> None:
        self.endpoint = endpoint
        self.on_invite = on_invite
        self.dialogs: dict[DialogId, DialogOwner] = {}
        self.invites: dict[str, IncomingCall] = {}
        self.notify_handlers: dict[DialogId, NotifyHandler] = {}  # a REFER's subscription
        self.allow = ", ".join(ALLOWED)
        endpoint.tu = self

    @classmethod
    async def listen(cls, host: str, port: int, on_invite: Callable[[IncomingCall], None],
                     clock: Clock | None = None, tcp: bool = True) -> UserAgent:
        """Listen on UDP and (by default) TCP at the same port; port 0 picks a free one."""
        endpoint = Endpoint(clock or LoopClock(), host)
        stream: TcpTransport | None = None
        for attempt in range(1, FREE_PORT_TRIES + 1):
            udp = UdpTransport(endpoint.receive)
            await udp.listen(host, port)
            if not tcp:
                break
            stream = TcpTransport(endpoint.receive)
            try:
                await stream.listen(host, udp.local_addr[1])
            except OSError as exc:
                udp.close()
                # the free UDP port's TCP twin can be some connection's local port: pick again
                if port != 0 or exc.errno != errno.EADDRINUSE or attempt == FREE_PORT_TRIES:
                    raise
                continue
            break
        endpoint.add_transport(udp)
        if stream is not None:
            endpoint.add_transport(stream)
        return cls(endpoint, on_invite)

    def close(self) -> None:
        for transport in self.endpoint.transports.values():
            transport.close()

    @property
    def port(self) -> int:
        return self.endpoint.port("UDP")

    def contact(self, transport: str = "UDP") -> str:
        suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
        return f"<sip:switchboard@{self.endpoint.host}:{self.endpoint.port(transport)}{suffix}>"

    def via(self, transport: str = "UDP") -> str:
        return self.endpoint.via(transport)

    def register_dialog(self, dialog_id: DialogId, owner: DialogOwner) -> None:
        self.dialogs[dialog_id] = owner

    def forget_dialog(self, dialog_id: DialogId) -> None:
        self.dialogs.pop(dialog_id, None)

    def subscribe_notify(self, dialog_id: DialogId, handler: NotifyHandler) -> None:
        """NOTIFYs in this dialog go to ``handler`` (the implicit subscription of a REFER)."""
        self.notify_handlers[dialog_id] = handler

    def unsubscribe_notify(self, dialog_id: DialogId, handler: NotifyHandler) -> None:
        if self.notify_handlers.get(dialog_id) == handler:
            del self.notify_handlers[dialog_id]

    def forget_invite(self, key: str) -> None:
        self.invites.pop(key, None)

    @staticmethod
    def _dialog_id(request: Request) -> DialogId:
        return (request.call_id, request.to_tag or "", request.from_tag or "")

    # TransactionUser
    def on_request(self, request: Request, tx: ServerTransaction, peer: Peer) -> None:
        method = request.method
        unsupported = self._unsupported(request)
        if method not in ALLOWED:
            tx.respond(make_response(request, 501, extra=[("Allow", self.allow)]))
            return
        if request.uri.split(":", 1)[0].lower() not in SUPPORTED_SCHEMES:
            tx.respond(make_response(request, 416))  # RFC 3261 §8.2.2.1
            return
        if unsupported:
            tx.respond(make_response(request, 420, extra=[("Unsupported", ", ".join(unsupported))]))
            return
        if method == "INVITE":
            refusal = self._content_refusal(request)
            if refusal is not None:
                tx.respond(refusal)
                return
        if method == "OPTIONS":
            tx.respond(make_response(request, 200, extra=[
                ("Allow", self.allow), ("Accept", "application/sdp"), ("Supported", "")]))
            return
        if request.to_tag:
            self._in_dialog(request, tx)
            return
        if method == "INVITE":
            assert isinstance(tx, InviteServerTransaction)
            call = IncomingCall(self, request, tx, peer)
            self.invites[tx.key] = call
            try:
                self.on_invite(call)
            except Exception:
                log.exception("INVITE handler failed for %s", request.call_id)
                call.reject(500, "error")
            return
        # BYE/INFO outside a dialog, or a stray request
        tx.respond(make_response(request, 481))

    def _in_dialog(self, request: Request, tx: ServerTransaction) -> None:
        owner = self.dialogs.get(self._dialog_id(request))
        if owner is None:
            tx.respond(make_response(request, 481))
            return
        dialog = owner.dialog
        if dialog is not None and dialog.remote_seq is not None and request.method != "ACK":
            if request.cseq.seq < dialog.remote_seq:
                tx.respond(make_response(request, 500, extra=[("Retry-After", "1")]))
                return
            dialog.remote_seq = request.cseq.seq
        if request.method == "BYE":
            owner.receive_bye(request, tx)
        elif request.method == "INFO":
            owner.receive_info(request, tx)
        elif request.method == "INVITE":
            assert isinstance(tx, InviteServerTransaction)
            owner.receive_reinvite(request, tx)
        elif request.method == "NOTIFY":
            handler = self.notify_handlers.get(self._dialog_id(request))
            if handler is None:
                tx.respond(make_response(request, 481))  # no such subscription (RFC 6665)
            else:
                handler(request, tx)
        else:
            tx.respond(make_response(request, 405, extra=[("Allow", self.allow)]))

    def _unsupported(self, request: Request) -> list[str]:
        if request.method in ("ACK", "CANCEL"):
            return []
        required = [v.strip() for value in request.header_values("Require")
                    for v in value.split(",") if v.strip()]
        return [r for r in required if r not in SUPPORTED_EXTENSIONS]

    @staticmethod
    def _content_refusal(request: Request) -> Response | None:
        """RFC 3261 §8.2.3: 415 for a body we cannot read (its type or encoding), 406 when the
        caller accepts no SDP in the answer (RFC 4475 §3.3.6, §3.3.15)."""
        if request.body:
            encoding = (request.header("Content-Encoding") or "identity").strip().lower()
            if encoding != "identity":
                return make_response(request, 415, extra=[("Accept-Encoding", "identity")])
            if sdp_part(request) is None:
                return make_response(request, 415, extra=[("Accept", SDP)])
        accept = request.header_values("Accept")
        if accept:
            kinds = {v.split(";", 1)[0].strip().lower() for value in accept
                     for v in value.split(",")}
            if kinds and not kinds & {SDP, "application/*", "*/*"}:
                return make_response(request, 406, extra=[("Accept", SDP)])
        return None

    def on_ack(self, request: Request, peer: Peer) -> None:
        owner = self.dialogs.get(self._dialog_id(request))
        if owner is None:  # a sloppy ACK without the To tag: match the INVITE by Call-ID and CSeq
            seq = request.cseq.seq
            owner = next((c for c in self.invites.values() if c.call_id == request.call_id
                          and c.invite.cseq.seq == seq), None)
        if owner is not None and hasattr(owner, "receive_ack"):
            owner.receive_ack(request)
        else:
            log.debug("ACK matched no dialog: %s", request.call_id)

    def on_cancel(self, request: Request, tx: NonInviteServerTransaction,
                  invite: InviteServerTransaction | None) -> None:
        call = self.invites.get(invite.key) if invite is not None else None
        if invite is None:
            tx.respond(make_response(request, 481))
            return
        tx.respond(make_response(request, 200))
        if call is not None:
            call.receive_cancel()

    def on_stray_response(self, response: Response, peer: Peer) -> None:
        owner = self.dialogs.get((response.call_id, response.from_tag or "", response.to_tag or ""))
        if owner is not None and hasattr(owner, "receive_stray_response"):
            owner.receive_stray_response(response)
