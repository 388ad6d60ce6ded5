"""The UA core on a fake transport: OPTIONS, unknown methods, malformed input, CANCEL, BYE."""

from __future__ import annotations

from tests.unit.sip.fakes import Harness, ack_for, invite


def test_options_is_answered_with_allow() -> None:
    h = Harness()
    h.deliver(invite(method="OPTIONS"))
    [ok] = h.responses()
    assert ok.status == 200 and "INVITE" in (ok.header("Allow") or "")
    assert not h.calls


def test_unknown_method_gets_501() -> None:
    h = Harness()
    h.deliver(invite(method="FROBNICATE"))
    assert [r.status for r in h.responses()] == [501]


def test_unknown_required_extension_gets_420() -> None:
    h = Harness()
    h.deliver(invite(extra="Require: nonsense\r\n"))
    [r] = [r for r in h.responses() if r.status >= 200]
    assert r.status == 420 and r.header("Unsupported") == "nonsense"
    assert not h.calls


def test_malformed_answered_400_and_garbage_dropped() -> None:
    h = Harness()
    h.deliver(invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"))
    assert [r.status for r in h.responses()] == [400]
    h.deliver(b"\x16\x03\x01 not sip at all\r\n\r\n")
    assert h.endpoint.stats == h.endpoint.stats | {"malformed_answered": 1, "malformed_dropped": 1}
    h.deliver(invite(method="OPTIONS", branch="z9hG4bK-after"))
    assert h.responses()[-1].status == 200  # still alive


def test_rport_and_received_address_the_response() -> None:
    h = Harness()
    data = invite(method="OPTIONS").replace(b"branch=z9hG4bK-1", b"branch=z9hG4bK-1;rport")
    data = data.replace(b"Via: SIP/2.0/UDP 127.0.0.1:5070", b"Via: SIP/2.0/UDP 10.9.9.9:6000")
    h.deliver(data)
    response, peer = h.transport.sent[-1]
    assert b"received=127.0.0.1" in response and b"rport=5070" in response
    assert peer.addr == ("127.0.0.1", 5070)  # to the source, not to the Via's 10.9.9.9:6000


def test_cancel_before_answer_gives_200_and_487() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    ended: list[str] = []
    call.on_ended = ended.append
    call.ring()
    h.deliver(invite(method="CANCEL"))
    statuses = [(r.cseq.method, r.status) for r in h.responses()]
    assert ("CANCEL", 200) in statuses and ("INVITE", 487) in statuses
    assert ended == ["canceled"]
    h.deliver(ack_for(h.responses(487)[0], branch="z9hG4bK-1"))
    h.clock.advance(33)  # Timer I ends the INVITE transaction, Timer J the CANCEL's
    assert not h.endpoint.servers


def test_cancel_without_invite_gets_481() -> None:
    h = Harness()
    h.deliver(invite(method="CANCEL", branch="z9hG4bK-nothing"))
    assert [r.status for r in h.responses()] == [481]


def test_bye_in_dialog_ends_the_call_and_stray_bye_gets_481() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    ended: list[str] = []
    call.on_ended = ended.append
    call.answer(b"v=0\r\n")
    ok = h.responses(200)[0]
    h.deliver(ack_for(ok))
    h.deliver(invite(method="BYE", branch="z9hG4bK-bye", cseq=2, to_tag=ok.to_tag))
    assert ended == ["caller_hangup"] and h.responses()[-1].status == 200
    h.deliver(invite(method="BYE", branch="z9hG4bK-bye2", cseq=3, to_tag="unknown"))
    assert h.responses()[-1].status == 481


def test_info_dtmf_relay_reaches_the_call() -> None:
    h = Harness()
    h.deliver(invite())
    call = h.calls[0]
    digits: list[str] = []
    call.on_dtmf = digits.append
    call.answer(b"v=0\r\n")
    ok = h.responses(200)[0]
    h.deliver(ack_for(ok))
    body = b"Signal=5\r\nDuration=160\r\n"
    info = invite(method="INFO", branch="z9hG4bK-info", cseq=2, to_tag=ok.to_tag,
                  extra="Content-Type: application/dtmf-relay\r\n")
    info = info.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: %d\r\n\r\n" % len(body)) + body
    h.deliver(info)
    assert digits == ["5"] and h.responses()[-1].status == 200
