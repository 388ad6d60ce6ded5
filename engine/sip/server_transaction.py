"""RFC 3261 §17.2 server transactions: INVITE (Timers G, H, I, L; 2xx retransmitted until ACK)
and non-INVITE (Timer J). Retransmitted requests are absorbed: the TU sees each request once."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from engine.sip.build import make_response
from engine.sip.message import Request, Response
from engine.sip.timers import T1, T2, T4, Clock
from engine.sip.transaction import Send, State, Transaction, server_key


class ServerTransaction(Transaction):
    def __init__(self, request: Request, send: Send, clock: Clock, reliable: bool,
                 on_terminated: Callable[[Transaction], None] | None = None) -> None:
        super().__init__(request, send, clock, reliable, on_terminated)
        self.key = server_key(request)
        self.last_response: Response | None = None
        self.retransmissions_absorbed = 0

    @property
    def final_sent(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    @abstractmethod
    def respond(self, response: Response) -> None:
        """Send a response from the TU, moving the state machine on."""

    @abstractmethod
    def receive_request(self, request: Request) -> None:
        """A request the endpoint matched to this transaction (a retransmission, or an ACK)."""


class InviteServerTransaction(ServerTransaction):
    """Proceeding → Completed → Confirmed (non-2xx) or Proceeding → Accepted (2xx, RFC 6026).

    ``on_ack_timeout`` is called when a final is never ACKed (Timer H, or 64*T1 of 2xx
    retransmissions): the TU then ends the dialog with BYE. ``on_ack`` runs on the first ACK."""

    def __init__(self, request: Request, send: Send, clock: Clock, reliable: bool,
                 on_terminated: Callable[[Transaction], None] | None = None,
                 on_ack_timeout: Callable[[], None] | None = None) -> None:
        super().__init__(request, send, clock, reliable, on_terminated)
        self.state = State.PROCEEDING
        self.on_ack_timeout = on_ack_timeout
        self.on_ack: Callable[[Request], None] | None = None
        self.acked = False

    def start(self) -> None:
        self.respond(make_response(self.request, 100))

    def respond(self, response: Response) -> None:
        if self.state is not State.PROCEEDING:
            return
        self.last_response = response
        self._transmit(response)
        if response.status < 200:
            return
        self._interval = T1
        if response.status < 300:
            self.state = State.ACCEPTED
            if not self.reliable:
                self._start_timer("G", self._interval, self._retransmit)
            self._start_timer("L", 64 * T1, self._ack_timeout)
        else:
            self.state = State.COMPLETED
            if not self.reliable:
                self._start_timer("G", self._interval, self._retransmit)
            self._start_timer("H", 64 * T1, self._ack_timeout)

    def _retransmit(self) -> None:
        if self.state not in (State.COMPLETED, State.ACCEPTED) or self.acked:
            return
        assert self.last_response is not None
        self._transmit(self.last_response)
        self._interval = min(2 * self._interval, T2)
        self._start_timer("G", self._interval, self._retransmit)

    def _ack_timeout(self) -> None:
        if self.acked:
            self.terminate()
            return
        self.terminate()
        if self.on_ack_timeout is not None:
            self.on_ack_timeout()

    def receive_request(self, request: Request) -> None:
        """A request matched to this transaction: a retransmitted INVITE or an ACK."""
        if request.method == "ACK":
            self.receive_ack(request)
            return
        self.retransmissions_absorbed += 1
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last_response is not None:
            self._transmit(self.last_response)
        # Accepted: the 2xx is retransmitted on its own timer; the INVITE is absorbed.

    def receive_ack(self, request: Request) -> None:
        """An ACK for this INVITE: for a non-2xx it matches by branch, for a 2xx by dialog."""
        first = not self.acked
        if self.state is State.COMPLETED:
            self.acked = True
            self.state = State.CONFIRMED
            self._stop_timer("G")
            self._stop_timer("H")
            self._start_timer("I", 0.0 if self.reliable else T4, self.terminate)
        elif self.state is State.ACCEPTED:
            self.acked = True
            self._stop_timer("G")  # Timer L keeps absorbing INVITE retransmissions
        else:
            return
        if first and self.on_ack is not None:
            self.on_ack(request)


class NonInviteServerTransaction(ServerTransaction):
    """Trying → Proceeding → Completed (Timer J) → Terminated."""

    def start(self) -> None:
        self.state = State.TRYING

    def respond(self, response: Response) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return
        self.last_response = response
        self._transmit(response)
        if response.status < 200:
            self.state = State.PROCEEDING
            return
        self.state = State.COMPLETED
        self._start_timer("J", 0.0 if self.reliable else 64 * T1, self.terminate)

    def receive_request(self, request: Request) -> None:
        self.retransmissions_absorbed += 1
        if self.last_response is not None:
            self._transmit(self.last_response)

