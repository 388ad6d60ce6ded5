"""RFC 3261 §17 timers in virtual time, through the UA on a fake transport."""

from __future__ import annotations

from collections.abc import Callable

from engine.sip.client_transaction import InviteClientTransaction, NonInviteClientTransaction
from engine.sip.message import Request, Response, parse
from engine.sip.transaction import State
from tests.unit.sip.fakes import PEER, Harness, ack_for, invite

SDP = b"v=0\r\n"


def _times_of(h: Harness, step: float, until: float, count: Callable[[], int]) -> list[float]:
    """Advance in small steps; the virtual times at which ``count`` grew."""
    times, last, t = [], count(), 0.0
    while t < until:
        h.clock.advance(step)
        t = round(t + step, 6)
        now = count()
        if now > last:
            times.append(t)
            last = now
    return times


def test_retransmitted_invite_is_absorbed_and_gets_the_last_provisional() -> None:
    h = Harness()
    h.deliver(invite())
    assert len(h.calls) == 1 and [r.status for r in h.responses()] == [100]
    h.calls[0].ring()
    h.deliver(invite())
    h.deliver(invite())
    assert len(h.calls) == 1
    assert [r.status for r in h.responses()] == [100, 180, 180, 180]
    assert h.endpoint.stats["absorbed"] == 2


def test_2xx_is_retransmitted_until_ack_then_absorbs_invites() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    call.answer(SDP)
    times = _times_of(h, 0.25, 8.0, lambda: len(h.responses(200)))
    assert times == [0.5, 1.5, 3.5, 7.5]  # T1, 2T1, 4T1, then capped at T2 = 4 s
    ok = h.responses(200)[0]
    h.deliver(ack_for(ok))
    assert call.state == "confirmed"
    before = len(h.responses(200))
    h.deliver(invite())  # a late INVITE retransmission after the 2xx: absorbed silently
    h.clock.advance(30)
    assert len(h.responses(200)) == before and len(h.calls) == 1


def test_2xx_never_acked_ends_the_call_with_bye_after_64_t1() -> None:
    h = Harness()
    h.deliver(invite())
    ended: list[str] = []
    call = h.calls[0]
    call.on_ended = ended.append
    call.answer(SDP)
    h.clock.advance(31.9)
    assert not ended
    h.clock.advance(0.2)
    assert ended == ["error"] and len(h.requests("BYE")) == 1


def test_non_2xx_timer_g_until_ack_then_timer_i() -> None:
    h = Harness()
    h.deliver(invite())
    h.calls[0].reject(486)
    tx = next(iter(h.endpoint.servers.values()))
    times = _times_of(h, 0.25, 4.0, lambda: len(h.responses(486)))
    assert times == [0.5, 1.5, 3.5]
    busy = h.responses(486)[0]
    h.deliver(ack_for(busy, branch="z9hG4bK-1"))  # a non-2xx ACK shares the INVITE's branch
    assert tx.state is State.CONFIRMED
    h.clock.advance(4.9)
    assert tx.state is State.CONFIRMED  # Timer I = T4 absorbs ACK retransmissions
    h.clock.advance(0.2)
    assert tx.state is State.TERMINATED and not h.endpoint.servers


def test_timer_h_gives_up_on_a_missing_ack() -> None:
    h = Harness()
    h.deliver(invite())
    h.calls[0].reject(404)
    h.clock.advance(32.1)
    assert not h.endpoint.servers
    assert len(h.responses(404)) == 1 + 10  # retransmitted at 0.5 1.5 3.5 7.5 11.5 … 31.5


def test_bye_is_retransmitted_on_timer_e_and_times_out_on_timer_f() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    events: list[tuple[str, int | None]] = []
    call.on_event = lambda kind, status, _d: events.append((kind, status))
    call.answer(SDP)
    h.deliver(ack_for(h.responses(200)[0]))
    call.hangup()
    times = _times_of(h, 0.25, 33.0, lambda: len(h.requests("BYE")))
    assert times[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert ("bye_timeout", 408) in events
    assert not h.endpoint.clients


def test_bye_response_stops_retransmission() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    call.answer(SDP)
    h.deliver(ack_for(h.responses(200)[0]))
    call.hangup()
    bye = h.requests("BYE")[0]
    ok = (f"SIP/2.0 200 OK\r\nVia: {bye.header('Via')}\r\nFrom: {bye.header('From')}\r\n"
          f"To: {bye.header('To')}\r\nCall-ID: {bye.call_id}\r\nCSeq: {bye.header('CSeq')}\r\n"
          "Content-Length: 0\r\n\r\n").encode()
    h.deliver(ok)
    h.clock.advance(10)
    assert len(h.requests("BYE")) == 1 and not h.endpoint.clients


def _client(h: Harness, method: str) -> tuple[list[Response], list[str]]:
    got: list[Response] = []
    timeouts: list[str] = []
    request = parse(invite(branch="z9hG4bK-out", method=method))
    assert isinstance(request, Request)
    h.endpoint.client_transaction(request, PEER, got.append, lambda: timeouts.append("timeout"))
    return got, timeouts


def _response_to(request: Request, status: int) -> bytes:
    return (f"SIP/2.0 {status} X\r\nVia: {request.header('Via')}\r\nFrom: {request.header('From')}"
            f"\r\nTo: {request.header('To')};tag=t\r\nCall-ID: {request.call_id}\r\n"
            f"CSeq: {request.header('CSeq')}\r\nContent-Length: 0\r\n\r\n").encode()


def test_invite_client_timer_a_and_b() -> None:
    h = Harness()
    _, timeouts = _client(h, "INVITE")
    times = _times_of(h, 0.25, 33.0, lambda: len(h.requests("INVITE")))
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # Timer A doubles without a cap
    assert timeouts == ["timeout"] and not h.endpoint.clients


def test_invite_client_acks_486_and_its_retransmissions() -> None:
    h = Harness()
    got, _ = _client(h, "INVITE")
    request = h.requests("INVITE")[0]
    h.deliver(_response_to(request, 100))
    h.clock.advance(5)
    assert len(h.requests("INVITE")) == 1  # Proceeding stops Timer A
    h.deliver(_response_to(request, 486))
    h.deliver(_response_to(request, 486))
    acks = h.requests("ACK")
    assert len(acks) == 2 and acks[0].top_via.branch == "z9hG4bK-out"
    assert acks[0].to_tag == "t" and acks[0].cseq.method == "ACK"
    assert [r.status for r in got] == [100, 486]  # the TU hears the final once
    tx = next(iter(h.endpoint.clients.values()))
    assert isinstance(tx, InviteClientTransaction) and tx.state is State.COMPLETED
    h.clock.advance(32.1)  # Timer D
    assert not h.endpoint.clients


def test_non_invite_client_proceeding_retransmits_at_t2() -> None:
    h = Harness()
    _client(h, "OPTIONS")
    request = h.requests("OPTIONS")[0]
    h.clock.advance(0.6)
    h.deliver(_response_to(request, 180))
    tx = next(iter(h.endpoint.clients.values()))
    assert isinstance(tx, NonInviteClientTransaction) and tx.state is State.PROCEEDING
    times = _times_of(h, 0.25, 10.0, lambda: len(h.requests("OPTIONS")))
    assert times == [1.0, 5.0, 9.0]  # the pending Timer E fires at 1.5 s, then every T2
