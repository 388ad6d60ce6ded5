"""REFER in an established dialog (RFC 3515) in virtual time on a fake transport: 202 then
NOTIFY sipfrag progress to a final status (each NOTIFY answered 200), a NOTIFY that overtakes
the 202, refusals as a typed result, and the timeouts."""

from __future__ import annotations

import pytest

from engine.sip.message import Request
from engine.sip.refer import Refer, ReferResult, parse_sipfrag
from engine.sip.uac import OutgoingCall
from tests.unit.sip.fakes import Harness
from tests.unit.sip.test_uac import place, response_to

TARGET = "sip:+15550142@127.0.0.1:5080"


def answered_call(h: Harness) -> OutgoingCall:
    call = place(h)
    invite = h.requests("INVITE")[0]
    h.deliver(response_to(invite, 200, "OK", body=b"v=0\r\n"))
    assert call.state == "answered" and call.dialog is not None
    return call


def start_refer(h: Harness, **kwargs: object) -> tuple[Refer, list[ReferResult], list[str]]:
    call = answered_call(h)
    assert call.dialog is not None
    results: list[ReferResult] = []
    lines: list[str] = []
    refer = Refer(h.ua, call.dialog, TARGET, results.append,
                  on_progress=lambda _code, line: lines.append(line), **kwargs)  # type: ignore[arg-type]
    refer.start()
    return refer, results, lines


def notify(refer_request: Request, cseq: int, sipfrag: str, state: str = "active;expires=60",
           event: str = "refer") -> bytes:
    """The transferee's NOTIFY in the REFER's dialog (its From is the REFER's To)."""
    body = f"SIP/2.0 {sipfrag}\r\n".encode()
    return (f"NOTIFY sip:switchboard@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-n{cseq}\r\n"
            f"From: {refer_request.header('To')}\r\nTo: {refer_request.header('From')}\r\n"
            f"Call-ID: {refer_request.call_id}\r\nCSeq: {cseq} NOTIFY\r\n"
            f"Contact: <sip:callee@127.0.0.1:5070>\r\nMax-Forwards: 70\r\n"
            f"Event: {event}\r\nSubscription-State: {state}\r\n"
            f"Content-Type: message/sipfrag;version=2.0\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def notify_answers(h: Harness) -> list[int]:
    return [r.status for r in h.responses() if r.cseq.method == "NOTIFY"]


def test_refer_is_sent_in_the_dialog_with_refer_to() -> None:
    h = Harness()
    refer, _, _ = start_refer(h, referred_by="<sip:+15550100@127.0.0.1>")
    [request] = h.requests("REFER")
    invite = h.requests("INVITE")[0]
    assert request.call_id == invite.call_id and request.uri == "sip:callee@127.0.0.1:5070"
    assert request.header("Refer-To") == f"<{TARGET}>"
    assert request.header("Referred-By") == "<sip:+15550100@127.0.0.1>"
    assert request.from_tag == invite.from_tag and request.to_tag == "callee1"
    assert request.cseq.seq == invite.cseq.seq + 1 and request.header("Contact")
    assert refer.pending


def test_accepted_then_progress_to_200_completes() -> None:
    h = Harness()
    refer, results, lines = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, 202, "Accepted"))
    assert results == [] and refer.refer_status == 202
    h.deliver(notify(request, 1, "100 Trying"))
    h.deliver(notify(request, 2, "180 Ringing"))
    assert results == [] and lines == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]
    h.deliver(notify(request, 3, "200 OK", state="terminated;reason=noresource"))
    assert notify_answers(h) == [200, 200, 200]
    [result] = results
    assert result.outcome == "completed" and result.accepted and result.refer_status == 202
    assert result.final_status == 200 and result.final_line == "SIP/2.0 200 OK"
    assert result.progress == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]
    h.deliver(notify(request, 4, "200 OK", state="terminated"))  # after the end: no subscription
    assert notify_answers(h)[-1] == 481 and len(results) == 1


def test_failed_target_is_reported_with_its_status() -> None:
    h = Harness()
    _, results, _ = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, 202, "Accepted"))
    h.deliver(notify(request, 1, "100 Trying"))
    h.deliver(notify(request, 2, "486 Busy Here", state="terminated;reason=noresource"))
    [result] = results
    assert result.outcome == "failed" and result.final_status == 486
    assert result.final_line == "SIP/2.0 486 Busy Here"


def test_notify_before_the_202_is_answered_and_counted() -> None:
    h = Harness()
    _, results, _ = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(notify(request, 1, "200 OK", state="terminated"))
    assert notify_answers(h) == [200] and results == []
    h.deliver(response_to(request, 202, "Accepted"))
    [result] = results
    assert result.outcome == "completed" and result.final_status == 200


def test_subscription_terminated_without_a_final_status_fails() -> None:
    h = Harness()
    _, results, _ = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, 202, "Accepted"))
    h.deliver(notify(request, 1, "180 Ringing", state="terminated;reason=timeout"))
    [result] = results
    assert result.outcome == "failed" and result.final_status == 180


def test_notify_of_another_event_is_refused_489() -> None:
    h = Harness()
    _, results, _ = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, 202, "Accepted"))
    h.deliver(notify(request, 1, "200 OK", event="dialog"))
    assert notify_answers(h) == [489] and results == []


@pytest.mark.parametrize("status", [405, 501, 603, 488])
def test_refusal_is_a_typed_result(status: int) -> None:
    h = Harness()
    refer, results, _ = start_refer(h)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, status, "No"))
    [result] = results
    assert result.outcome == "refused" and result.refer_status == status
    assert not result.accepted and result.final_status is None and not refer.pending
    h.deliver(notify(request, 1, "200 OK"))
    assert notify_answers(h) == [481]


def test_no_answer_to_the_refer_times_out_408() -> None:
    h = Harness()
    _, results, _ = start_refer(h)
    h.clock.advance(31.0)
    assert results == []
    h.clock.advance(2.0)  # Timer F: 64 T1
    [result] = results
    assert result.outcome == "timeout" and result.refer_status == 408
    assert len(h.requests("REFER")) > 1  # Timer E retransmitted it meanwhile


def test_no_final_notify_times_out_after_acceptance() -> None:
    h = Harness()
    _, results, _ = start_refer(h, notify_wait_s=10.0)
    [request] = h.requests("REFER")
    h.deliver(response_to(request, 202, "Accepted"))
    h.deliver(notify(request, 1, "180 Ringing"))
    h.clock.advance(9.0)
    assert results == []
    h.clock.advance(2.0)
    [result] = results
    assert result.outcome == "timeout" and result.refer_status == 202
    assert result.final_status == 180 and result.progress == ["SIP/2.0 180 Ringing"]


def test_parse_sipfrag() -> None:
    assert parse_sipfrag(b"SIP/2.0 183 Session Progress\r\nTo: x\r\n") == (
        183, "SIP/2.0 183 Session Progress")
    assert parse_sipfrag(b"") is None and parse_sipfrag(b"INVITE sip:x SIP/2.0") is None
