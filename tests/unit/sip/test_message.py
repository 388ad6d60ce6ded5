"""The SIP parser: well-formed messages round-trip; RFC 4475-style torture is rejected with the
right verdict (answerable with 400/505, or dropped); no input raises anything but ParseError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sip.build import make_response
from engine.sip.message import ParseError, Request, Response, parse

INVITE = (
    "INVITE sip:15550100@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: sipp <sip:sipp@127.0.0.1:5070>;tag=abc\r\n"
    "To: <sip:15550100@127.0.0.1:5060>\r\n"
    "Call-ID: 1-2@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:sipp@127.0.0.1:5070>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n"
)


def test_request_fields() -> None:
    msg = parse(INVITE.encode())
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and msg.request_uri.user == "15550100"
    assert msg.cseq.seq == 1 and msg.cseq.method == "INVITE"
    assert msg.from_tag == "abc" and msg.to_tag is None
    assert msg.top_via.branch == "z9hG4bK-1" and "rport" in msg.top_via.params
    assert msg.contact_uri == "sip:sipp@127.0.0.1:5070"
    assert msg.body == b"v=0\n"


def test_round_trip_and_response() -> None:
    msg = parse(INVITE.encode())
    again = parse(bytes(msg))
    assert again.headers == msg.headers and again.body == msg.body
    assert isinstance(msg, Request)
    response = make_response(msg, 180, to_tag="xyz")
    parsed = parse(bytes(response))
    assert isinstance(parsed, Response)
    assert parsed.status == 180 and parsed.reason == "Ringing" and parsed.to_tag == "xyz"
    assert parsed.header("Via") == msg.header("Via")


def test_compact_forms_folding_and_lists() -> None:
    text = INVITE.replace("Call-ID:", "i:").replace("Content-Length: 4", "l: 4")
    text = text.replace("Max-Forwards: 70\r\n",
                        "Max-Forwards: 70\r\nv: SIP/2.0/UDP proxy.example:5060;branch=z9hG4bK-p,\r\n"
                        "   SIP/2.0/TCP second.example;branch=z9hG4bK-q\r\n")
    msg = parse(text.encode())
    assert msg.call_id == "1-2@127.0.0.1"
    assert [v.host for v in msg.vias] == ["127.0.0.1", "proxy.example", "second.example"]


def test_body_longer_than_content_length_is_cut_on_datagrams() -> None:
    msg = parse(INVITE.encode() + b"garbage")
    assert msg.body == b"v=0\n"


def _mangle(old: str, new: str) -> bytes:
    assert old in INVITE
    return INVITE.replace(old, new, 1).encode()


ANSWERABLE = {  # malformed, but with enough to address a 400 to its sender
    "content length larger than body": _mangle("Content-Length: 4", "Content-Length: 9999"),
    "negative content length": _mangle("Content-Length: 4", "Content-Length: -4"),
    "two content lengths": _mangle("Content-Length: 4", "Content-Length: 4\r\nContent-Length: 5"),
    "cseq method mismatch": _mangle("CSeq: 1 INVITE", "CSeq: 1 OPTIONS"),
    "cseq not a number": _mangle("CSeq: 1 INVITE", "CSeq: one INVITE"),
    "cseq huge": _mangle("CSeq: 1 INVITE", "CSeq: 99999999999999999999 INVITE"),
    "request-uri with spaces": _mangle("sip:15550100@127.0.0.1:5060 SIP", "sip:1555 0100@h SIP"),
    "request-uri with angle brackets": _mangle("INVITE sip:15550100@127.0.0.1:5060",
                                               "INVITE <sip:15550100@127.0.0.1:5060>"),
    "unbalanced To": _mangle("To: <sip:15550100@127.0.0.1:5060>", "To: <sip:15550100@h"),
    "unterminated quote": _mangle('From: sipp <', 'From: "sipp <'),
    "max-forwards not a number": _mangle("Max-Forwards: 70", "Max-Forwards: seventy"),
}
DROPPED = {  # nothing to answer to
    "empty": b"",
    "no blank line": INVITE.split("\r\n\r\n")[0].encode(),
    "header without colon": _mangle("Max-Forwards: 70", "Max-Forwards 70"),
    "missing via": _mangle("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n", ""),
    "garbage start line": b"\x00\x01\x02 hello\r\n\r\n",
    "non-utf8 header": _mangle("sipp <", "\xff\xfe <").replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe"),
    "bad status code": b"SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\r\n",
    "space before colon in name": _mangle("Max-Forwards: 70", "Max Forwards: 70"),
    "missing call-id": _mangle("Call-ID: 1-2@127.0.0.1\r\n", ""),
    "continuation first": b"OPTIONS sip:a@b SIP/2.0\r\n continuation\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(ANSWERABLE))
def test_torture_answered_with_400(name: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(ANSWERABLE[name])
    assert info.value.partial is not None and info.value.status == 400


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_torture_dropped(name: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(DROPPED[name])
    assert info.value.partial is None


def test_other_version_is_505() -> None:
    with pytest.raises(ParseError) as info:
        parse(_mangle("5060 SIP/2.0\r\n", "5060 SIP/7.0\r\n"))
    assert info.value.status == 505 and info.value.partial is not None


def test_stream_requires_content_length() -> None:
    with pytest.raises(ParseError):
        parse(_mangle("Content-Length: 4\r\n", ""), stream=True)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_bytes_never_crash(data: bytes) -> None:
    try:
        parse(data)
    except ParseError:
        pass


LINES = INVITE.split("\r\n")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*LINES, "", " ", "X: y", ":", "Via:", "CSeq: 1", "\t folded"]),
                max_size=14),
       st.binary(max_size=40))
def test_fuzz_shuffled_lines_never_crash(lines: list[str], tail: bytes) -> None:
    try:
        msg = parse("\r\n".join(lines).encode() + b"\r\n\r\n" + tail)
    except ParseError:
        return
    bytes(msg)  # whatever parsed serialises
    if isinstance(msg, Request):
        make_response(msg, 400)
