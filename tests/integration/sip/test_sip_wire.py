"""Raw SIP over real sockets: OPTIONS, unknown methods, malformed and garbage datagrams (the
engine stays up), and a call over TCP."""

from __future__ import annotations

import asyncio
import socket

from engine.sip.message import Response, parse
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import requires_sipp, run_sipp


def _request(method: str, port: int, local_port: int, branch: str) -> bytes:
    return (f"{method} sip:15550100@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK-{branch};rport\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:15550100@127.0.0.1>\r\n"
            f"Call-ID: probe-{branch}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


async def _exchange(port: int, data: bytes, *, expect: bool = True) -> Response | None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        local = sock.getsockname()[1]
        await loop.sock_sendto(sock, data.replace(b"LOCALPORT", str(local).encode()),
                               ("127.0.0.1", port))
        try:
            reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 5 if expect else 0.5)
        except TimeoutError:
            return None
    if reply.startswith(b"SIP/2.0 400"):  # it echoes the broken CSeq, as RFC 3261 §8.2.6 says
        return Response(status=400)
    message = parse(reply)
    assert isinstance(message, Response)
    return message


async def test_options_unknown_malformed_and_garbage(sip_engine: SipEngine) -> None:
    port = sip_engine.port
    template = _request("OPTIONS", port, 0, "o1").replace(b"127.0.0.1:0;", b"127.0.0.1:LOCALPORT;")
    ok = await _exchange(port, template)
    assert ok is not None and ok.status == 200 and "INVITE" in (ok.header("Allow") or "")
    unknown = await _exchange(port, template.replace(b"OPTIONS", b"PUBLISH").replace(b"o1", b"u1"))
    assert unknown is not None and unknown.status == 501
    bad = template.replace(b"CSeq: 1 OPTIONS", b"CSeq: x OPTIONS").replace(b"o1", b"b1")
    answered = await _exchange(port, bad)
    assert answered is not None and answered.status == 400
    for junk in (b"\x00" * 300, b"INVITE\r\n\r\n", b"SIP/2.0 200\r\n\r\n", bytes(range(256))):
        assert await _exchange(port, junk, expect=False) is None
    again = await _exchange(port, template.replace(b"o1", b"o2"))
    assert again is not None and again.status == 200  # still serving
    stats = sip_engine.telephony.ua.endpoint.stats
    assert stats["malformed_answered"] >= 1 and stats["malformed_dropped"] >= 3


@requires_sipp
async def test_call_over_tcp(sip_engine: SipEngine) -> None:
    result = await run_sipp("uac", sip_engine.port, "15550100", transport="t1")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    [call] = sip_engine.calls()
    assert call.status == "completed" and call.disconnect_reason == "caller_hangup"
