"""The telephony service: one media clock for every call, the live calls (inbound and outbound
SIP calls, web calls) and their joins and transfers, the RTP-timeout watchdog, and, when SIP is
on, the SIP listener, trunk registration and outbound dialling.

Each call is a :class:`~engine.calls.live_call.LiveCall` over a leg of its kind; the service
starts it, keeps it among the live calls while it runs, and among the last hundred after.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections import deque
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlmodel import Session, select

from engine.calls.agent_leg import AgentLegs
from engine.calls.amd_gate import amd_gate
from engine.calls.analyst import CallAnalyst
from engine.calls.hooks import CallHooks
from engine.calls.inbound import InboundRouter
from engine.calls.joins import LiveJoins
from engine.calls.legs import SipInboundLeg, SipOutboundLeg, WebRtcLeg
from engine.calls.live_call import LiveCall
from engine.calls.media_context import MediaContext
from engine.calls.records import SerialRunner, SqlCallRecords
from engine.calls.routing import DialError, Route, load_dial_plan
from engine.calls.transfers import TransferContext, Transfers
from engine.calls.transfers.services import MediaRtp, StoreLookups, UaDialer, english_recogniser
from engine.events import Event, EventBus
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
from engine.store import SipTrunk, TranscriptEntry, session_scope, utcnow
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure
from engine.store.writer import BatchWriter

log = logging.getLogger(__name__)

RTP_TIMEOUT_S = 30.0  # no RTP for this long ends an answered call (Asterisk's rtptimeout is 60)
WATCHDOG_INTERVAL_S = 0.5
RTP_PORTS = (20000, 40000)
STOP_GRACE_S = 5.0
WARM_STOP_S = 30.0  # stop waits this long for the speech model loading at start (about 1.5 s)
SETUP_TIMES_KEPT = 2000  # the latest inbound calls' setup times kept for figures
FINISHED_KEPT = 100  # the last calls kept after they ended
SIP_OFF = "SIP is off in this engine (start it with --sip-port to dial and answer SIP calls)"


def port_free(host: str, port: int) -> bool:
    """Whether both UDP and TCP ``port`` can be bound on ``host`` now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


