"""A re-INVITE we send inside an established dialog (RFC 3261 §14.1): a new SDP offer (hold with
a=sendonly, resume with a=sendrecv), the ACK of its 2xx (again for each retransmitted 2xx), and
its outcome. A non-2xx final leaves the session as it was (§14.1); the INVITE client
transaction ACKs it itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.sip.build import USER_AGENT
from engine.sip.dialog import Dialog
from engine.sip.message import Request, Response

if TYPE_CHECKING:
    from engine.sip.ua import UserAgent

OnResult = Callable[[int, bytes], None]  # final status (408 on timeout), answer body (2xx)


class ReInvite:
    """One outstanding re-INVITE; ``on_result`` runs once, with the final status and answer."""

    def __init__(self, ua: UserAgent, dialog: Dialog, offer: bytes, on_result: OnResult) -> None:
        self.ua = ua
        self.dialog = dialog
        self.offer = offer
        self.on_result = on_result
        self.request: Request | None = None
        self.status: int | None = None
        self._ack: Request | None = None

    @property
    def pending(self) -> bool:
        return self.status is None

    def start(self) -> None:
        dialog = self.dialog
        request = dialog.create_request("INVITE", self.ua.via(dialog.peer.transport), self.offer)
        request.headers += [("Allow", self.ua.allow), ("Supported", "")]
        self.request = request
        self.ua.endpoint.client_transaction(request, dialog.peer, self._on_response,
                                            self._on_timeout)

    def _on_response(self, response: Response) -> None:
        if response.status < 200:
            return
        if response.status >= 300:
            self._done(response.status, b"")
            return
        if self._ack is None:
            self._ack = self._build_ack()
        self.ua.endpoint.send(self._ack, self.dialog.peer)
        self._done(response.status, response.body)

    def _build_ack(self) -> Request:
        """§13.2.2.4: the ACK of a 2xx is a new transaction with the INVITE's CSeq number."""
        assert self.request is not None
        seq = self.request.cseq.seq
        ack = Request(method="ACK", uri=self.dialog.remote_target)
        ack.headers.append(("Via", self.ua.via(self.dialog.peer.transport)))
        for route in self.dialog.route_set:
            ack.headers.append(("Route", route))
        ack.headers += [
            ("Max-Forwards", "70"),
            ("From", self.request.header("From") or ""),
            ("To", self.request.header("To") or ""),
            ("Call-ID", self.dialog.call_id),
            ("CSeq", f"{seq} ACK"),
            ("User-Agent", USER_AGENT),
        ]
        return ack

    def _on_timeout(self) -> None:
        self._done(408, b"")

    def _done(self, status: int, body: bytes) -> None:
        if self.status is not None:
            return
        self.status = status
        self.on_result(status, body)


__all__ = ["OnResult", "ReInvite"]
