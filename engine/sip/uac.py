"""The UAC side of a call (RFC 3261 §13.2, §9.1): an outbound INVITE with an SDP offer, its
provisional responses, digest authentication on 401/407, CANCEL when ringing lasts too long,
the ACK of a 2xx, and BYE from either side.

Non-2xx finals are ACKed by the INVITE client transaction; a 2xx is ACKed here (§13.2.2.4),
again for each retransmitted 2xx. The outcome keeps the SIP status: busy (486, 600), no_answer
(ringing timeout, 408, 480, Timer B), canceled, failed (any other final ≥ 300).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.sip.auth import AuthError, Credentials, DigestSession
from engine.sip.build import USER_AGENT, make_response, new_call_id, new_tag
from engine.sip.dialog import Dialog
from engine.sip.message import Request, Response, dtmf_relay_signals
from engine.sip.server_transaction import InviteServerTransaction, ServerTransaction
from engine.sip.timers import T1, TimerHandle
from engine.sip.transport import Peer

if TYPE_CHECKING:
    from engine.sip.client_transaction import ClientTransaction
    from engine.sip.ua import UserAgent

log = logging.getLogger(__name__)

BUSY = frozenset({486, 600})
NO_ANSWER = frozenset({408, 480})
CANCEL_WAIT_S = 64 * T1  # §9.1: no final this long after CANCEL: the INVITE is over

OnEvent = Callable[[str, int | None, str | None], None]


def outcome_for(status: int, *, ring_timeout: bool = False, canceled: bool = False) -> str:
    """The call status a final response (or its absence) maps to."""
    if 200 <= status < 300:
        return "answered"
    if status in BUSY:
        return "busy"
    if status in NO_ANSWER or ring_timeout:
        return "no_answer"
    if status == 487 and canceled:
        return "canceled"
    return "failed"


def _ignore_event(_type: str, _status: int | None, _detail: str | None) -> None:
    return None


class OutgoingCall:
    """One outbound INVITE and, once answered, its dialog. States: calling, proceeding (a 1xx
    came), answered (2xx ACKed), ended."""

    def __init__(self, ua: UserAgent, target: str, peer: Peer, offer: bytes, *,
                 from_uri: str, to_uri: str | None = None, display_name: str | None = None,
                 credentials: Credentials | None = None, ringing_timeout_s: float = 30.0,
                 routes: list[str] | None = None) -> None:
        self.ua = ua
        self.target = target
        self.peer = peer
        self.offer = offer
        self.local_tag = new_tag()
        self.call_id = new_call_id(ua.endpoint.host)
        name = f'"{display_name}" ' if display_name else ""
        self.from_header = f"{name}<{from_uri}>;tag={self.local_tag}"
        self.to_header = f"<{to_uri or target}>"
        self.routes = list(routes or [])
        self.auth = DigestSession(credentials) if credentials is not None else None
        self.ringing_timeout_s = ringing_timeout_s
        self.seq = 1
        self.state = "calling"
        self.invite: Request | None = None
        self.dialog: Dialog | None = None
        self.answer: bytes = b""
        self.outcome: str | None = None
        self.status: int | None = None  # the final (or timeout) status the outcome came from
        self.reason: str | None = None
        self.end_reason: str | None = None
        self.on_event: OnEvent = _ignore_event
        self.on_answered: Callable[[bytes], None] = lambda _sdp: None
        self.on_ended: Callable[[str], None] = lambda _reason: None
        self.on_dtmf: Callable[[str], None] = lambda _digit: None
        self.on_reoffer: Callable[[bytes], bytes | None] = lambda _offer: None
        self._tx: ClientTransaction | None = None
        self._ack: Request | None = None
        self._provisional = False
        self._cancel_wanted = False
        self._canceled_by_us = False
        self._ring_timed_out = False
        self._cancel_sent = False
        self._timers: list[TimerHandle] = []

    # placing the call
    def start(self) -> None:
        self._send_invite()
        self._timers.append(self.ua.endpoint.clock.call_later(self.ringing_timeout_s,
                                                              self._ring_timeout))

    def _build_invite(self) -> Request:
        transport = self.peer.transport
        request = Request(method="INVITE", uri=self.target)
        request.headers.append(("Via", self.ua.via(transport)))
        for route in self.routes:
            request.headers.append(("Route", route))
        request.headers += [
            ("Max-Forwards", "70"),
            ("From", self.from_header),
            ("To", self.to_header),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.seq} INVITE"),
            ("Contact", self.ua.contact(transport)),
            ("Allow", self.ua.allow),
            ("Supported", ""),
            ("User-Agent", USER_AGENT),
            ("Content-Type", "application/sdp"),
        ]
        request.body = self.offer
        return request

    def _send_invite(self, previous: Request | None = None) -> None:
        invite = self._build_invite()
        if previous is not None:
            for name in ("Authorization", "Proxy-Authorization"):
                for value in previous.header_values(name):
                    invite.set_header(name, value)
        self.invite = invite
        self._provisional = False
        self.on_event("invite_sent", None, self.target)
        self._tx = self.ua.endpoint.client_transaction(invite, self.peer, self._on_response,
                                                       self._on_timeout)

    def _on_response(self, response: Response) -> None:
        status = response.status
        if response.cseq.seq != self.seq:
            return  # a late response to a request we already replaced
        if status < 200:
            self._provisional = True
            if self.state == "calling":
                self.state = "proceeding"
            self.on_event("response_received", status, response.reason)
            if self._cancel_wanted:
                self._send_cancel()
            return
        if status < 300:
            self._on_success(response)
            return
        self.on_event("response_received", status, response.reason)
        if status in (401, 407) and self.auth is not None and self.state != "ended" \
                and not self._cancel_wanted:
            assert self.invite is not None
            retry = self._build_invite()
            try:
                self.auth.authorize(retry, response)
            except AuthError as exc:
                log.info("call %s: %s", self.call_id, exc)
                self.on_event("auth_failed", status, str(exc))
                self._finish(status, response.reason, "auth_failed")
                return
            self.seq += 1
            retry.set_header("CSeq", f"{self.seq} INVITE")
            self.on_event("auth_challenge", status, response.reason)
            self.invite = retry
            self._provisional = False
            self._tx = self.ua.endpoint.client_transaction(retry, self.peer, self._on_response,
                                                           self._on_timeout)
            return
        self._finish(status, response.reason, "rejected")

    def _on_success(self, response: Response) -> None:
        assert self.invite is not None
        if self._ack is not None and self.dialog is not None:
            self.ua.endpoint.send(self._ack, self.dialog.peer)  # a retransmitted 2xx
            return
        self.on_event("response_received", response.status, response.reason)
        dialog = Dialog.as_uac(self.invite, response, self.peer)
        self.dialog = dialog
        self._ack = dialog.create_request("ACK", self.ua.via(dialog.peer.transport))
        self.ua.endpoint.send(self._ack, dialog.peer)
        self.on_event("ack_sent", None, None)
        if self.auth is not None:
            self.auth.accepted()
        if self.state == "ended":  # answered after we gave up: end the dialog we just got
            self._bye()
            return
        self.ua.register_dialog(dialog.id, self)
        self._cancel_timers()
        self.state = "answered"
        self.outcome, self.status, self.reason = "answered", response.status, response.reason
        self.answer = response.body
        self.on_answered(response.body)

    def _on_timeout(self) -> None:
        if self.state in ("calling", "proceeding"):
            self.on_event("invite_timeout", 408, "no final response")
            self._finish(408, "Request Timeout", "no_answer")

    # ringing timeout and CANCEL
    def _ring_timeout(self) -> None:
        if self.state not in ("calling", "proceeding"):
            return
        self._ring_timed_out = True
        self.on_event("ringing_timeout", None, f"{self.ringing_timeout_s:g} s")
        self.cancel()

    def cancel(self) -> None:
        """Give up before an answer: CANCEL once a provisional response came (§9.1)."""
        if self.state not in ("calling", "proceeding") or self._cancel_wanted:
            return
        self._cancel_wanted = True
        self._canceled_by_us = True
        if self._provisional:
            self._send_cancel()

    def _send_cancel(self) -> None:
        invite = self.invite
        if invite is None or self.state == "ended" or self._cancel_sent:
            return
        self._cancel_sent = True
        cancel = Request(method="CANCEL", uri=invite.uri)
        cancel.headers.append(("Via", invite.header_values("Via")[0]))
        for route in invite.header_values("Route"):
            cancel.headers.append(("Route", route))
        cancel.headers += [("Max-Forwards", "70"), ("From", invite.header("From") or ""),
                           ("To", invite.header("To") or ""), ("Call-ID", invite.call_id),
                           ("CSeq", f"{invite.cseq.seq} CANCEL"), ("User-Agent", USER_AGENT)]
        self.on_event("cancel_sent", None, None)

        def on_response(response: Response) -> None:
            if response.status >= 200:
                self.on_event("response_received", response.status, f"{response.reason} (CANCEL)")

        self.ua.endpoint.client_transaction(cancel, self.peer, on_response, lambda: None)
        self._timers.append(self.ua.endpoint.clock.call_later(CANCEL_WAIT_S, self._cancel_expired))

    def _cancel_expired(self) -> None:
        if self.state in ("calling", "proceeding"):
            if self._tx is not None:
                self._tx.terminate()
            self._finish(408, "no final response after CANCEL", "no_answer")

    # ending
    def _finish(self, status: int, reason: str, end_reason: str) -> None:
        if self.state == "ended":
            return
        self.status, self.reason = status, reason
        self.outcome = outcome_for(status, ring_timeout=self._ring_timed_out,
                                   canceled=self._canceled_by_us)
        if end_reason == "auth_failed":
            self.outcome = "failed"
        self._end(end_reason if end_reason != "rejected" else self.outcome)

    def hangup(self, reason: str = "agent_hangup") -> None:
        """End the call from our side: CANCEL before an answer, BYE after (retransmitted by
        Timer E until a final response or Timer F)."""
        if self.state in ("calling", "proceeding"):
            self.cancel()
            return
        if self.state == "ended" or self.dialog is None:
            return
        self._bye()
        self._end(reason)

    def _bye(self) -> None:
        dialog = self.dialog
        assert dialog is not None
        bye = dialog.create_request("BYE", self.ua.via(dialog.peer.transport))
        self.on_event("bye_sent", None, None)

        def on_response(response: Response) -> None:
            if response.status >= 200:
                self.on_event("response_received", response.status, f"{response.reason} (BYE)")

        def on_timeout() -> None:
            self.on_event("bye_timeout", 408, "no response to BYE")

        self.ua.endpoint.client_transaction(bye, dialog.peer, on_response, on_timeout)

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        self._cancel_timers()
        if self.dialog is not None:
            self.ua.forget_dialog(self.dialog.id)
        self.on_ended(reason)

    # what the peer does in the dialog (called by the UserAgent)
    def receive_bye(self, request: Request, tx: ServerTransaction) -> None:
        tx.respond(make_response(request, 200))
        self.on_event("bye_received", None, None)
        self._end("callee_hangup")

    def receive_info(self, request: Request, tx: ServerTransaction) -> None:
        tx.respond(make_response(request, 200))
        for signal in dtmf_relay_signals(request):
            self.on_event("dtmf_info", None, signal)
            self.on_dtmf(signal[:1])

    def receive_reinvite(self, request: Request, tx: InviteServerTransaction) -> None:
        answer = self.on_reoffer(request.body) if request.body else None
        if answer is None or self.dialog is None:
            tx.respond(make_response(request, 488))
            return
        tx.respond(make_response(request, 200, body=answer,
                                 extra=[("Contact", self.dialog.local_contact)]))
        self.on_event("reinvite_answered", 200, None)

    def receive_stray_response(self, response: Response) -> None:
        if 200 <= response.status < 300 and response.cseq.method == "INVITE" \
                and self._ack is not None and self.dialog is not None:
            self.ua.endpoint.send(self._ack, self.dialog.peer)
