"""Fakes of every edge a transfer touches, for unit tests in virtual time
(:func:`engine.speech.virtual_time.run_virtual`): a scripted SIP dialer whose legs ring, answer,
reject, key digits and hang up on the loop's clock, a REFER with a scripted result, RTP ports
and legs, a media loop that runs calls at once, a store whose jobs run against an in-memory
session, console-user joins and look-ups, and a call with a real :class:`~engine.media.Mixer`
and a real :class:`~engine.calls.control.CallControl`.

:class:`Harness` wires them into a :class:`~engine.calls.transfers.TransferContext` and starts
transfers the way the API does, through :class:`~engine.calls.transfers.Transfers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from engine.calls.commands import Transfer as TransferCommand
from engine.calls.commands import parse_command, parse_warm_transfer
from engine.calls.control import CallControl
from engine.calls.routing import Route
from engine.calls.summary import Turn
from engine.calls.transfers import Target, TransferContext, Transfers
from engine.events import Event as BusEvent
from engine.media import AGENT_MASKS, CALLER_MASKS, SILENCE, Mixer, Participant, Player
from engine.sip import sdp
from engine.sip.refer import ReferOutcome, ReferResult
from engine.sip.uac import outcome_for
from engine.speech.virtual_time import run_virtual
from engine.store import SipTrunk, Transfer, User
from engine.store.timeutil import utcnow

ACTOR = "api_key:admin"
ORG = "org-1"
CALL_ID = "call-1"
CALLER = "+15550001111"
PROVISIONAL_S = 0.1  # a destination's 180 Ringing comes this long after the INVITE
CANCEL_S = 0.05  # the 487 to our CANCEL comes this long after it
BRIEFING_PCM = SILENCE * 5  # 100 ms of "speech" for the warm briefing (no espeak in unit tests)
ANSWER_SDP = (b"v=0\r\no=desk 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
              b"m=audio 7000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
              b"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
           480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
           503: "Service Unavailable", 600: "Busy Everywhere", 603: "Decline"}


# -- what a destination does ---------------------------------------------------------------------

@dataclass
class Script:
    """What one destination does with our INVITE, in seconds of the loop's clock: answers
    ``answer_after`` s after it (or rejects with ``reject`` after ``reject_after`` s, or rings
    until the ringing timeout); once answered keys ``keys`` (seconds after the answer, digit,
    ``info`` for SIP INFO or ``rtp`` for RFC 4733) and hangs up ``hangs_up_after`` s after it."""

    answer_after: float | None = None
    reject: int | None = None
    reject_after: float = 0.5
    keys: list[tuple[float, str, str]] = field(default_factory=list)
    hangs_up_after: float | None = None


def answers(after: float = 1.0, *, keys: tuple[tuple[float, str], ...] = (), via: str = "info",
            hangs_up_after: float | None = None) -> Script:
    return Script(answer_after=after, keys=[(at, digit, via) for at, digit in keys],
                  hangs_up_after=hangs_up_after)


def rejects(status: int, after: float = 0.5) -> Script:
    return Script(reject=status, reject_after=after)


def rings() -> Script:
    """Rings until the ringing timeout (or a CANCEL)."""
    return Script()


class FakeOutgoingCall:
    """An :class:`~engine.sip.uac.OutgoingCall` toward a scripted destination. States: calling,
    proceeding (180 came), answered, ended; ``outcome`` from the real
    :func:`~engine.sip.uac.outcome_for`."""

    def __init__(self, rtp: FakeRtp, index: int, target: Target, offer: bytes, caller: str,
                 ringing_timeout_s: float, script: Script) -> None:
        self.rtp = rtp
        self.call_id = f"leg-{index}@fake"
        self.target = target
        self.offer = offer
        self.caller = caller
        self.ringing_timeout_s = ringing_timeout_s
        self.script = script
        audio = sdp.parse(offer).audio
        assert audio is not None
        self.port = audio.port  # the RTP port our offer names
        self.state = "calling"
        self.outcome: str | None = None
        self.status: int | None = None
        self.reason: str | None = None
        self.end_reason: str | None = None
        self.answer = b""
        self.dialog: object | None = None
        self.hangups: list[str] = []  # every hangup(reason) we asked for
        self.on_event: Callable[[str, int | None, str | None], None] = lambda *_: None
        self.on_answered: Callable[[bytes], None] = lambda _sdp: None
        self.on_ended: Callable[[str], None] = lambda _reason: None
        self.on_dtmf: Callable[[str], None] = lambda _digit: None
        self.started = False
        self._ring_timed_out = False
        self._cancel_sent = False
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def ringing(self) -> bool:
        return self.state in ("calling", "proceeding")

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self._timers.append(asyncio.get_running_loop().call_later(delay, fn, *args))

    def start(self) -> None:
        assert not self.started, "an INVITE is started once"
        self.started = True
        self.on_event("invite_sent", None, self.target.uri)
        script = self.script
        self._later(PROVISIONAL_S, self._provisional)
        self._later(self.ringing_timeout_s, self._ring_timeout)
        if script.answer_after is not None:
            self._later(script.answer_after, self._answered)
        elif script.reject is not None:
            self._later(script.reject_after, self._final, script.reject)

    def _provisional(self) -> None:
        if self.state == "calling":
            self.state = "proceeding"
            self.on_event("response_received", 180, "Ringing")

    def _answered(self) -> None:
        if not self.ringing or self._cancel_sent:
            return
        self.state, self.outcome, self.status, self.reason = "answered", "answered", 200, "OK"
        self.answer, self.dialog = ANSWER_SDP, object()
        self.on_event("response_received", 200, "OK")
        self.on_answered(self.answer)
        for at, digit, via in self.script.keys:
            self._later(at, self.key, digit, via)
        if self.script.hangs_up_after is not None:
            self._later(self.script.hangs_up_after, self.remote_hangup)

    def _final(self, status: int) -> None:
        if not self.ringing:
            return
        self.status, self.reason = status, REASONS.get(status, "")
        self.on_event("response_received", status, self.reason)
        self.outcome = outcome_for(status, ring_timeout=self._ring_timed_out,
                                   canceled=self._cancel_sent)
        self._end(self.outcome)

    def _ring_timeout(self) -> None:
        if self.ringing:
            self._ring_timed_out = True
            self.on_event("ringing_timeout", None, f"{self.ringing_timeout_s:g} s")
            self._cancel()

    def _cancel(self) -> None:
        if not self._cancel_sent:
            self._cancel_sent = True
            self.on_event("cancel_sent", None, None)
            self._later(CANCEL_S, self._final, 487)

    def hangup(self, reason: str = "agent_hangup") -> None:
        """Ours: CANCEL while ringing, BYE once answered."""
        self.hangups.append(reason)
        if self.ringing:
            self._cancel()
        elif self.state == "answered":
            self.on_event("bye_sent", None, None)
            self._end(reason)

    def remote_hangup(self) -> None:
        """The destination's BYE."""
        if self.state == "answered":
            self.on_event("bye_received", None, None)
            self._end("callee_hangup")

    def key(self, digit: str, via: str = "info") -> None:
        """The destination keys ``digit``: SIP INFO on this leg, or RFC 4733 on its RTP leg."""
        if self.state != "answered":
            return
        if via == "info":
            self.on_event("dtmf_info", None, f"Signal={digit}")
            self.on_dtmf(digit)
        else:
            self.rtp.legs[self.port].key(digit)

    def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state, self.end_reason = "ended", reason
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.on_ended(reason)


