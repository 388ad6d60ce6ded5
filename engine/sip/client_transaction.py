"""RFC 3261 §17.1 client transactions: INVITE (Timers A, B, D) and non-INVITE (E, F, K)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from engine.sip.message import Request, Response
from engine.sip.timers import T1, T2, T4, Clock
from engine.sip.transaction import Send, State, Transaction, client_key

TIMER_D_UNRELIABLE = 32.0  # §17.1.1.2: at least 32 s for unreliable transports

OnResponse = Callable[[Response], None]
OnTimeout = Callable[[], None]


class ClientTransaction(Transaction):
    """Base of both client kinds: the TU hears responses and one timeout (or transport error)."""

    def __init__(self, request: Request, send: Send, clock: Clock, reliable: bool,
                 on_response: OnResponse, on_timeout: OnTimeout,
                 on_terminated: Callable[[Transaction], None] | None = None) -> None:
        super().__init__(request, send, clock, reliable, on_terminated)
        branch = request.top_via.branch or ""
        self.key = client_key(branch, request.method)
        self._on_response = on_response
        self._on_timeout = on_timeout
        self.final: Response | None = None

    def _timeout(self) -> None:
        self.terminate()
        self._on_timeout()

    def _transport_error(self) -> None:
        self._timeout()

    @abstractmethod
    def receive(self, response: Response) -> None:
        """A response the endpoint matched to this transaction."""


class InviteClientTransaction(ClientTransaction):
    """Calling → Proceeding → Completed (ACK sent for each non-2xx final) → Terminated."""

    def start(self) -> None:
        self.state = State.CALLING
        self._interval = T1
        self._transmit(self.request)
        if not self.reliable:
            self._start_timer("A", self._interval, self._timer_a)
        self._start_timer("B", 64 * T1, self._timer_b)

    def _timer_b(self) -> None:
        if self.state is State.CALLING:  # §17.1.1.2: once a 1xx came, we wait for the final
            self._timeout()

    def _timer_a(self) -> None:
        if self.state is not State.CALLING:
            return
        self._interval *= 2
        self._transmit(self.request)
        self._start_timer("A", self._interval, self._timer_a)

    def receive(self, response: Response) -> None:
        if self.state in (State.CALLING, State.PROCEEDING):
            if response.status < 200:
                self.state = State.PROCEEDING
                self._stop_timer("A")
                self._stop_timer("B")
                self._on_response(response)
            elif response.status < 300:
                self.final = response
                self.state = State.ACCEPTED  # RFC 6026: absorb 2xx retransmissions for 64*T1
                self._stop_timer("A")
                self._stop_timer("B")
                self._start_timer("M", 64 * T1, self.terminate)
                self._on_response(response)
            else:
                self.final = response
                self.state = State.COMPLETED
                self._stop_timer("A")
                self._stop_timer("B")
                self._transmit(self.ack_for(response))
                self._start_timer("D", 0.0 if self.reliable else TIMER_D_UNRELIABLE, self.terminate)
                self._on_response(response)
        elif self.state is State.COMPLETED and response.status >= 300:
            self._transmit(self.ack_for(response))  # a retransmitted final: ACK again, TU not told
        elif self.state is State.ACCEPTED and 200 <= response.status < 300:
            self._on_response(response)  # the TU (dialog) re-sends its ACK for 2xx

    def ack_for(self, response: Response) -> Request:
        """§17.1.1.3: the ACK for a non-2xx final, within this transaction."""
        invite = self.request
        ack = Request(method="ACK", uri=invite.uri)
        ack.headers.append(("Via", invite.header_values("Via")[0]))
        for name in ("Route",):
            for value in invite.header_values(name):
                ack.headers.append((name, value))
        ack.headers.append(("Max-Forwards", "70"))
        ack.headers.append(("From", invite.header("From") or ""))
        ack.headers.append(("To", response.header("To") or ""))
        ack.headers.append(("Call-ID", invite.call_id))
        ack.headers.append(("CSeq", f"{invite.cseq.seq} ACK"))
        return ack


class NonInviteClientTransaction(ClientTransaction):
    """Trying → Proceeding → Completed → Terminated, retransmitting on Timer E up to T2."""

    def start(self) -> None:
        self.state = State.TRYING
        self._interval = T1
        self._transmit(self.request)
        if not self.reliable:
            self._start_timer("E", self._interval, self._timer_e)
        self._start_timer("F", 64 * T1, self._timeout)

    def _timer_e(self) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return
        self._interval = T2 if self.state is State.PROCEEDING else min(2 * self._interval, T2)
        self._transmit(self.request)
        self._start_timer("E", self._interval, self._timer_e)

    def receive(self, response: Response) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return  # Completed absorbs retransmitted finals
        if response.status < 200:
            self.state = State.PROCEEDING
            self._on_response(response)
            return
        self.final = response
        self.state = State.COMPLETED
        self._stop_timer("E")
        self._stop_timer("F")
        self._start_timer("K", 0.0 if self.reliable else T4, self.terminate)
        self._on_response(response)
