"""A user agent on a fake transport and a virtual clock, and a scripted peer's messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.sip.endpoint import Endpoint
from engine.sip.message import Request, Response, parse
from engine.sip.timers import VirtualClock
from engine.sip.transport import FakeTransport, Peer
from engine.sip.ua import UserAgent
from engine.sip.uas import IncomingCall

PEER = Peer("UDP", "127.0.0.1", 5070)


def invite(branch: str = "z9hG4bK-1", call_id: str = "c1", cseq: int = 1,
           method: str = "INVITE", to_tag: str | None = None, extra: str = "") -> bytes:
    to = "<sip:15550100@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (f"{method} sip:15550100@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
            f"From: <sip:caller@127.0.0.1:5070>;tag=from1\r\nTo: {to}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:caller@127.0.0.1:5070>\r\nMax-Forwards: 70\r\n{extra}"
            f"Content-Length: 0\r\n\r\n").encode()


@dataclass
class Harness:
    clock: VirtualClock = field(default_factory=VirtualClock)
    calls: list[IncomingCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.endpoint = Endpoint(self.clock, "127.0.0.1")
        self.transport = FakeTransport(self.endpoint.receive)
        self.transport.local_addr = ("127.0.0.1", 5060)
        self.endpoint.add_transport(self.transport)
        self.ua = UserAgent(self.endpoint, self.calls.append)

    def deliver(self, data: bytes) -> None:
        self.endpoint.receive(data, PEER)

    def sent(self) -> list[Request | Response]:
        return [parse(data) for data, _ in self.transport.sent]

    def responses(self, status: int | None = None) -> list[Response]:
        return [m for m in self.sent() if isinstance(m, Response)
                and (status is None or m.status == status)]

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.sent() if isinstance(m, Request) and m.method == method]



def ack_for(response: Response, branch: str = "z9hG4bK-ack") -> bytes:
    return (f"ACK sip:15550100@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
            f"From: <sip:caller@127.0.0.1:5070>;tag=from1\r\nTo: {response.header('To')}\r\n"
            f"Call-ID: {response.call_id}\r\nCSeq: {response.cseq.seq} ACK\r\n"
            f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