class Telephony:
    """Runs the engine's live calls: web calls and joins always, SIP calls when ``sip`` is on."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, bus: EventBus | None, host: str,
                 port: int, recordings_dir: Path, *, speak: bool = True, sip: bool = True,
                 port_fallback: bool = False, rtp_timeout_s: float = RTP_TIMEOUT_S,
                 clock: MediaClock | None = None, realtime: bool = False,
                 hooks: CallHooks | None = None) -> None:
        self.db = db
        self.bus = bus
        self.host = host
        self.port = port  # the SIP port once listening (0 asks for a free one)
        self.sip_enabled = sip
        self.port_fallback = port_fallback  # ``port`` taken: listen on a free one instead
        self.runner = SerialRunner(db)
        self.records = SqlCallRecords(db, writer, bus, self.runner)
        self.analyst = CallAnalyst(db, writer, self.runner.drained, self._emit)
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
        self.assistant_deadline_s = 0.0  # the hooks' own deadline once they are in use
        self.inbound = InboundRouter(db, self.records)
        self.ua: UserAgent | None = None
        self.calls: dict[str, LiveCall] = {}  # the live calls by id
        self.finished: deque[LiveCall] = deque(maxlen=FINISHED_KEPT)  # the last calls
        self.joins = LiveJoins(bus)  # WebRTC joins of live calls
        self.transfers = Transfers(TransferContext(
            sip=None, rtp=MediaRtp(self.media), store=self.runner.submit,
            transcript=lambda row: writer.add(TranscriptEntry, row), emit=self._emit,
            joins=self.joins, spawn=self._spawn, lookups=StoreLookups(db),
            recogniser=lambda: english_recogniser(self.media)))
        self.registrations: dict[str, Registration] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        if hooks is not None:
            self.use_hooks(hooks)

    def use_hooks(self, hooks: CallHooks) -> None:
        """The organization's webhooks: assistant requests and the brains' tools."""
        self.inbound.hooks = hooks
        self.agents.hooks = hooks
        self.assistant_deadline_s = hooks.assistant_deadline_s

    @property
    def dials(self) -> bool:
        """Whether queued outbound calls can be dialled (SIP is on and listening)."""
        return self.ua is not None

    @property
    def clock(self) -> MediaClock:
        return self.media_loop.clock

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The signalling loop the calls live on (API handlers hop onto it), once started."""
        return self._loop

    def _emit(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.emit(event)

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
        self.transfers.ctx = dataclasses.replace(self.transfers.ctx, sip=UaDialer(self.ua))
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
        for call in list(self.calls.values()):
            call.hangup(words.AGENT_HANGUP)
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

    async def _run(self, call: LiveCall) -> None:
        """Runs a call as one of the live calls; afterwards it is kept among the last ones."""
        self.calls[call.call_id] = call
        try:
            await call.run()
        finally:
            self.calls.pop(call.call_id, None)
            self.records.forget(call.call_id)
            self.finished.append(call)
            self.analyse(call.call_id)

    def analyse(self, call_id: str) -> None:
        """The post-call analysis of a call that has just ended, in the background."""
        self._spawn(self._analyse(call_id))

    async def _analyse(self, call_id: str) -> None:
        await self.analyst.call_ended(call_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- inbound -------------------------------------------------------------------------------

    def _on_invite(self, sip: IncomingCall) -> None:
        self._spawn(self._answer(sip))

    async def _answer(self, sip: IncomingCall) -> None:
        inbound = await self.inbound.route(sip, self.assistant_deadline_s)
        if inbound is None:
            return
        if inbound.stored:
            self.records.remember(inbound.call_id, inbound.route.organization_id)
        call = LiveCall(SipInboundLeg(sip, inbound.route, self.media, stored=inbound.stored),
                        inbound.route, self.records, self.media, call_id=inbound.call_id)
        call.on_answered = lambda: self.setup_times_s.append(time.monotonic() - sip.received_at)
        if inbound.asked is not None:
            self.records.add_event(call.call_id, "engine", "webhook.assistant_request",
                                   payload=inbound.asked)
        await self._run(call)

    # -- outbound ------------------------------------------------------------------------------

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
            error = CallFailure.of(words.DIAL_FAILED, str(exc) or None).metadata()
            self.records.update_call(call_id, {"status": "failed", "ended_at": utcnow(),
                                               "disconnect_reason": words.ERROR,
                                               "metadata_": error})
            self.records.add_event(call_id, "engine", "call.ended", status="failed",
                                   failure=words.ERROR, payload={"error": str(exc), **error})
            self.analyse(call_id)
            return
        self.records.remember(call_id, plan.organization_id)
        call = LiveCall(SipOutboundLeg(plan, self.ua, self.media), plan.route, self.records,
                        self.media, call_id=plan.call_id)
        call.amd = amd_gate(call, plan.metadata)  # answering-machine detection, when asked
        await self._run(call)

    # -- web calls -----------------------------------------------------------------------------

    async def web_call(self, route: Route, offer: str, *, actor: str | None) -> tuple[str, str]:
        """Starts a web call to ``route``'s agent: returns (call id, answer SDP). Raises
        OfferError for an offer that cannot be answered (the call is then failed)."""
        leg = WebRtcLeg(actor)
        call = LiveCall(leg, route, self.records, self.media)
        try:
            answer = await leg.accept(offer)
        except Exception as exc:
            call.setup_failed(exc)
            self.records.forget(call.call_id)
            self.analyse(call.call_id)
            raise
        self._spawn(self._run(call))
        return call.call_id, answer

    # -- trunks --------------------------------------------------------------------------------

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

    # -- the watchdog --------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            now = time.monotonic()
            for call in list(self.calls.values()):
                idle = call.rtp_idle_s(now)
                if call.reason is None and idle > self.rtp_timeout_s:
                    log.info("call %s: no RTP for %.1f s", call.call_id, idle)
                    call.hangup(words.RTP_TIMEOUT, CallFailure.of(
                        words.RTP_TIMEOUT, f"No audio (RTP) came from the {call.leg.name} for "
                                           f"{idle:.1f} s (the limit is {self.rtp_timeout_s:g} s)."))


__all__ = ["RTP_TIMEOUT_S", "SIP_OFF", "Telephony", "port_free"]