@dataclass
class ReferScript:
    """What the transferred party does with our REFER: its final status, then (2xx) the
    sipfrag lines of its NOTIFYs, ``after`` s apart; ``timeout``: nothing more after the 202."""

    status: int = 202
    notify: tuple[str, ...] = ("SIP/2.0 100 Trying", "SIP/2.0 200 OK")
    after: float = 0.5
    timeout: bool = False


class FakeRefer:
    """A :class:`~engine.calls.transfers.refer.TransferRefer` with a scripted result."""

    def __init__(self, target_uri: str, script: ReferScript, on_result: Callable[..., None],
                 on_progress: Callable[[int, str], None], on_accepted: Callable[[int], None],
                 notify_wait_s: float) -> None:
        self.target_uri = target_uri
        self.script = script
        self.on_result = on_result
        self.on_progress = on_progress
        self.on_accepted = on_accepted
        self.notify_wait_s = notify_wait_s
        self.refer_status: int | None = None
        self.progress: list[str] = []
        self.result: ReferResult | None = None
        self.gave_up = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        script = self.script
        loop.call_later(script.after, self._response)
        if script.status < 300 and not script.timeout:
            for n, line in enumerate(script.notify, start=2):
                loop.call_later(script.after * n, self._notify, line)
        else:
            loop.call_later(script.after + self.notify_wait_s, self._done, "timeout")

    def _response(self) -> None:
        if self.result is not None:
            return
        self.refer_status = self.script.status
        if self.script.status >= 300:
            self._done("refused")
        else:
            self.on_accepted(self.script.status)

    def _notify(self, line: str) -> None:
        if self.result is not None:
            return
        code = int(line.split()[1])
        self.progress.append(line)
        self.on_progress(code, line)
        if code >= 200:
            self._done("completed" if code < 300 else "failed")

    def _done(self, outcome: ReferOutcome) -> None:
        if self.result is not None:
            return
        final = self.progress[-1] if self.progress else None
        self.result = ReferResult(outcome, self.refer_status or 408,
                                  int(final.split()[1]) if final else None, final,
                                  list(self.progress))
        self.on_result(self.result)

    def give_up(self) -> None:
        self.gave_up = True
        self._done("timeout")


