"""The UAS side of a call (RFC 3261 §13.3): an inbound INVITE answered, ringing, rejected or
cancelled, its dialog confirmed by ACK, and ended by BYE from either side."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.sip.build import make_response, new_tag
from engine.sip.dialog import Dialog
from engine.sip.message import Request, Response, dtmf_relay_signals, sdp_part, uri_user
from engine.sip.reinvite import OnResult, ReInvite
from engine.sip.server_transaction import InviteServerTransaction, ServerTransaction
from engine.sip.transport import Peer

if TYPE_CHECKING:
    from engine.sip.ua import UserAgent

log = logging.getLogger(__name__)

OnEvent = Callable[[str, int | None, str | None], None]  # event type, SIP status, detail


def _ignore_event(_type: str, _status: int | None, _detail: str | None) -> None:
    return None


def _ignore_end(_reason: str) -> None:
    return None


class IncomingCall:
    """One inbound INVITE and, once answered, its dialog. States: incoming, early, answered
    (2xx sent), confirmed (ACKed), ended."""

    def __init__(self, ua: UserAgent, invite: Request, tx: InviteServerTransaction,
                 peer: Peer) -> None:
        self.ua = ua
        self.invite = invite
        self.tx = tx
        self.peer = peer
        self.received_at = time.monotonic()
        self.local_tag = new_tag()
        self.state = "incoming"
        self.dialog: Dialog | None = None
        self.end_reason: str | None = None
        self.on_event: OnEvent = _ignore_event
        self.on_confirmed: Callable[[], None] = lambda: None
        self.on_ended: Callable[[str], None] = _ignore_end
        self.on_dtmf: Callable[[str], None] = lambda _digit: None
        self.on_reoffer: Callable[[bytes], bytes | None] = lambda _offer: None
        self.reinvite_out: ReInvite | None = None  # the re-INVITE we sent last
        self._reinvite_in: InviteServerTransaction | None = None  # the peer's last re-INVITE
        tx.on_ack_timeout = self._ack_timeout
        tx.on_ack = self._acked

    # what the INVITE says
    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def user(self) -> str:
        """The Request-URI user part, unescaped: the dialled number."""
        return uri_user(self.invite.request_uri)

    @property
    def caller(self) -> str:
        uri = self.invite.from_addr.uri
        return uri.user or uri.host

    @property
    def offer(self) -> bytes:
        """The SDP offer: the body, or its SDP part when the body is multipart."""
        return sdp_part(self.invite) or b""

    # the application's answers
    def _send(self, status: int, body: bytes = b"", extra: list[tuple[str, str]] | None = None) -> Response:
        response = make_response(self.invite, status, to_tag=self.local_tag, body=body, extra=extra)
        self.tx.respond(response)
        self.on_event("response_sent", status, response.reason)
        return response

    def ring(self) -> None:
        if self.state == "incoming":
            self.state = "early"
            self._send(180)

    def answer(self, sdp: bytes) -> None:
        if self.state not in ("incoming", "early"):
            return
        contact = self.ua.contact(self.peer.transport)
        response = self._send(200, sdp, extra=[("Contact", contact), ("Allow", self.ua.allow),
                                               ("Supported", "")])
        self.dialog = Dialog.as_uas(self.invite, response, self.peer, contact)
        self.ua.register_dialog(self.dialog.id, self)
        self.state = "answered"

    def reject(self, status: int, reason: str = "rejected") -> None:
        if self.state not in ("incoming", "early"):
            return
        self._send(status)
        self._end(reason)

    def hangup(self, reason: str = "agent_hangup") -> None:
        """End the call from our side: BYE when answered (retransmitted by Timer E until a final
        response or Timer F), 480 before."""
        if self.state in ("incoming", "early"):
            self.reject(480, reason)
            return
        if self.state == "ended" or self.dialog is None:
            return
        dialog = self.dialog
        bye = dialog.create_request("BYE", self.ua.via(dialog.peer.transport))
        self.on_event("bye_sent", None, None)

        def on_response(response: Response) -> None:
            if response.status >= 200:
                self.on_event("response_received", response.status, response.reason)

        def on_timeout() -> None:
            self.on_event("bye_timeout", 408, "no response to BYE")

        self.ua.endpoint.client_transaction(bye, dialog.peer, on_response, on_timeout)
        self._end(reason)

    def reinvite(self, offer: bytes, on_result: OnResult) -> bool:
        """Send a re-INVITE with a new offer (hold, resume); False when the dialog is not
        confirmed or another offer is still outstanding (§14.1)."""
        if self.state != "confirmed" or self.dialog is None or (
                self.reinvite_out is not None and self.reinvite_out.pending):
            return False

        def done(status: int, body: bytes) -> None:
            self.on_event("reinvite_response", status, None)
            on_result(status, body)

        self.reinvite_out = ReInvite(self.ua, self.dialog, offer, done)
        self.on_event("reinvite_sent", None, None)
        self.reinvite_out.start()
        return True

    # what the peer does (called by the UserAgent)
    def _acked(self, request: Request) -> None:
        if self.state == "answered":
            self.state = "confirmed"
            self.on_event("ack_received", None, None)
            self.on_confirmed()

    def receive_ack(self, request: Request) -> None:
        reinvite = self._reinvite_in
        if reinvite is not None and request.cseq.seq == reinvite.request.cseq.seq:
            reinvite.receive_ack(request)  # the ACK of our 2xx to the peer's re-INVITE
            return
        self.tx.receive_ack(request)

    def receive_bye(self, request: Request, tx: ServerTransaction) -> None:
        tx.respond(make_response(request, 200))
        self.on_event("bye_received", None, None)
        self.on_event("response_sent", 200, "OK (BYE)")
        self._end("caller_hangup")

    def receive_cancel(self) -> None:
        self.on_event("cancel_received", None, None)
        if self.state in ("incoming", "early"):
            self._send(487)
            self._end("canceled")

    def receive_info(self, request: Request, tx: ServerTransaction) -> None:
        tx.respond(make_response(request, 200))
        for signal in dtmf_relay_signals(request):
            self.on_event("dtmf_info", None, signal)
            self.on_dtmf(signal[:1])

    def receive_reinvite(self, request: Request, tx: InviteServerTransaction) -> None:
        if self.reinvite_out is not None and self.reinvite_out.pending:
            tx.respond(make_response(request, 491))  # glare: both sides offered (§14.2)
            return
        answer = self.on_reoffer(request.body) if request.body else None
        if answer is None:
            tx.respond(make_response(request, 488))
            return
        assert self.dialog is not None
        self.dialog.remote_seq = request.cseq.seq
        self._reinvite_in = tx
        tx.respond(make_response(request, 200, body=answer,
                                 extra=[("Contact", self.dialog.local_contact)]))
        self.on_event("reinvite_answered", 200, None)

    def _ack_timeout(self) -> None:
        if self.state == "answered":
            self.on_event("ack_timeout", 408, "no ACK for 200")
            self.hangup("error")
        elif self.state != "ended":
            self._end("error")

    def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        if self.dialog is not None:
            self.ua.forget_dialog(self.dialog.id)
        self.ua.forget_invite(self.tx.key)
        self.on_ended(reason)
