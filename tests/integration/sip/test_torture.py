"""RFC 4475 torture messages, sent raw over UDP (and some over TCP) to a running engine.

The messages live in ``torture/``, one file per case, named after the RFC's; ``$PORT``,
``$LOCAL``, ``$NUMBER``, ``$TRANSPORT``, ``$ID``, ``$RTP`` and ``$LENGTH`` are filled in when a
case is sent. Valid messages are parsed and answered as their method and routing say; invalid
ones are answered 400 with the problem in the reason phrase, or dropped and logged when no
response can be addressed. After every case the engine answers an OPTIONS, and a call placed at
the start of the module keeps exchanging audio until it is hung up at the end."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from sqlmodel import select

from engine.app import Engine
from engine.settings import Settings
from engine.sip.message import canonical
from engine.store import Agent, Call, PhoneNumber, session_scope

pytestmark = pytest.mark.asyncio(loop_scope="module")

TORTURE = Path(__file__).with_name("torture")
NUMBER = "+15550100"
DIGITS = "15550100"
REPLY_WITHIN_S = 15.0  # generous: two shared cores, and the engine routes through the store
RTP_INTERVAL_S = 0.02
_ids = itertools.count(1)


@dataclass
class Reply:
    """A response read leniently: 400s echo the broken header fields they answer."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    @classmethod
    def read(cls, data: bytes) -> Reply:
        raw, _, body = data.partition(b"\r\n\r\n")
        head = raw.decode("utf-8", "replace")
        start, *lines = head.split("\r\n")
        version, status, reason = [*start.split(" ", 2), ""][:3]
        assert version == "SIP/2.0", start
        headers = []
        for line in lines:
            name, _, value = line.partition(":")
            headers.append((canonical(name.strip()), value.strip()))
        return cls(int(status), reason, headers, body)

    def header(self, name: str) -> str:
        return next((v for n, v in self.headers if n == name), "")

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = self.header("CSeq").split(None, 1)
        return int(number), method.strip()


def render(name: str, *, port: int, local: int, rtp: int, transport: str = "UDP") -> bytes:
    """A torture file with CRLF line ends and its placeholders filled in."""
    text = (TORTURE / f"{name}.sip").read_text(encoding="utf-8").replace("\n", "\r\n")
    for key, value in (("$PORT", port), ("$LOCAL", local), ("$NUMBER", DIGITS),
                       ("$TRANSPORT", transport), ("$ID", f"{name}-{next(_ids)}"), ("$RTP", rtp)):
        text = text.replace(key, str(value))
    data = text.encode("utf-8")
    if b"$LENGTH" in data:
        at = data.index(b"$LENGTH")
        body = data[data.index(b"\r\n\r\n", at) + 4:]
        data = data.replace(b"$LENGTH", str(len(body)).encode())
    return data


