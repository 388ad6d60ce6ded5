"""The telephony service: one media clock for every call, the agents' legs, WebRTC joins and web
calls, the RTP-timeout watchdog, the store writes of each call, and, when SIP is on, the SIP
listener, inbound routing by dialled number, trunk registration and outbound dialling.

Ordinary call-row writes go through one serial worker thread (in order, never on the event
loop); call events go through the engine's BatchWriter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from engine.calls.agent_leg import AgentLegs
from engine.calls.joins import LiveJoins
from engine.calls.outbound import DialPlan, OutboundSession
from engine.calls.session import CallSession, MediaContext, Route
from engine.calls.transfers import Transfers
from engine.events import EventBus
from engine.media import MediaClock
from engine.media.loop import MediaLoop
from engine.sip.auth import Credentials
from engine.sip.ports import RtpPorts
from engine.sip.registration import Registration
from engine.sip.rtp_batch import RtpBatch
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uas import IncomingCall
from engine.speech.models import SpeechModels
from engine.store import Agent, Call, CallEvent, PhoneNumber, SipTrunk, session_scope, utcnow
from engine.store.columns import column_pairs
from engine.store.types import new_id
from engine.store.writer import BatchWriter, row_values
from engine.webhooks.dispatcher import ASSISTANT_DEADLINE_S
from engine.webhooks.targets import targets_for

if TYPE_CHECKING:
    from engine.calls.web_session import WebCallSession

log = logging.getLogger(__name__)

RTP_TIMEOUT_S = 30.0  # no RTP for this long ends an answered call (Asterisk's rtptimeout is 60)
WATCHDOG_INTERVAL_S = 0.5
RTP_PORTS = (20000, 40000)
STOP_GRACE_S = 5.0
WARM_STOP_S = 30.0  # stop waits this long for the speech model loading at start (about 1.5 s)
ASSISTANT_REJECT_STATUS = 403  # the assistant-request answer refused an inbound call
SETUP_TIMES_KEPT = 2000  # the latest inbound calls' setup times kept for figures
SIP_OFF = "SIP is off in this engine (start it with --sip-port to dial and answer SIP calls)"


StoreJob = Callable[[Session], None]
# a queued store job with what runs once its transaction has ended, and once it has committed
_Queued = tuple[StoreJob, Callable[[], None] | None, Callable[[], None] | None]

# The call-row and route statements are built once: the values go as execution parameters, so
# SQLAlchemy's statement cache finds each compiled form by the set of columns written, instead of
# building a bound parameter and a cache key for each of a call row's fifty values every time.
ROW_ID = "row_id"  # the WHERE parameter of the call-row statements (not a column of calls)
_CALLS: Table = Call.__table__  # type: ignore[attr-defined]
_INSERT_CALL = insert(_CALLS)
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam(ROW_ID))
_CALL_METADATA = core_select(_CALLS.c["metadata"]).where(_CALLS.c.id == bindparam(ROW_ID))
_NUMBERS: Table = PhoneNumber.__table__  # type: ignore[attr-defined]
_AGENTS: Table = Agent.__table__  # type: ignore[attr-defined]
_ROUTE = (
    core_select(_NUMBERS.c.organization_id, _NUMBERS.c.id, _NUMBERS.c.number,
                _NUMBERS.c.sip_trunk_id, _AGENTS.c.id.label("agent_id"), _AGENTS.c.name,
                _AGENTS.c.first_message, _AGENTS.c.tts)
    .select_from(_NUMBERS.outerjoin(_AGENTS, _AGENTS.c.id == _NUMBERS.c.agent_id))
    .where(_NUMBERS.c.number.in_(bindparam("numbers", expanding=True)))
    .limit(1)
)


class SerialRunner:
    """Runs blocking store writes on a worker thread, in submission order.

    The jobs queued while a batch is being written go together in the next: one thread hop and
    one transaction for all of them (a burst of call setups is hundreds of small row writes). A
    batch that fails is retried job by job, so one bad write loses only itself. ``after``
    callbacks run on the worker thread once their job's transaction has ended, ``on_commit``
    callbacks only once it has committed.
    """

    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Queued | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="telephony-store")

    def submit(self, job: StoreJob, after: Callable[[], None] | None = None, *,
               on_commit: Callable[[], None] | None = None) -> None:
        self._queue.put_nowait((job, after, on_commit))

    async def drained(self, within: float = 10.0) -> None:
        """Wait until every write submitted so far has landed (or ``within`` seconds)."""
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        self.submit(lambda _session: None, after=lambda: loop.call_soon_threadsafe(done.set))
        await asyncio.wait_for(done.wait(), within)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if None in batch:
                stopping = True
                batch = batch[:batch.index(None)]
            jobs = [item for item in batch if item is not None]
            if jobs:
                await asyncio.to_thread(self._write, jobs)

    def _write(self, jobs: list[_Queued]) -> None:
        committed = [True] * len(jobs)
        try:
            with session_scope(self.db) as session:
                for job, _, _ in jobs:
                    job(session)
        except Exception:
            if len(jobs) == 1:
                log.exception("telephony store write failed")
                committed[0] = False
            else:
                for index, (job, _, _) in enumerate(jobs):
                    try:
                        with session_scope(self.db) as session:
                            job(session)
                    except Exception:
                        log.exception("telephony store write failed")
                        committed[index] = False
        for (_, after, on_commit), ok in zip(jobs, committed, strict=True):
            for callback in (after, on_commit if ok else None):
                if callback is not None:
                    try:
                        callback()
                    except Exception:
                        log.exception("after a telephony store write")

    async def stop(self) -> None:
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None


class SqlCallRecords:
    """:class:`~engine.calls.session.CallRecords` on the engine's store, writer and event bus."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, bus: EventBus | None,
                 runner: SerialRunner) -> None:
        self.db = db
        self.writer = writer
        self.bus = bus
        self.runner = runner
        self._orgs: dict[str, str] = {}
        self._columns = dict(column_pairs(Call))  # attribute -> column

    def create_call(self, fields: dict[str, Any], *, call_id: str | None = None) -> str:
        call_id = call_id or new_id()
        org = fields["organization_id"]
        self._orgs[call_id] = org
        now = utcnow()
        values, _ = row_values(Call, {"id": call_id, "created_at": now, "updated_at": now,
                                      **fields})
        self.runner.submit(lambda session: session.execute(_INSERT_CALL, values))
        self._publish("call.created", call_id, {"id": call_id, "status": fields.get("status"),
                                                "direction": fields.get("direction")})
        return call_id

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None:
        values = {self._columns[key]: value for key, value in fields.items()}
        values["updated_at"] = utcnow()
        values[ROW_ID] = call_id
        patch = values.pop("metadata", None)
        if patch is None:  # a plain UPDATE
            self.runner.submit(lambda session: session.execute(_UPDATE_CALL, values))
        else:
            def merge(session: Session) -> None:
                """Metadata is merged into what the row holds, so the row's metadata is read."""
                row = session.execute(_CALL_METADATA, {ROW_ID: call_id}).first()
                if row is None:
                    return
                values["metadata"] = {**(row[0] or {}), **patch}
                session.execute(_UPDATE_CALL, values)

            self.runner.submit(merge)
        public = {k: v for k, v in fields.items() if k in ("status", "disconnect_reason",
                                                            "duration_seconds")}
        self._publish("call.updated", call_id, {"id": call_id, **public})

    def add_event(self, call_id: str, provider: str, event_type: str, *, status: str | None = None,
                  code: int | None = None, reason: str | None = None, failure: str | None = None,
                  actor: str | None = None, payload: dict[str, Any] | None = None) -> None:
        self.writer.add(CallEvent, {
            "organization_id": self._orgs.get(call_id, ""), "call_id": call_id,
            "provider": provider, "event_type": event_type, "status": status,
            "sip_status_code": code, "sip_status": reason, "failure_cause": failure,
            "actor": actor, "payload": payload or {}, "occurred_at": utcnow(),
        })

    def remember(self, call_id: str, organization_id: str) -> None:
        self._orgs[call_id] = organization_id

    def forget(self, call_id: str) -> None:
        self._orgs.pop(call_id, None)

    def _publish(self, type_: str, call_id: str, data: dict[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish(type_, self._orgs.get(call_id, ""), data, call_id=call_id)


def port_free(host: str, port: int) -> bool:
    """Whether both UDP and TCP ``port`` can be bound on ``host`` now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def number_candidates(user: str) -> list[str]:
    """The stored forms a dialled user part may match: with and without the leading +."""
    bare = user.strip().lstrip("+")
    return [bare, f"+{bare}"] if bare else []


def lookup_route(db: SqlEngine, user: str) -> Route | None:
    """Blocking: the phone number (and its agent) that a Request-URI user part dials."""
    candidates = number_candidates(user)
    if not candidates:
        return None
    with db.connect() as conn:
        row = conn.execute(_ROUTE, {"numbers": candidates}).first()
    if row is None:
        return None
    tts = row.tts or {}
    return Route(
        organization_id=row.organization_id, phone_number_id=row.id, number=row.number,
        agent_id=row.agent_id, agent_name=row.name or "", first_message=row.first_message or "",
        voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None,
        sip_trunk_id=row.sip_trunk_id,
    )


def apply_choice(db: SqlEngine, route: Route, choice: dict[str, Any]) -> None:
    """Blocking: an assistant-request answer applied to an inbound call's route: another agent
    (its name, greeting and voice), agent field overrides, dynamic variables."""
    agent_id = choice.get("agent_id")
    if agent_id and agent_id != route.agent_id:
        with session_scope(db) as session:
            agent = session.get(Agent, agent_id)
            if agent is not None:
                tts = agent.tts or {}
                route.agent_id, route.agent_name = agent.id, agent.name
                route.first_message = agent.first_message
                route.voice, route.rate_wpm = tts.get("voice") or None, tts.get("rate") or None
    overrides = dict(choice.get("overrides") or {})
    if overrides:
        route.overrides = overrides
        if isinstance(overrides.get("first_message"), str):
            route.first_message = overrides["first_message"]
        tts = overrides.get("tts")
        if isinstance(tts, dict):
            route.voice = tts.get("voice") or route.voice
            route.rate_wpm = tts.get("rate") or route.rate_wpm
    variables = choice.get("dynamic_variables")
    if variables:
        route.variables = {**route.variables, **dict(variables)}


class DialError(Exception):
    """A queued call that cannot be dialled (no such call, not queued, no trunk)."""


def load_dial_plan(db: SqlEngine, call_id: str) -> DialPlan:
    """Blocking: how to dial a stored queued outbound call, through its number's trunk, and
    the call's agent that talks with the callee."""
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None:
            raise DialError(f"no call {call_id}")
        if call.status != "queued" or call.direction != "outbound":
            raise DialError(f"call {call_id} is {call.direction} {call.status}, not queued outbound")
        trunk_id = call.sip_trunk_id
        if trunk_id is None and call.phone_number_id is not None:
            number = session.get(PhoneNumber, call.phone_number_id)
            trunk_id = number.sip_trunk_id if number is not None else None
        trunk = session.get(SipTrunk, trunk_id) if trunk_id else None
        if trunk is None:
            raise DialError("no SIP trunk to dial through (give the number a trunk)")
        agent = session.get(Agent, call.agent_id) if call.agent_id else None
        tts = agent.tts if agent is not None else {}
        return DialPlan(
            call_id=call.id, organization_id=call.organization_id, to_number=call.to_number,
            from_number=call.from_number, host=trunk.host, port=trunk.port,
            transport=trunk.transport.upper(), username=trunk.username, password=trunk.password,
            realm=trunk.auth_realm, caller_id=trunk.caller_id or call.from_number or None,
            ringing_timeout_s=float(call.ringing_timeout_seconds or 30),
            agent_id=agent.id if agent is not None else None,
            agent_name=agent.name if agent is not None else "",
            first_message=agent.first_message if agent is not None else "",
            voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None,
            phone_number_id=call.phone_number_id or "", sip_trunk_id=trunk.id,
            variables=dict(call.dynamic_variables or {}))


class Telephony:
    """Runs the engine's live calls: web calls and joins always, SIP calls when ``sip`` is on."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, bus: EventBus | None, host: str,
                 port: int, recordings_dir: Path, *, speak: bool = True, sip: bool = True,
                 port_fallback: bool = False, rtp_timeout_s: float = RTP_TIMEOUT_S,
                 clock: MediaClock | None = None, realtime: bool = False) -> None:
        self.db = db
        self.host = host
        self.port = port  # the SIP port once listening (0 asks for a free one)
        self.sip_enabled = sip
        self.port_fallback = port_fallback  # ``port`` taken: listen on a free one instead
        self.runner = SerialRunner(db)
        self.records = SqlCallRecords(db, writer, bus, self.runner)
        clock = clock or MediaClock()
        # the media thread and the RTP pacer ask for real-time scheduling (engine.media.realtime)
        self.media_loop = MediaLoop(clock, realtime=realtime)
        # each inbound call's INVITE received to its 200 OK sent
        self.setup_times_s: deque[float] = deque(maxlen=SETUP_TIMES_KEPT)
        self.media = MediaContext(self.media_loop, host, recordings_dir, RtpPorts(RTP_PORTS),
                                  RtpBatch(clock), speak)
        # recordings_dir is <data dir>/recordings (Settings): models live in <data dir>/models
        self.agents = AgentLegs(db, writer, bus, SpeechModels(recordings_dir.parent))
        self.media.agents = self.agents
        self.rtp_timeout_s = rtp_timeout_s
        self.ua: UserAgent | None = None
        self.sessions: dict[str, CallSession | OutboundSession | WebCallSession] = {}
        self.finished: list[CallSession | OutboundSession | WebCallSession] = []  # the last calls
        self.joins = LiveJoins(self, bus)  # WebRTC joins of live calls, and web calls
        self.transfers = Transfers(self)  # blind and warm transfers of live calls
        self.webhooks: Any = None  # engine.webhooks.WebhookDispatcher: assistant requests
        self.assistant_deadline_s = ASSISTANT_DEADLINE_S
        self.registrations: dict[str, Registration] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def clock(self) -> MediaClock:
        return self.media_loop.clock

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The signalling loop the calls live on (API handlers hop onto it), once started."""
        return self._loop

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.runner.start()
        if self.media.batch is not None:
            # before the media loop hands it anything
            self.media.batch.start_pacer(self.media_loop.realtime)
        self.media_loop.start()
        if self.media.speak:
            self.agents.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="rtp-watchdog")
        if not self.sip_enabled:
            log.info("SIP is off: web calls and joins only")
            return
        self.ua = await self._listen()
        self.port = self.ua.port
        log.info("SIP listening on %s:%d (UDP, TCP)", self.host, self.port)
        self._spawn(self._register_trunks())

    async def _listen(self) -> UserAgent:
        port = self.port
        if self.port_fallback and port and not port_free(self.host, port):
            log.info("SIP port %d is taken; listening on a free port", port)
            port = 0
        try:
            return await UserAgent.listen(self.host, port, self._on_invite)
        except OSError:
            if not self.port_fallback or port == 0:
                raise
            log.info("SIP port %d is taken; listening on a free port", port)
            return await UserAgent.listen(self.host, 0, self._on_invite)

    async def stop(self) -> None:
        for registration in self.registrations.values():
            registration.close()
        for session in list(self.sessions.values()):
            session.hangup("agent_hangup")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self.ua is not None:
            self.ua.close()
        await self.joins.close()
        await self.media_loop.stop()
        if self.media.batch is not None:
            await asyncio.to_thread(self.media.batch.stop_pacer)
        await self.runner.stop()
        # a model still loading on its thread when the process exits aborts it (CTranslate2)
        await asyncio.to_thread(self.agents.models.wait_warm, WARM_STOP_S)

    def run_session(self, session: WebCallSession) -> asyncio.Task[None]:
        """Runs a session started elsewhere (a web call) as one of the live calls."""
        return self._spawn(self._run_tracked(session))

    async def _run_tracked(self, session: Any) -> None:
        """Run a session as one of the live calls; afterwards it is kept among the last 100."""
        self.sessions[session.call_id] = session
        try:
            await session.run()
        finally:
            self.sessions.pop(session.call_id, None)
            self.records.forget(session.call_id)
            self.finished = [*self.finished[-99:], session]

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_invite(self, call: IncomingCall) -> None:
        self._spawn(self._handle(call))

    # outbound
    def dial_soon(self, call_id: str) -> None:
        """:meth:`dial` from any thread (an API handler running in a worker thread)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("telephony is not started")
        loop.call_soon_threadsafe(self.dial, call_id)

    def dial(self, call_id: str) -> asyncio.Task[None]:
        """Place a stored queued outbound call through its number's trunk (in the background)."""
        return self._spawn(self._dial(call_id))

    async def _dial(self, call_id: str) -> None:
        try:
            if self.ua is None:
                raise DialError(SIP_OFF)
            plan = await asyncio.to_thread(load_dial_plan, self.db, call_id)
        except DialError as exc:
            log.info("call %s not dialled: %s", call_id, exc)
            self.records.update_call(call_id, {"status": "failed", "ended_at": utcnow(),
                                               "disconnect_reason": "error",
                                               "metadata_": {"error_message": str(exc)}})
            self.records.add_event(call_id, "engine", "call.ended", status="failed",
                                   failure="error", payload={"error": str(exc)})
            return
        ua = self.ua
        assert ua is not None  # checked above
        self.records.remember(call_id, plan.organization_id)
        await self._run_tracked(OutboundSession(plan, ua, self.records, self.media))

    async def _register_trunks(self) -> None:
        def trunks() -> list[SipTrunk]:
            with session_scope(self.db) as session:
                return list(session.exec(select(SipTrunk).where(
                    SipTrunk.register_enabled == True)).all())  # noqa: E712 - SQL expression

        for trunk in await asyncio.to_thread(trunks):
            await self.register_trunk(trunk)

    async def register_trunk(self, trunk: SipTrunk) -> Registration:
        """REGISTER with a trunk and keep the binding refreshed; its status goes to the row."""
        if self.ua is None:
            raise RuntimeError(SIP_OFF)
        old = self.registrations.pop(trunk.id, None)
        if old is not None:
            old.close()
        user = trunk.username or "switchboard"
        credentials = Credentials(trunk.username, trunk.password or "", trunk.auth_realm) \
            if trunk.username else None
        registration = Registration(
            self.ua, Peer(trunk.transport.upper(), trunk.host, trunk.port),
            f"sip:{user}@{trunk.host}", credentials=credentials,
            expires=trunk.register_expires_seconds)
        trunk_id = trunk.id

        def store(reg: Registration) -> None:
            status = "registered" if reg.state == "registered" else "failed"

            def update(session: Session) -> None:
                row = session.get(SipTrunk, trunk_id)
                if row is not None:
                    row.registration_status = status
                    row.updated_at = utcnow()

            self.runner.submit(update)

        registration.on_change = store
        self.registrations[trunk_id] = registration
        await registration.register()
        return registration

    async def _handle(self, call: IncomingCall) -> None:
        try:
            route = await asyncio.to_thread(lookup_route, self.db, call.user)
        except Exception:
            log.exception("routing %s failed", call.user)
            call.reject(500, "error")
            return
        if call.state == "ended":
            return  # cancelled while routing
        if route is None:
            log.info("INVITE for unknown number %r from %s: 404", call.user, call.caller)
            call.reject(404, "not_found")
            return
        call_id = new_id()
        choice, asked = await self._ask_assistant(call, route, call_id)
        if call.state == "ended":
            return  # cancelled while the webhook thought
        if choice is not None and choice.get("error"):
            self._reject_by_webhook(call, route, call_id, str(choice["error"]), asked or {})
            return
        if route.agent_id is None:
            call.reject(480, "no_agent")
            return
        session = CallSession(call, route, self.records, self.media, call_id=call_id)
        session.on_answered = lambda: self.setup_times_s.append(time.monotonic()
                                                                 - call.received_at)
        if asked is not None:
            self.records.add_event(call_id, "engine", "webhook.assistant_request", payload=asked)
        await self._run_tracked(session)

    async def _ask_assistant(self, call: IncomingCall, route: Route, call_id: str
                             ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The organization's assistant-request webhook, when it has one, may pick another agent,
        override the agent's fields, set dynamic variables or refuse the call; its answer is
        applied to ``route``. No answer within the deadline (or an error): the number's agent.
        Returns the answer and what to log of it (both None without such a webhook)."""
        webhooks = self.webhooks
        if webhooks is None:
            return None, None
        targets = await targets_for(self.db, route.organization_id, "assistant-request",
                                    route.agent_id)
        if not targets:
            return None, None
        summary = {"id": call_id, "type": "phone_call", "transport": "sip",
                   "direction": "inbound", "status": "ringing", "from_number": call.caller,
                   "to_number": route.number, "phone_number_id": route.phone_number_id,
                   "agent_id": route.agent_id, "sip_call_id": call.call_id}
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = self.assistant_deadline_s
        choice = await webhooks.request_assistant(route.organization_id, summary, deadline)
        elapsed_ms = round((loop.time() - started) * 1000)
        event: dict[str, Any] = {"elapsed_ms": elapsed_ms, "deadline_ms": round(deadline * 1000),
                                 "default_agent_id": route.agent_id}
        if choice is None:
            timed_out = elapsed_ms >= deadline * 1000 - 50
            event["outcome"] = "timeout" if timed_out else "default"
            log.info("call %s: assistant-request %s; the number's agent answers", call_id,
                     "timed out" if timed_out else "chose nothing")
        elif choice.get("error"):
            event.update(outcome="rejected", error=str(choice["error"]))
        else:
            await asyncio.to_thread(apply_choice, self.db, route, choice)
            event.update(outcome="applied", agent_id=route.agent_id,
                         overrides=sorted(route.overrides),
                         dynamic_variables=sorted(route.variables))
        return choice, event

    def _reject_by_webhook(self, call: IncomingCall, route: Route, call_id: str,
                           error: str, asked: dict[str, Any]) -> None:
        """The assistant-request answer refused the call: 403, with its row and event kept."""
        call.reject(ASSISTANT_REJECT_STATUS, "rejected")
        now = utcnow()
        self.records.create_call({
            "organization_id": route.organization_id, "type": "phone_call", "transport": "sip",
            "direction": "inbound", "from_number": call.caller, "to_number": route.number,
            "agent_id": route.agent_id, "phone_number_id": route.phone_number_id,
            "sip_trunk_id": route.sip_trunk_id, "sip_call_id": call.call_id, "status": "failed",
            "initiated_at": now, "ended_at": now, "disconnect_reason": "assistant_rejected",
            "metadata_": {"sip_call_id": call.call_id, "error_message": error},
        }, call_id=call_id)
        self.records.add_event(call_id, "engine", "webhook.assistant_request", payload=asked)
        self.records.add_event(call_id, "sip", "response_sent", code=ASSISTANT_REJECT_STATUS,
                               reason="Forbidden")
        self.records.add_event(call_id, "engine", "call.ended", status="failed",
                               failure="assistant_rejected", payload={"error": error})
        self.records.forget(call_id)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if session.reason is None and session.rtp_idle_s(now) > self.rtp_timeout_s:
                    log.info("call %s: no RTP for %.1f s", session.call_id, session.rtp_idle_s(now))
                    session.hangup("rtp_timeout")
