"""Engine: builds and wires the parts (store, writer, events, API) and runs them."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
from typing import Any

import uvicorn
from sqlalchemy import Engine as SqlEngine
from sqlmodel import select

from engine.bootstrap import ensure_root
from engine.calls.facade import LiveCalls
from engine.calls.telephony import Telephony
from engine.campaigns import Dialer, TelephonyPlacer
from engine.demo.catalog import CALLEES_HOST, CALLEES_TRUNK
from engine.events import EventBus
from engine.settings import Settings
from engine.simulator.callee import SimulatedCallees
from engine.simulator.demo_callers import DemoCallers, persona_calls
from engine.simulator.placing import SimulatedCalls
from engine.simulator.rehearsal import Rehearsals
from engine.store import BatchWriter, SipTrunk, make_engine, migrate, session_scope
from engine.webhooks import WebhookDispatcher
from engine.webhooks.call_hooks import DispatcherHooks

log = logging.getLogger(__name__)

# A call's row is closed (transcript, latency, recording) within a second or two of its end on
# the 2-core test machine; a rehearsal waits at most this long for it.
SETTLE_S = 20.0
SETTLE_POLL_S = 0.1


class Engine:
    """The headless engine. ``setup()`` prepares the store; ``start()``/``stop()`` run the tasks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db: SqlEngine = make_engine(settings.db_url)
        self.bus = EventBus()
        self.writer = BatchWriter(self.db)
        self.webhooks = WebhookDispatcher(self.db, self.bus)
        self.organization_id = ""
        self.ready = False
        self.telephony: Telephony | None = None  # once started
        self.live = LiveCalls(None)  # the live calls as the API reaches them
        self.demo_callers: DemoCallers | None = None  # with SIP on: demo_callers > 0 starts them
        self.test_calls: SimulatedCalls | None = None  # with SIP on: test calls that run
        self.rehearsals: Rehearsals | None = None  # with SIP on
        self.callees: SimulatedCallees | None = None  # with SIP on and the demo's trunk to them
        self.dialer: Dialer | None = None  # with SIP on: calls the running campaigns' leads

    def setup(self) -> str | None:
        """Migrate and bootstrap; returns a newly generated admin key (print it once) or None."""
        migrate(self.db)
        self.organization_id, generated = ensure_root(self.db, self.settings.api_key)
        return generated

    async def start(self) -> None:
        self.bus.bind(asyncio.get_running_loop())
        self.writer.start()
        await self.webhooks.start()
        settings = self.settings
        self.telephony = Telephony(self.db, self.writer, self.bus, settings.sip_host,
                                   settings.sip_port, settings.recordings_dir,
                                   sip=settings.sip_enabled,
                                   port_fallback=settings.sip_port_fallback,
                                   realtime=settings.media_realtime,
                                   hooks=DispatcherHooks(self.db, self.webhooks))
        self.live = LiveCalls(self.telephony)
        await self.telephony.start()
        if self.sip_port is not None:
            telephony = self.telephony
            host = "127.0.0.1" if settings.sip_host in ("", "0.0.0.0") else settings.sip_host
            calls = persona_calls(telephony.agents.models.whisper, host, self.sip_port)
            self.demo_callers = DemoCallers(calls, target=max(settings.demo_callers, 1))
            self.demo_callers.enabled = settings.demo_callers > 0
            if self.demo_callers.enabled:
                self.demo_callers.start()
            self.test_calls = SimulatedCalls(host, self.sip_port, telephony.records,
                                             telephony.agents.models.whisper)
            self.test_calls.start()
            self.rehearsals = Rehearsals(self.db, self.bus, self.test_calls, self.settle_call)
            self.rehearsals.start()
            await self._start_callees()
            self.dialer = Dialer(self.db, TelephonyPlacer(telephony, telephony.runner.drained),
                                 bus=self.bus)
            self.dialer.start()
        self.ready = True

    async def _start_callees(self) -> None:
        """The demo's simulated people, when the store has the demo's trunk to them: they listen
        on a free loopback port, which the trunk is pointed at."""
        def trunk_ids() -> list[str]:
            with session_scope(self.db) as session:
                return list(session.exec(select(SipTrunk.id).where(
                    SipTrunk.name == CALLEES_TRUNK, SipTrunk.host == CALLEES_HOST)).all())

        ids = await asyncio.to_thread(trunk_ids)
        if not ids or self.telephony is None:
            return
        callees = SimulatedCallees(host=CALLEES_HOST, stt=self.telephony.agents.models.whisper,
                                   codec="g722")
        await callees.start()
        self.callees = callees

        def point(port: int) -> None:
            with session_scope(self.db) as session:
                for trunk_id in ids:
                    trunk = session.get(SipTrunk, trunk_id)
                    if trunk is not None:
                        trunk.port = port
                        session.add(trunk)

        await asyncio.to_thread(point, callees.port)
        log.info("simulated people answer the demo trunk on %s:%d", CALLEES_HOST, callees.port)

    async def settle_call(self, call_id: str, within: float = SETTLE_S) -> None:
        """Until the call is no longer live here and every write of its row has landed."""
        telephony = self.telephony
        assert telephony is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while call_id in telephony.calls and loop.time() < deadline:  # noqa: ASYNC110 - the calls are a dict
            await asyncio.sleep(SETTLE_POLL_S)
        await telephony.runner.drained(max(deadline - loop.time(), 1.0))
        await asyncio.to_thread(self.writer.flush)

    @property
    def sip_port(self) -> int | None:
        """The port SIP listens on (UDP and TCP), or None when SIP is off."""
        telephony = self.telephony
        if telephony is None or telephony.ua is None:
            return None
        return int(telephony.port)

    async def stop(self) -> None:
        self.ready = False
        if self.dialer is not None:
            await self.dialer.stop()
        if self.demo_callers is not None:
            await self.demo_callers.stop()
        if self.rehearsals is not None:
            await self.rehearsals.stop()
        if self.test_calls is not None:
            await self.test_calls.stop()
        if self.callees is not None:
            await self.callees.stop()
        if self.telephony is not None:
            await self.telephony.stop()
        await self.webhooks.stop()
        await self.writer.stop()

    def close(self) -> None:
        self.db.dispose()