class FakeDialer:
    """The :class:`~engine.calls.transfers.SipDialer`: hands out :class:`FakeOutgoingCall` legs
    that do what :meth:`script` said of their destination (ring forever by default)."""

    def __init__(self, rtp: FakeRtp) -> None:
        self.rtp = rtp
        self.scripts: dict[str, Script] = {}
        self.calls: list[FakeOutgoingCall] = []
        self.refer_script = ReferScript()
        self.refers: list[FakeRefer] = []

    def script(self, uri: str, script: Script) -> None:
        self.scripts[uri] = script

    def invite(self, target: Target, offer: bytes, caller: str,
               ringing_timeout_s: float) -> FakeOutgoingCall:
        leg = FakeOutgoingCall(self.rtp, len(self.calls), target, offer, caller,
                               ringing_timeout_s, self.scripts.get(target.uri, rings()))
        self.calls.append(leg)
        return leg

    def refer(self, dialog: Any, target_uri: str, on_result: Callable[..., None], *,
              on_progress: Callable[[int, str], None], on_accepted: Callable[[int], None],
              notify_wait_s: float) -> FakeRefer:
        refer = FakeRefer(target_uri, self.refer_script, on_result, on_progress, on_accepted,
                          notify_wait_s)
        self.refers.append(refer)
        return refer

    def to(self, uri: str) -> FakeOutgoingCall:
        """The last leg dialled to ``uri``."""
        legs = [c for c in self.calls if c.target.uri == uri]
        assert legs, f"{uri} was not dialled"
        return legs[-1]


# -- media ---------------------------------------------------------------------------------------

class FakeRtpLeg:
    """An :class:`~engine.sip.rtp_leg.RtpLeg`: silence in, frames counted out."""

    def __init__(self, port: int) -> None:
        self.local_port = port
        self.pushed = 0
        self.closed = False
        self.on_dtmf: Callable[[str], None] = lambda _digit: None

    def pull(self) -> bytes | None:
        return SILENCE

    def push(self, pcm: bytes) -> None:
        self.pushed += 1

    def key(self, digit: str) -> None:
        """An RFC 4733 event from the other end."""
        self.on_dtmf(digit)


class FakeRtp:
    """The :class:`~engine.calls.transfers.RtpPorts`: numbered ports, legs by port."""

    def __init__(self) -> None:
        self.next_port = 40000
        self.reserved: list[int] = []
        self.released: list[int] = []
        self.legs: dict[int, FakeRtpLeg] = {}
        self.refuse: Exception | None = None  # what open() raises (an answer we cannot use)

    async def reserve(self) -> int:
        port, self.next_port = self.next_port, self.next_port + 2
        self.reserved.append(port)
        return port

    async def open(self, answer: bytes, port: int) -> tuple[FakeRtpLeg, sdp.MediaParams]:
        assert port in self.reserved and port not in self.legs, port
        if self.refuse is not None:
            raise self.refuse
        leg = self.legs[port] = FakeRtpLeg(port)
        return leg, sdp.negotiate(sdp.parse(answer))

    async def release(self, port: int) -> None:
        assert port not in self.released and port not in self.legs, port
        self.released.append(port)

    async def close(self, leg: FakeRtpLeg) -> None:
        assert not leg.closed, "a leg is closed once"
        leg.closed = True

    def leaked(self) -> list[int]:
        """Ports reserved but neither released nor given back by a closed leg."""
        return [p for p in self.reserved if p not in self.released
                and not (p in self.legs and self.legs[p].closed)]