def options(port: int, local: int, transport: str = "UDP") -> tuple[bytes, str]:
    call_id = f"health-{next(_ids)}@127.0.0.1"
    data = (f"OPTIONS sip:{DIGITS}@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:{local};branch=z9hG4bK-{call_id[:-10]};rport\r\n"
            f"From: <sip:health@127.0.0.1>;tag=h1\r\nTo: <sip:{DIGITS}@127.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()
    return data, call_id


class Probe:
    """A raw SIP peer on loopback: sends bytes, reads responses."""

    transport = "UDP"

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = 0
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # where answered calls send audio
        self.rtp.bind(("127.0.0.1", 0))

    def render(self, name: str) -> bytes:
        return render(name, port=self.port, local=self.local, rtp=self.rtp.getsockname()[1],
                      transport=self.transport)

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def recv(self, within: float) -> Reply | None:
        raise NotImplementedError

    def close(self) -> None:
        self.rtp.close()

    async def final(self, within: float = REPLY_WITHIN_S) -> list[Reply]:
        """Responses up to and including the first final one."""
        replies: list[Reply] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not replies or replies[-1].status < 200:
            reply = await self.recv(max(0.0, deadline - loop.time()))
            if reply is None:
                raise AssertionError(f"no final response within {within} s: {replies}")
            replies.append(reply)
        return replies

    async def sync(self) -> list[Reply]:
        """Send an OPTIONS and wait for its 200; what arrived before it is returned. Loopback
        datagrams are handled in order, so anything a previous message caused is in there."""
        data, call_id = options(self.port, self.local, self.transport)
        await self.send(data)
        before: list[Reply] = []
        while True:
            reply = await self.recv(REPLY_WITHIN_S)
            assert reply is not None, "the engine stopped answering OPTIONS"
            if reply.header("Call-ID") == call_id:
                assert reply.status == 200, reply
                return before
            before.append(reply)

    async def ack_and_bye(self, final: Reply) -> None:
        """Complete an INVITE answered by ``final``: ACK it, and hang up with BYE if it was 2xx."""
        seq, _ = final.cseq
        tagged = (("From", final.header("From")), ("To", final.header("To")),
                  ("Call-ID", final.header("Call-ID")))
        contact = final.header("Contact").strip("<>") or f"sip:{DIGITS}@127.0.0.1:{self.port}"
        if final.status >= 300:  # the ACK is part of the INVITE transaction: the INVITE's Via
            via = final.values("Via")[0]
            await self.send(_request("ACK", f"sip:{DIGITS}@127.0.0.1:{self.port}", via, seq,
                                     tagged))
            return
        await self.send(_request("ACK", contact, self._via(), seq, tagged))
        await self.send(_request("BYE", contact, self._via(), seq + 1, tagged))
        while True:
            reply = await self.recv(REPLY_WITHIN_S)
            assert reply is not None, "no response to BYE"
            if reply.cseq[1] == "BYE":
                assert reply.status == 200, reply
                return

    def _via(self) -> str:
        return f"SIP/2.0/{self.transport} 127.0.0.1:{self.local};branch=z9hG4bK-{next(_ids)}x;rport"


def _request(method: str, uri: str, via: str, seq: int, headers: tuple[tuple[str, str], ...]
             ) -> bytes:
    lines = [f"{method} {uri} SIP/2.0", f"Via: {via}", "Max-Forwards: 70"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"CSeq: {seq} {method}", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class UdpProbe(Probe):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.local = self.sock.getsockname()[1]

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendto(self.sock, data, ("127.0.0.1", self.port))

    async def recv(self, within: float) -> Reply | None:
        try:
            data = await asyncio.wait_for(
                asyncio.get_running_loop().sock_recv(self.sock, 65535), within)
        except TimeoutError:
            return None
        return Reply.read(data)

    def close(self) -> None:
        super().close()
        self.sock.close()


class TcpProbe(Probe):
    transport = "TCP"

    def __init__(self, port: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        super().__init__(port)
        self.reader = reader
        self.writer = writer
        self.local = writer.get_extra_info("sockname")[1]

    @classmethod
    async def connect(cls, port: int) -> TcpProbe:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(port, reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, within: float) -> Reply | None:
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), within)
        except (TimeoutError, asyncio.IncompleteReadError):
            return None
        reply = Reply.read(head)
        length = int(reply.header("Content-Length") or 0)
        if length:
            reply.body = await asyncio.wait_for(self.reader.readexactly(length), within)
        return reply

    def close(self) -> None:
        super().close()
        self.writer.close()


@dataclass
class Caller:
    """The call that runs through the whole module: PCMU out every 20 ms, the engine's counted."""

    probe: UdpProbe
    call_id: str
    answer: Reply
    remote_rtp: tuple[str, int]
    sent: int = 0
    received: int = 0
    task: asyncio.Task[None] | None = None
    bye_status: int | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self.probe.rtp
        sock.setblocking(False)
        receive = loop.create_task(self._count(sock))
        self._tasks.add(receive)
        ssrc, start = 0x5EED, loop.time()
        for seq in itertools.count():
            header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, ssrc)
            await loop.sock_sendto(sock, header + b"\xff" * 160, self.remote_rtp)
            self.sent += 1
            await asyncio.sleep(max(0.0, start + (seq + 1) * RTP_INTERVAL_S - loop.time()))

    async def _count(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await loop.sock_recv(sock, 2048)
            self.received += 1

    async def flowing(self) -> None:
        """Wait until the engine's audio arrives again (it would stop with a broken call)."""
        loop = asyncio.get_running_loop()
        mark, deadline = self.received, loop.time() + REPLY_WITHIN_S
        while self.received < mark + 5:
            assert loop.time() < deadline, "the engine stopped sending the call's audio"
            await asyncio.sleep(RTP_INTERVAL_S)

    def stop(self) -> None:
        for task in [self.task, *self._tasks]:
            if task is not None:
                task.cancel()


@dataclass
class Torture:
    engine: Engine
    port: int
    caller: Caller

    @property
    def ua(self):  # type: ignore[no-untyped-def]
        assert self.engine.telephony is not None and self.engine.telephony.ua is not None
        return self.engine.telephony.ua

    @property
    def stats(self) -> dict[str, int]:
        return dict(self.ua.endpoint.stats)

    def live_call_states(self) -> dict[str, str]:
        assert self.engine.telephony is not None
        return {s.leg.sip.call_id: s.leg.sip.state for s in self.engine.telephony.calls.values()
                if hasattr(s.leg, "sip")}

    def calls(self) -> list[Call]:
        self.engine.writer.flush()
        with session_scope(self.engine.db) as session:
            return list(session.exec(select(Call)).all())


def _audio_address(sdp: bytes) -> tuple[str, int]:
    lines = sdp.decode().splitlines()
    host = next(line.split()[-1] for line in lines if line.startswith("c="))
    port = next(int(line.split()[1]) for line in lines if line.startswith("m=audio"))
    return host, port


async def _place_call(port: int) -> Caller:
    probe = UdpProbe(port)
    rtp = probe.rtp.getsockname()[1]
    call_id = f"background-{next(_ids)}@127.0.0.1"
    sdp = ("v=0\r\no=bg 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           f"m=audio {rtp} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n").encode()
    invite = (f"INVITE sip:{DIGITS}@127.0.0.1:{port} SIP/2.0\r\n"
              f"Via: SIP/2.0/UDP 127.0.0.1:{probe.local};branch=z9hG4bK-bg{next(_ids)};rport\r\n"
              f"From: <sip:background@127.0.0.1>;tag=bg1\r\nTo: <sip:{DIGITS}@127.0.0.1>\r\n"
              f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
              f"Contact: <sip:background@127.0.0.1:{probe.local}>\r\n"
              f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n").encode()
    await probe.send(invite + sdp)
    replies = await probe.final()
    answer = replies[-1]
    assert answer.status == 200, replies
    tagged = (("From", answer.header("From")), ("To", answer.header("To")), ("Call-ID", call_id))
    await probe.send(_request("ACK", answer.header("Contact").strip("<>"), probe._via(),
                              answer.cseq[0], tagged))
    caller = Caller(probe, call_id, answer, _audio_address(answer.body))
    caller.task = asyncio.get_running_loop().create_task(caller.pump())
    await caller.flowing()
    return caller


async def _hang_up(caller: Caller) -> int:
    answer, probe = caller.answer, caller.probe
    tagged = (("From", answer.header("From")), ("To", answer.header("To")),
              ("Call-ID", caller.call_id))
    await probe.send(_request("BYE", answer.header("Contact").strip("<>"), probe._via(),
                              answer.cseq[0] + 1, tagged))
    while True:
        reply = await probe.recv(REPLY_WITHIN_S)
        assert reply is not None, "no response to the background call's BYE"
        if reply.cseq[1] == "BYE":
            return reply.status


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def torture(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Torture]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("torture"), sip_enabled=True,
                        sip_host="127.0.0.1", sip_port=0)
    engine = Engine(settings)
    engine.setup()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, name="Reception",
                      first_message="Hello, thanks for calling.")
        session.add(agent)
        session.add(PhoneNumber(organization_id=engine.organization_id, number=NUMBER,
                                label="main", agent_id=agent.id))
    await engine.start()
    assert engine.telephony is not None
    caller = await _place_call(engine.telephony.port)
    yield Torture(engine, engine.telephony.port, caller)
    caller.stop()
    caller.probe.close()
    await engine.stop()
    engine.close()


# What each case must get. ANSWER: final status (and, for 400, words of the reason phrase).
# DROP: no response at all, counted and logged as dropped. PARSED: a response sent to the
# engine, matched to no transaction, and ignored without an answer.
@dataclass(frozen=True)
class Expect:
    status: int | None  # None: nothing is sent back
    words: str = ""  # in the reason phrase, case-insensitive
    counter: str = ""  # the endpoint statistic that must grow
    check: Callable[[Reply], None] | None = None


def _allow(reply: Reply) -> None:
    assert "INVITE" in reply.header("Allow")


def _five_vias(reply: Reply) -> None:
    vias = reply.values("Via")
    assert [v.split()[0] for v in vias] == ["SIP/2.0/UDP", "SIP/2.0/SCTP", "SIP/2.0/TLS",
                                            "SIP/2.0/UNKNOWN", "SIP/2.0/TCP"], vias


def _unsupported(reply: Reply) -> None:
    names = {v.strip() for value in reply.values("Unsupported") for v in value.split(",")}
    assert names == {"nothingSupportedHere", "nothingSuppHere2"}, names


def _accepts_sdp(reply: Reply) -> None:
    assert "application/sdp" in reply.header("Accept")


ANSWERED = 200  # an INVITE to the engine's number: 180, then 200 with SDP (then ACK and BYE)
CASES: dict[str, Expect] = {
    # §3.1.1 valid messages
    "wsinv": Expect(ANSWERED),
    "intmeth": Expect(501, check=_allow),
    "esc01": Expect(ANSWERED),  # %31555%30100 is the engine's number, escaped
    "escnull": Expect(501),  # parsed; REGISTER is not served here
    "esc02": Expect(501),  # RE%47IST%45R is an unknown method, not REGISTER
    "lwsdisp": Expect(200),
    "longreq": Expect(ANSWERED),
    "dblreq": Expect(501),  # the REGISTER only; the INVITE after its body is ignored
    "semiuri": Expect(200),
    "transports": Expect(200, check=_five_vias),
    "mpart01": Expect(ANSWERED),
    "unreason": Expect(None, counter="stray_responses"),
    "noreason": Expect(None, counter="stray_responses"),
    # §3.1.2 invalid messages
    "badinv01": Expect(400, "via"),  # its first Via entry is enough to answer
    "clerr": Expect(400, "content-length"),
    "ncl": Expect(400, "content-length"),
    "scalar02": Expect(400, "cseq"),
    "scalarlg": Expect(None, counter="malformed_dropped"),
    "quotbal": Expect(400, "quoted string in to"),
    "ltgtruri": Expect(400, "angle brackets"),
    "lwsruri": Expect(400, "whitespace in the request-uri"),
    "lwsstart": Expect(400, "extra whitespace"),
    "trws": Expect(400, "after the sip version"),
    "escruri": Expect(400, "header fields in the request-uri"),
    "baddate": Expect(400, "date"),
    "regbadct": Expect(400, "contact"),
    "badaspec": Expect(400, "from uri"),
    "baddn": Expect(400, "display name"),
    "badvers": Expect(505),
    "mismatch01": Expect(400, "cseq method"),
    "mismatch02": Expect(400, "cseq method"),
    "bigcode": Expect(None, counter="malformed_dropped"),
    # §3.2 transaction layer
    "badbranch": Expect(200),
    # §3.3 application layer
    "insuf": Expect(None, counter="malformed_dropped"),  # no Call-ID, From or To to echo
    "unkscm": Expect(416),
    "novelsc": Expect(416),
    "unksm2": Expect(200),
    "bext01": Expect(420, check=_unsupported),
    "invut": Expect(415, check=_accepts_sdp),
    "multi01": Expect(400, "more than one"),
    "mcl01": Expect(400, "content-length"),
    "bcast": Expect(None, counter="stray_responses"),
    "zeromf": Expect(200),  # an endpoint processes it as if Max-Forwards were positive
    "sdp01": Expect(406, check=_accepts_sdp),
    # §3.4 backward compatibility
    "inv2543": Expect(ANSWERED),
}


async def test_every_message_file_has_a_case() -> None:
    assert sorted(p.stem for p in TORTURE.glob("*.sip")) == sorted(CASES)


async def _run_case(torture: Torture, probe: Probe, name: str,
                    caplog: pytest.LogCaptureFixture) -> list[Reply]:
    expect = CASES[name]
    before = torture.stats
    data = probe.render(name)
    await probe.send(data)
    replies: list[Reply] = []
    if expect.status is not None:
        replies = await probe.final()
        final = replies[-1]
        assert final.status == expect.status, (name, final)
        assert expect.words.lower() in final.reason.lower(), (name, final.reason)
        if expect.check is not None:
            expect.check(final)
        if final.cseq[1] == "INVITE":
            if expect.status == ANSWERED:
                assert [r.status for r in replies if r.status > 100] == [180, 200], replies
                assert final.body.startswith(b"v=0"), final.body
            await probe.ack_and_bye(final)
    later = await probe.sync()
    if expect.status is None:
        assert later == [], (name, later)
    else:  # at most retransmissions of the same final response
        assert all((r.status, r.cseq) == (replies[-1].status, replies[-1].cseq) or
                   r.cseq[1] in ("BYE", "INVITE") for r in later), (name, later)
    after = torture.stats
    if expect.counter:
        assert after[expect.counter] == before[expect.counter] + 1, (name, before, after)
        if expect.counter == "malformed_dropped":
            assert "dropped unparseable SIP message" in caplog.text
    if expect.status == 400:
        assert after["malformed_answered"] == before["malformed_answered"] + 1
    return replies


async def _still_healthy(torture: Torture) -> None:
    """The background call is confirmed and its audio flows; OPTIONS is answered (by sync)."""
    states = torture.live_call_states()
    assert states.get(torture.caller.call_id) == "confirmed", states
    await torture.caller.flowing()


@pytest.mark.parametrize("name", list(CASES))
async def test_udp(torture: Torture, name: str, caplog: pytest.LogCaptureFixture) -> None:
    probe = UdpProbe(torture.port)
    try:
        await _run_case(torture, probe, name, caplog)
    finally:
        probe.close()
    await _still_healthy(torture)


async def test_dblreq_starts_no_call(torture: Torture, caplog: pytest.LogCaptureFixture) -> None:
    probe = UdpProbe(torture.port)
    try:
        await _run_case(torture, probe, "dblreq", caplog)
    finally:
        probe.close()
    assert not any("dblreq" in call_id for call_id in torture.live_call_states())
    assert not any("dblreq" in call_id for call_id in torture.ua.invites)


async def test_badbranch_requests_are_not_taken_for_retransmissions(
        torture: Torture, caplog: pytest.LogCaptureFixture) -> None:
    """Two different requests whose branch is the bare cookie, from one sent-by: both answered."""
    probe = UdpProbe(torture.port)
    try:
        answered = [await _run_case(torture, probe, "badbranch", caplog) for _ in range(2)]
    finally:
        probe.close()
    call_ids = {reply.header("Call-ID") for [reply] in answered}
    assert len(call_ids) == 2, answered  # each its own 200, not the first one's again


TCP_CASES = ["wsinv", "lwsdisp", "intmeth", "transports", "mismatch01", "badvers", "bext01",
             "unkscm", "quotbal", "invut", "inv2543"]


@pytest.mark.parametrize("name", TCP_CASES)
async def test_tcp(torture: Torture, name: str, caplog: pytest.LogCaptureFixture) -> None:
    probe = await TcpProbe.connect(torture.port)
    try:
        if name == "transports":  # its first Via says UDP; over TCP the top one says TCP
            data = probe.render(name)
            await probe.send(data)
            [reply] = await probe.final()
            assert reply.status == 200 and reply.values("Via")[0].startswith("SIP/2.0/TCP")
            await probe.sync()
        else:
            await _run_case(torture, probe, name, caplog)
    finally:
        probe.close()
    await _still_healthy(torture)


async def test_tcp_without_content_length_is_closed(torture: Torture) -> None:
    probe = await TcpProbe.connect(torture.port)
    try:
        data = probe.render("lwsdisp").replace(b"l: 0\r\n", b"")
        await probe.send(data)
        assert await asyncio.wait_for(probe.reader.read(), REPLY_WITHIN_S) == b""
    finally:
        probe.close()
    await _still_healthy(torture)


async def test_background_call_was_unaffected(torture: Torture) -> None:
    caller = torture.caller
    await _still_healthy(torture)
    assert await _hang_up(caller) == 200
    caller.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_WITHIN_S
    while torture.live_call_states():
        assert loop.time() < deadline, torture.live_call_states()
        await asyncio.sleep(0.05)
    calls = torture.calls()
    assert calls and all(c.status == "completed" for c in calls), [
        (c.status, c.disconnect_reason) for c in calls]
    assert all(c.disconnect_reason == "caller_hangup" for c in calls)
    assert caller.sent > 0 and caller.received > 0