async def freeze_startup_heap(engine: Engine) -> None:
    """Put everything the engine allocated while starting (modules, classes, the store's
    mappings, the speech models' Python side) out of the garbage collector's sight: a full
    collection then scans only what calls made since. A full collection holds the GIL, and so
    stalls the media thread; over the ~200k objects of a started engine it took 90-150 ms, each
    time 200 calls' frames late by that much (``bench/sip_capacity.py``). Frozen once the
    engine is up, and again once its speech models are loaded."""
    gc.freeze()
    telephony = engine.telephony
    if telephony is not None:
        await asyncio.to_thread(telephony.agents.models.wait_warm)
        gc.freeze()


async def serve(settings: Settings, *, parent_pid: int | None = None,
                ready_line: bool = True, demo: bool = False) -> None:
    """Run the engine with its API until SIGINT/SIGTERM (or until the parent process dies)."""
    from engine.api import create_app

    engine = Engine(settings)
    generated = engine.setup()
    if demo:
        from engine.demo import seed_if_empty

        seed_if_empty(engine.db, engine.organization_id)
    if generated:
        print(f"Admin API key (shown once, store it now): {generated}", flush=True)
    app = create_app(engine)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            lifespan="off", ws_ping_interval=20)
    # uvicorn (>= 0.29) takes SIGINT/SIGTERM itself while it serves (from the main thread) and
    # gives the loop's handlers below back when it stops
    server = uvicorn.Server(config)
    await engine.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    watchdog = loop.create_task(_watch_parent(parent_pid, server)) if parent_pid else None
    freezing = loop.create_task(freeze_startup_heap(engine))
    serving = loop.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.01)
    if server.started and ready_line:
        port = server.servers[0].sockets[0].getsockname()[1]
        ready: dict[str, Any] = {"event": "ready", "url": f"http://{settings.host}:{port}",
                                 "data_dir": str(settings.data_dir)}
        if engine.sip_port is not None:
            ready["sip"] = f"{settings.sip_host}:{engine.sip_port}"
        print(json.dumps(ready), flush=True)
    try:
        await serving
    finally:
        if watchdog:
            watchdog.cancel()
        freezing.cancel()
        await engine.stop()
        engine.close()


async def _watch_parent(parent_pid: int, server: uvicorn.Server) -> None:
    """Stop when the process that started us is gone (the console was killed)."""
    while True:
        await asyncio.sleep(0.5)
        if os.getppid() != parent_pid:
            server.should_exit = True
            return


def run(settings: Settings, *, parent_pid: int | None = None, ready_line: bool = True,
        demo: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(settings, parent_pid=parent_pid, ready_line=ready_line, demo=demo))
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["Engine", "run", "serve"]