class FakeMediaLoop:
    """The :class:`~engine.media.loop.MediaLoop`: runs everything at once, on the caller's loop."""

    def __init__(self) -> None:
        self.calls = 0

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.calls += 1
        fn(*args)

    async def call_soon_wait(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.calls += 1
        return fn(*args)

    async def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return await coro


@dataclass
class FakeMedia:
    """The :class:`~engine.calls.media_context.MediaContext` a transfer reads."""

    loop: FakeMediaLoop = field(default_factory=FakeMediaLoop)
    local_ip: str = "10.0.0.1"


# -- the store, the bus, joins and look-ups ------------------------------------------------------

class FakeSession:
    """A SQLModel session over rows kept in memory (add, get, flush)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[type, str], Any] = {}

    def add(self, row: Any) -> None:
        self.rows[(type(row), row.id)] = row

    def get(self, kind: type, key: str) -> Any:
        return self.rows.get((kind, key))

    def flush(self) -> None:
        pass


class FakeStore:
    """``SerialRunner.submit``: each job runs at once against :attr:`session`, then its
    ``after`` and ``on_commit``."""

    def __init__(self) -> None:
        self.session = FakeSession()
        self.jobs = 0

    def __call__(self, job: Callable[[Any], None], after: Callable[[], None] | None = None, *,
                 on_commit: Callable[[], None] | None = None) -> None:
        self.jobs += 1
        job(self.session)
        for callback in (after, on_commit):
            if callback is not None:
                callback()

    def transfers(self) -> list[Transfer]:
        return [r for (kind, _), r in self.session.rows.items() if kind is Transfer]

    def user(self, user_id: str) -> User:
        user = self.session.get(User, user_id)
        assert user is not None
        return user  # type: ignore[no-any-return]


class FakeJoins:
    """The :class:`~engine.calls.transfers.CallJoins`: a console user's WebRTC join answers at
    once with :attr:`answer_sdp` and a numbered participant id."""

    answer_sdp = "v=0\r\no=engine 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"

    def __init__(self) -> None:
        self.joined: dict[str, str] = {}  # participant id -> call id
        self.joins: list[tuple[str, str, str | None]] = []  # (offer, role, actor)
        self.left: list[tuple[str, str]] = []  # (participant id, reason)

    async def join(self, call: Any, offer: str, role: str, actor: str | None) -> tuple[str, str]:
        pid = f"pid-{len(self.joins) + 1}"
        self.joins.append((offer, role, actor))
        self.joined[pid] = call.call_id
        return self.answer_sdp, pid

    async def leave(self, call: Any, pid: str, actor: str | None, *,
                    reason: str = "left") -> bool:
        self.left.append((pid, reason))
        return self.joined.pop(pid, None) is not None

    def is_joined(self, call_id: str, pid: str) -> bool:
        return self.joined.get(pid) == call_id


class FakeLookups:
    """The :class:`~engine.calls.transfers.Lookups`, over the fake store's rows."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def trunk(self, trunk_id: str) -> SipTrunk | None:
        return self.store.session.get(SipTrunk, trunk_id)  # type: ignore[no-any-return]

    async def user(self, user_id: str, organization_id: str) -> dict[str, Any] | None:
        user = self.store.session.get(User, user_id)
        if user is None or user.organization_id != organization_id:
            return None
        return {"id": user.id, "display_name": user.display_name, "presence": user.presence,
                "email": user.email, "role": user.role}

    async def user_name(self, user_id: str) -> str | None:
        user = self.store.session.get(User, user_id)
        return user.display_name if user is not None else None


# -- the call ------------------------------------------------------------------------------------

@dataclass
class Event:
    provider: str
    type: str
    fields: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


class FakeRecords:
    """The call's :class:`~engine.calls.records.CallRecords`: events and row updates kept."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.updates: list[dict[str, Any]] = []

    def add_event(self, call_id: str, provider: str, event_type: str, **fields: Any) -> None:
        self.events.append(Event(provider, event_type, fields))

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None:
        self.updates.append(fields)


@dataclass
class Line:
    index: int
    source: str
    text: str


@dataclass
class Said:
    text: str
    interruptible: bool
    end_after: bool


class FakePipeline:
    def __init__(self) -> None:
        self.lines = [Line(0, "agent", "Hello, order desk, how can I help?"),
                      Line(1, "user", "I want to change my delivery address.")]


class FakeAgent:
    """The call's :class:`~engine.calls.agent_leg.AgentLeg`: what it was told, kept."""

    def __init__(self) -> None:
        self.participant = Participant("agent", AGENT_MASKS, lambda: None, lambda _pcm: None)
        self.pipeline: FakePipeline | None = FakePipeline()
        self.slots: dict[str, Any] = {"order_number": "A-1234"}
        self.paused = False
        self.said: list[Said] = []
        self.context: list[str] = []
        self.speaking = False
        self._taken = 0

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def say(self, text: str, *, interrupt: bool = True, interruptible: bool = True,
            end_after: bool = False, source: str = "agent") -> None:
        self.said.append(Said(text, interruptible, end_after))

    def inject_context(self, text: str, *, trigger_response: bool = False) -> None:
        self.context.append(text)

    def take_index(self) -> int | None:
        if self.pipeline is None:
            return None
        self._taken += 1
        return len(self.pipeline.lines) + self._taken - 1

    def turns(self) -> list[Turn]:
        if self.pipeline is None:
            return []
        return [Turn(line.source, line.text) for line in self.pipeline.lines]


class FakeCall:
    """A live call (the :class:`~engine.calls.transfers.TransferableCall`): a real mixer with
    the caller and the agent in it, a real :class:`CallControl`, answered, no SIP of its own
    unless ``sip_call`` is given (a confirmed dialog, for REFER)."""

    def __init__(self, *, agent: bool = True, trunk_id: str | None = None,
                 sip_call: Any = None) -> None:
        self.call_id = CALL_ID
        self.route = Route(organization_id=ORG, phone_number_id="pn-1", number="+15550009999",
                           agent_id="agent-1", agent_name="Order desk", sip_trunk_id=trunk_id)
        self.records = FakeRecords()
        self.media = FakeMedia()
        self.mixer: Mixer | None = Mixer(CALL_ID)
        self.caller = self.mixer.add(Participant("caller", CALLER_MASKS, lambda: SILENCE,
                                                 lambda _pcm: None))
        self.agent: FakeAgent | None = FakeAgent() if agent else None
        self.agent_participant = self.mixer.add(
            self.agent.participant if self.agent is not None
            else Participant("agent", AGENT_MASKS, lambda: None, None))
        self.player = Player()
        self.answered_at = utcnow()
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.hangups: list[str] = []
        self._sip_call = sip_call
        self.control = CallControl(self)  # type: ignore[arg-type]

    @property
    def organization_id(self) -> str:
        return self.route.organization_id

    @property
    def trunk_id(self) -> str | None:
        return self.route.sip_trunk_id

    @property
    def remote_party(self) -> str:
        return CALLER

    @property
    def sip_call(self) -> Any:
        return self._sip_call

    @property
    def signalling(self) -> None:
        return None

    @property
    def rtp(self) -> None:
        return None

    def hangup(self, reason: str = "agent_hangup") -> None:
        self.hangups.append(reason)
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    def participants(self) -> list[str]:
        assert self.mixer is not None
        return [p.name for p in self.mixer.participants]


@dataclass
class FakeSipCall:
    """The call's own SIP leg, with a confirmed dialog a REFER may go in."""

    dialog: object = field(default_factory=object)
    state: str = "confirmed"


# -- the harness ---------------------------------------------------------------------------------

class Harness:
    """A call, the fakes of every edge, and :class:`Transfers` over them."""

    def __init__(self, *, agent: bool = True, sip_call: Any = None,
                 trunk: SipTrunk | None = None) -> None:
        self.store = FakeStore()
        if trunk is not None:
            self.store.session.add(trunk)
        self.call = FakeCall(agent=agent, trunk_id=trunk.id if trunk is not None else None,
                             sip_call=sip_call)
        self.rtp = FakeRtp()
        self.dialer = FakeDialer(self.rtp)
        self.joins = FakeJoins()
        self.lookups = FakeLookups(self.store)
        self.published: list[BusEvent] = []  # the typed events sent on the bus
        self.transcript: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[None]] = []
        # SipDialer and RtpPorts name the concrete OutgoingCall and RtpLeg: fakes need an ignore
        self.ctx = TransferContext(
            sip=self.dialer, rtp=self.rtp,  # type: ignore[arg-type]
            store=self.store, transcript=self.transcript.append,
            emit=self.published.append,
            joins=self.joins, spawn=self._spawn, lookups=self.lookups,
            recogniser=lambda: None)
        self.transfers = Transfers(self.ctx)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.append(task)
        return task

    # starting and driving transfers, as the API does

    async def blind(self, to: str, **fields: Any) -> dict[str, Any]:
        command = parse_command({"type": "transfer", "to": to, **fields})
        assert isinstance(command, TransferCommand)
        return await self.transfers.blind(self.call, CALL_ID, command, ACTOR)  # type: ignore[arg-type]

    async def warm(self, destinations: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        command = parse_warm_transfer({"destinations": destinations, **fields})
        return await self.transfers.warm(self.call, CALL_ID, command, ACTOR)  # type: ignore[arg-type]

    def user(self, name: str, presence: str = "available") -> str:
        """A console user of the call's organization; their id."""
        user = User(organization_id=ORG, email=f"{name.lower()}@example.com", display_name=name,
                    presence=presence)
        self.store.session.add(user)
        return user.id

    # waiting in virtual time

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def until(self, check: Callable[[], bool], what: str, within: float = 300.0) -> None:
        """Waits (virtual time) until ``check()`` holds; AssertionError after ``within`` s."""
        deadline = self.now() + within
        while not check():
            if self.now() > deadline:
                raise AssertionError(f"never happened: {what}")
            await asyncio.sleep(0.01)

    async def dialled(self, uri: str, state: str = "proceeding") -> FakeOutgoingCall:
        """The leg to ``uri`` once it reached ``state`` (ringing, by default)."""
        await self.until(lambda: any(c.target.uri == uri and c.state == state
                                     for c in self.dialer.calls), f"{uri} {state}")
        return self.dialer.to(uri)

    async def finished(self, within: float = 300.0) -> None:
        """Every transfer task has ended (AssertionError after ``within`` virtual s)."""
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=within)
            assert not pending, "a transfer is still running"
            for task in done:
                task.result()
        assert self.transfers.active == {}

    async def end_call(self, reason: str = "caller_hangup") -> None:
        """The caller hangs up; every transfer task ends."""
        self.call.hangup(reason)
        await self.finished()

    # what happened

    def row(self) -> Transfer:
        """The one transfer row in the store."""
        [row] = self.store.transfers()
        return row

    def events(self) -> list[str]:
        """The engine's ``transfer.*`` call events, in order."""
        return [e.type for e in self.call.records.events
                if e.provider == "engine" and e.type.startswith("transfer.")]

    def event(self, name: str) -> Event:
        """The last engine call event ``name``."""
        return [e for e in self.call.records.events
                if e.provider == "engine" and e.type == name][-1]

    def sip_events(self) -> list[str]:
        return [e.type for e in self.call.records.events if e.provider == "sip"]

    def statuses(self) -> list[str]:
        """The call row's status updates, in order."""
        return [u["status"] for u in self.call.records.updates if "status" in u]

    def said(self) -> list[str]:
        agent = self.call.agent
        assert agent is not None
        return [s.text for s in agent.said]

    def bus(self, type_: str) -> list[dict[str, Any]]:
        return [e.payload() for e in self.published if e.type == type_]

    def system_lines(self) -> list[str]:
        return [r["text"] for r in self.transcript if r["source"] == "system"]


def run(scenario: Callable[[Harness], Coroutine[Any, Any, None]], **harness: Any) -> None:
    """Runs ``scenario`` on a :class:`Harness` in virtual time; transfers it left running are
    cancelled (so a failing scenario reports its own error, not a loop closed under a task)."""

    async def main() -> None:
        h = Harness(**harness)
        try:
            await scenario(h)
        finally:
            for task in h.tasks:
                task.cancel()
            await asyncio.gather(*h.tasks, return_exceptions=True)

    run_virtual(main())


def phone_trunk(allow_refer: bool = False) -> SipTrunk:
    return SipTrunk(organization_id=ORG, name="carrier", host="10.0.0.50", port=5060,
                    allow_refer=allow_refer, caller_id="+15550009999")


__all__ = ["ACTOR", "BRIEFING_PCM", "CALLER", "CALL_ID", "FakeCall", "FakeDialer",
           "FakeJoins", "FakeLookups", "FakeMediaLoop", "FakeOutgoingCall", "FakeRefer",
           "FakeRtp", "FakeSipCall", "FakeStore", "Harness", "ReferScript", "Script", "answers",
           "phone_trunk", "rejects", "rings", "run"]
