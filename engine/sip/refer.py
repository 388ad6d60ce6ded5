"""A REFER we send inside an established dialog (RFC 3515): the transferee is asked to call the
Refer-To target, and reports how that call goes in NOTIFYs of the implicit ``refer``
subscription, each carrying a ``message/sipfrag`` status line (RFC 3420).

The REFER's own final response decides whether the transfer is attempted: 202 (or 200)
accepts it, a refusal (405, 501, 603, …) or a transaction timeout ends it at once. Each NOTIFY
is answered 200; a sipfrag final status (≥ 200) or ``Subscription-State: terminated`` ends the
subscription. The result runs once, as a :class:`ReferResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from engine.sip.build import make_response
from engine.sip.dialog import Dialog
from engine.sip.message import Request, Response
from engine.sip.server_transaction import ServerTransaction
from engine.sip.timers import TimerHandle

if TYPE_CHECKING:
    from engine.sip.ua import UserAgent

NOTIFY_WAIT_S = 32.0  # after the REFER is accepted, the longest wait for the final NOTIFY

ReferOutcome = Literal[
    "completed",  # the final sipfrag status is 2xx: the transferee reached the target
    "failed",  # the final sipfrag status is ≥ 300, or the subscription ended without a 2xx
    "refused",  # the REFER itself got a final ≥ 300 (405, 501, 603, …)
    "timeout",  # no final response to the REFER, or no final NOTIFY in time
]


@dataclass
class ReferResult:
    outcome: ReferOutcome
    refer_status: int  # the REFER's final status (408 when it timed out)
    final_status: int | None = None  # the status code of the last sipfrag status line
    final_line: str | None = None  # that status line, e.g. "SIP/2.0 200 OK"
    progress: list[str] = field(default_factory=list)  # every sipfrag status line, in order

    @property
    def accepted(self) -> bool:
        return 200 <= self.refer_status < 300


OnResult = Callable[[ReferResult], None]
OnProgress = Callable[[int, str], None]  # a sipfrag status code and its status line


def parse_sipfrag(body: bytes) -> tuple[int, str] | None:
    """The status code and status line a ``message/sipfrag`` body starts with, if any."""
    line = body.decode("utf-8", "replace").lstrip().split("\n", 1)[0].strip()
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].upper().startswith("SIP/") or not parts[1].isdigit():
        return None
    return int(parts[1]), line


def subscription_terminated(request: Request) -> bool:
    state = (request.header("Subscription-State") or "").split(";", 1)[0]
    return state.strip().lower() == "terminated"


class Refer:
    """One outstanding REFER in ``dialog``. ``on_progress`` runs for each sipfrag status line,
    ``on_result`` once at the end."""

    def __init__(self, ua: UserAgent, dialog: Dialog, refer_to: str, on_result: OnResult, *,
                 on_progress: OnProgress | None = None, referred_by: str | None = None,
                 notify_wait_s: float = NOTIFY_WAIT_S) -> None:
        self.ua = ua
        self.dialog = dialog
        self.refer_to = refer_to if refer_to.lstrip().startswith("<") else f"<{refer_to}>"
        self.referred_by = referred_by
        self.on_result = on_result
        self.on_progress = on_progress or (lambda _status, _line: None)
        self.notify_wait_s = notify_wait_s
        self.request: Request | None = None
        self.refer_status: int | None = None
        self.progress: list[str] = []
        self.final: tuple[int, str] | None = None
        self.result: ReferResult | None = None
        self._timer: TimerHandle | None = None

    @property
    def pending(self) -> bool:
        return self.result is None

    def start(self) -> None:
        dialog = self.dialog
        request = dialog.create_request("REFER", self.ua.via(dialog.peer.transport))
        request.headers.append(("Refer-To", self.refer_to))
        if self.referred_by:
            request.headers.append(("Referred-By", self.referred_by))
        request.headers += [("Allow", self.ua.allow), ("Supported", "")]
        self.request = request
        # NOTIFYs may overtake the 202 on UDP: listen from the start
        self.ua.subscribe_notify(dialog.id, self.receive_notify)
        self.ua.endpoint.client_transaction(request, dialog.peer, self._on_response,
                                            self._on_timeout)

    # the REFER transaction
    def _on_response(self, response: Response) -> None:
        if response.status < 200 or self.refer_status is not None:
            return
        self.refer_status = response.status
        if response.status >= 300:
            self._done("refused")
            return
        if self.final is not None:  # the final NOTIFY came first
            self._finish_from_notify()
            return
        self._timer = self.ua.endpoint.clock.call_later(self.notify_wait_s, self._notify_timeout)

    def _on_timeout(self) -> None:
        if self.refer_status is None:
            self.refer_status = 408
            self._done("timeout")

    def _notify_timeout(self) -> None:
        self._done("timeout")

    # the implicit subscription (called by the UserAgent)
    def receive_notify(self, request: Request, tx: ServerTransaction) -> None:
        event = (request.header("Event") or "").split(";", 1)[0].strip().lower()
        if event != "refer":
            tx.respond(make_response(request, 489, extra=[("Allow-Events", "refer")]))
            return
        tx.respond(make_response(request, 200))
        if self.result is not None:
            return
        status = parse_sipfrag(request.body)
        if status is not None:
            self.progress.append(status[1])
            self.on_progress(*status)
            if status[0] >= 200:
                self.final = status
        if self.final is None and subscription_terminated(request):
            last = parse_sipfrag(self.progress[-1].encode()) if self.progress else None
            self.final = last or (0, "")
        if self.final is not None and self.refer_status is not None:
            self._finish_from_notify()

    def _finish_from_notify(self) -> None:
        assert self.final is not None
        code = self.final[0]
        self._done("completed" if 200 <= code < 300 else "failed")

    def _done(self, outcome: ReferOutcome) -> None:
        if self.result is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.ua.unsubscribe_notify(self.dialog.id, self.receive_notify)
        final = self.final if self.final is not None and self.final[0] else None
        if final is None and self.progress:
            final = parse_sipfrag(self.progress[-1].encode())
        self.result = ReferResult(outcome, self.refer_status or 408,
                                  final[0] if final else None, final[1] if final else None,
                                  list(self.progress))
        self.on_result(self.result)


__all__ = ["NOTIFY_WAIT_S", "OnProgress", "OnResult", "Refer", "ReferOutcome", "ReferResult",
           "parse_sipfrag"]
