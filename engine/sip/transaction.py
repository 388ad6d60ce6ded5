"""What every RFC 3261 §17 transaction shares: its key, its state, its named timers."""

from __future__ import annotations

import abc
import enum
import logging
from collections.abc import Callable

from engine.sip.build import BRANCH_COOKIE
from engine.sip.message import Message, Request
from engine.sip.timers import Clock, TimerHandle

log = logging.getLogger(__name__)

Send = Callable[[Message], None]


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    ACCEPTED = "accepted"  # RFC 6026: 2xx sent/received on an INVITE, awaiting ACK or strays
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def server_key(request: Request, method: str | None = None) -> str:
    """The §17.2.3 matching key of a request: branch, sent-by and method (ACK matches INVITE).
    Requests without the RFC 3261 branch cookie, or with the cookie alone (RFC 4475 §3.2.1), fall
    back to the §17.2.3 RFC 2543 rule."""
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    sent_by = f"{via.host}:{via.port or 5060}"
    branch = via.branch or ""
    if branch.startswith(BRANCH_COOKIE) and len(branch) > len(BRANCH_COOKIE):
        return f"{branch}|{sent_by}|{method}"
    cseq = request.cseq.seq
    return f"2543|{request.call_id}|{cseq}|{request.from_tag}|{request.to_tag or ''}|{sent_by}|{method}"


def client_key(branch: str, method: str) -> str:
    """§17.1.3: a response matches by the top Via branch and the CSeq method."""
    return f"{branch}|{'INVITE' if method == 'ACK' else method}"


class Transaction(abc.ABC):
    """A state, a set of running named timers, and a hook run once on termination."""

    def __init__(self, request: Request, send: Send, clock: Clock, reliable: bool,
                 on_terminated: Callable[[Transaction], None] | None = None) -> None:
        self.request = request
        self._send = send
        self.clock = clock
        self.reliable = reliable
        self.state = State.TRYING
        self._timers: dict[str, TimerHandle] = {}
        self._on_terminated = on_terminated
        self.key = ""

    def _start_timer(self, name: str, delay: float, fire: Callable[[], None]) -> None:
        self._stop_timer(name)

        def run() -> None:
            self._timers.pop(name, None)
            if self.state is not State.TERMINATED:
                fire()

        self._timers[name] = self.clock.call_later(delay, run)

    def _stop_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    @abc.abstractmethod
    def start(self) -> None:
        """Enter the first state: a client sends its request, an INVITE server its 100 Trying."""

    def timer_running(self, name: str) -> bool:
        return name in self._timers

    def _transmit(self, message: Message) -> None:
        try:
            self._send(message)
        except OSError as exc:  # §17.1.4 / §17.2.4: a transport error ends the transaction
            log.warning("transport error on %s: %s", self.key, exc)
            self._transport_error()

    def _transport_error(self) -> None:
        self.terminate()

    def terminate(self) -> None:
        if self.state is State.TERMINATED:
            return
        self.state = State.TERMINATED
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._on_terminated is not None:
            self._on_terminated(self)
