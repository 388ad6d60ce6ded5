"""The UAC, digest authentication and registration in virtual time on a fake transport: ACK of
2xx and non-2xx, CANCEL on ringing timeout, Timer B only before a 1xx, 401/407 answered once
with MD5 or SHA-256 (a second challenge is a refusal), REGISTER refreshed before expiry."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from engine.sip.auth import Credentials
from engine.sip.message import Request
from engine.sip.registration import Registration
from engine.sip.uac import OutgoingCall, outcome_for
from tests.unit.sip.fakes import PEER, Harness

OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
        b"m=audio 4000 RTP/AVP 0 101\r\n"


def response_to(request: Request, status: int, reason: str = "X", *, tag: str = "callee1",
                extra: str = "", body: bytes = b"") -> bytes:
    to = request.header("To") or ""
    if status > 100 and ";tag=" not in to:
        to += f";tag={tag}"
    head = (f"SIP/2.0 {status} {reason}\r\nVia: {request.header('Via')}\r\n"
            f"From: {request.header('From')}\r\nTo: {to}\r\nCall-ID: {request.call_id}\r\n"
            f"CSeq: {request.header('CSeq')}\r\nContact: <sip:callee@127.0.0.1:5070>\r\n{extra}")
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def place(h: Harness, **kwargs: object) -> OutgoingCall:
    call = OutgoingCall(h.ua, "sip:+15550199@127.0.0.1:5070", PEER, OFFER,
                        from_uri="sip:+15550100@127.0.0.1", **kwargs)  # type: ignore[arg-type]
    call.start()
    return call


def test_answer_is_acked_and_a_retransmitted_2xx_acked_again() -> None:
    h = Harness()
    call = place(h)
    invite = h.requests("INVITE")[0]
    assert "rport" in (invite.header("Via") or "") and invite.body == OFFER
    h.deliver(response_to(invite, 180, "Ringing"))
    h.deliver(response_to(invite, 200, "OK", body=b"v=0\r\n"))
    assert call.state == "answered" and call.outcome == "answered"
    assert len(h.requests("ACK")) == 1
    h.deliver(response_to(invite, 200, "OK", body=b"v=0\r\n"))
    assert len(h.requests("ACK")) == 2
    call.hangup()
    bye = h.requests("BYE")[0]
    h.clock.advance(0.6)
    assert len(h.requests("BYE")) == 2  # Timer E retransmits until answered
    h.deliver(response_to(bye, 200, "OK"))
    h.clock.advance(10)
    assert len(h.requests("BYE")) == 2


def test_busy_is_acked_by_the_transaction() -> None:
    h = Harness()
    call = place(h)
    invite = h.requests("INVITE")[0]
    h.deliver(response_to(invite, 486, "Busy Here"))
    assert call.outcome == "busy" and call.status == 486 and call.state == "ended"
    ack = h.requests("ACK")[0]
    assert ack.cseq.seq == invite.cseq.seq and ack.top_via.branch == invite.top_via.branch


@pytest.mark.parametrize(("status", "outcome"), [(600, "busy"), (480, "no_answer"),
                                                 (408, "no_answer"), (404, "failed"),
                                                 (503, "failed"), (603, "failed")])
def test_outcomes_keep_their_code(status: int, outcome: str) -> None:
    assert outcome_for(status) == outcome


def test_ringing_timeout_sends_cancel_and_ends_no_answer() -> None:
    h = Harness()
    call = place(h, ringing_timeout_s=35.0)
    invite = h.requests("INVITE")[0]
    h.deliver(response_to(invite, 180, "Ringing"))
    h.clock.advance(34.9)  # past Timer B (32 s): a ringing INVITE does not time out
    assert call.state == "proceeding" and not h.requests("CANCEL")
    h.clock.advance(0.2)
    cancel = h.requests("CANCEL")[0]
    assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq.method == "CANCEL"
    assert call.state == "proceeding"
    h.deliver(response_to(cancel, 200, "OK"))
    h.deliver(response_to(invite, 487, "Request Terminated"))
    assert call.outcome == "no_answer" and call.status == 487
    assert len(h.requests("ACK")) == 1


def test_cancel_waits_for_a_provisional_response() -> None:
    h = Harness()
    call = place(h, ringing_timeout_s=1.0)
    h.clock.advance(1.2)
    assert not h.requests("CANCEL")  # §9.1: nothing to cancel until a 1xx
    h.deliver(response_to(h.requests("INVITE")[0], 100, "Trying"))
    assert len(h.requests("CANCEL")) == 1 and call.state == "proceeding"


def test_silence_times_out_on_timer_b() -> None:
    h = Harness()
    call = place(h, ringing_timeout_s=60.0)
    h.clock.advance(33.0)
    assert len(h.requests("INVITE")) >= 6  # Timer A doubled each time
    assert call.outcome == "no_answer" and call.status == 408


def _digest_ok(header: str, method: str, password: str) -> bool:
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', header.partition(" ")[2]))
    hasher = hashlib.sha256 if params.get("algorithm", "MD5").upper() == "SHA-256" else hashlib.md5

    def h(text: str) -> str:
        return hasher(text.encode()).hexdigest()

    ha1 = h(f"{params['username']}:{params['realm']}:{password}")
    ha2 = h(f"{method}:{params['uri']}")
    want = h(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
    return params["response"] == want and params["qop"] == "auth"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_invite_407_is_answered_once(algorithm: str) -> None:
    h = Harness()
    call = place(h, credentials=Credentials("alice", "secret"))
    invite = h.requests("INVITE")[0]
    challenge = (f'Proxy-Authenticate: Digest realm="sb", nonce="n1", qop="auth", '
                 f'algorithm={algorithm}\r\n')
    h.deliver(response_to(invite, 407, "Proxy Authentication Required", extra=challenge))
    retry = h.requests("INVITE")[1]
    assert retry.cseq.seq == invite.cseq.seq + 1 and retry.call_id == invite.call_id
    assert _digest_ok(retry.header("Proxy-Authorization") or "", "INVITE", "secret")
    h.deliver(response_to(retry, 407, "Proxy Authentication Required", extra=challenge))
    assert call.state == "ended" and call.outcome == "failed" and call.end_reason == "auth_failed"
    h.clock.advance(60)
    assert len(h.requests("INVITE")) == 2  # no retry loop


async def test_register_401_then_200_and_refresh() -> None:
    h = Harness()
    reg = Registration(h.ua, PEER, "sip:alice@127.0.0.1", credentials=Credentials("alice", "pw"),
                       expires=120)
    task = asyncio.ensure_future(reg.register())
    await asyncio.sleep(0)
    first = h.requests("REGISTER")[0]
    h.deliver(response_to(first, 401, "Unauthorized", extra=(
        'WWW-Authenticate: Digest realm="sb", nonce="n2", qop="auth", algorithm=MD5\r\n')))
    second = h.requests("REGISTER")[1]
    assert _digest_ok(second.header("Authorization") or "", "REGISTER", "pw")
    h.deliver(response_to(second, 200, "OK", extra="Expires: 100\r\n"))
    assert await task and reg.state == "registered" and reg.granted_s == 100
    h.clock.advance(51)  # refreshed halfway through
    third = h.requests("REGISTER")[2]
    assert third.call_id == first.call_id and third.cseq.seq == 3


async def test_register_with_a_wrong_password_fails_without_retrying() -> None:
    h = Harness()
    reg = Registration(h.ua, PEER, "sip:alice@127.0.0.1", credentials=Credentials("alice", "no"))
    task = asyncio.ensure_future(reg.register())
    await asyncio.sleep(0)
    challenge = 'WWW-Authenticate: Digest realm="sb", nonce="n3", qop="auth"\r\n'
    h.deliver(response_to(h.requests("REGISTER")[0], 401, "Unauthorized", extra=challenge))
    h.deliver(response_to(h.requests("REGISTER")[1], 401, "Unauthorized", extra=challenge))
    assert not await task
    assert reg.state == "failed" and "rejected" in (reg.error or "")
    h.clock.advance(4000)
    assert len(h.requests("REGISTER")) == 2
