"""Demo callers: simulated persona calls kept in progress against the engine's own SIP port.

While enabled, every few seconds (a random gap) one more call starts, from a persona that fits
one of the demo numbers, until ``target`` are in progress; each runs to its end. Disabling stops
new calls only. A call's error is logged and the service goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from engine.simulator.caller import CALL_LIMIT_S, Line, SimulatedCaller, needs_hearing, render
from engine.simulator.personas import Persona, load_persona
from engine.speech.stt import SttEngine

log = logging.getLogger(__name__)

# The demo numbers (engine/demo/catalog.py) and the personas written for the agent behind each
# (resources/personas): the order-status agent has the order lookup and a transfer, billing the
# keypad menu and the billing desk, appointments the booking questions (and wrong numbers).
# silent_caller (40 s of silence) and quick_question (the test calls' default) are left out.
ORDERS = "+14155550134"
BILLING = "+14155550178"
APPOINTMENTS = "+12125550142"
DEMO_ROUTES: tuple[tuple[str, str], ...] = (
    ("order_status", ORDERS),
    ("interrupter", ORDERS),
    ("wants_human", ORDERS),
    ("ivr_presser", BILLING),
    ("billing_dispute", BILLING),
    ("appointment_booking", APPOINTMENTS),
    ("wrong_number", APPOINTMENTS),
)
DEFAULT_TARGET = 3
# Gap between two call starts: a new call every few seconds reads as a lively switchboard, and
# the first ones overlap while whisper still keeps up on a 2-core machine.
GAP_S = (2.0, 6.0)
# On stop, calls in progress get this long to end by themselves before they are cancelled
STOP_GRACE_S = 5.0

CallFactory = Callable[[str, str], Awaitable[object]]  # (persona, number) -> runs one call


class DemoCallers:
    """Keeps up to ``target`` calls of ``start_call`` in progress while enabled."""

    def __init__(self, start_call: CallFactory, *, target: int = DEFAULT_TARGET,
                 routes: tuple[tuple[str, str], ...] = DEMO_ROUTES,
                 gap_s: tuple[float, float] = GAP_S, seed: float | None = None) -> None:
        if target < 1:
            raise ValueError(f"target must be at least 1, got {target}")
        self.start_call = start_call
        self.target = target
        self.routes = routes
        self.gap_s = gap_s
        self.rng = random.Random(time.time() if seed is None else seed)
        self.enabled = True
        self.started = 0  # calls started so far
        self.failed = 0  # calls that raised
        self._calls: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    @property
    def in_progress(self) -> int:
        return len(self._calls)

    def state(self) -> dict[str, bool | int]:
        return {"enabled": self.enabled, "target": self.target, "in_progress": self.in_progress}

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="demo-callers")

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """No new calls; those in progress get ``grace_s`` to end, then are cancelled."""
        self.enabled = False
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        calls = set(self._calls)
        if calls:
            _, pending = await asyncio.wait(calls, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(*self.gap_s))
            if self.enabled and len(self._calls) < self.target:
                persona, number = self.rng.choice(self.routes)
                self.started += 1
                task = asyncio.get_running_loop().create_task(
                    self._one(persona, number), name=f"demo-call-{self.started}")
                self._calls.add(task)
                task.add_done_callback(self._calls.discard)

    async def _one(self, persona: str, number: str) -> None:
        try:
            await self.start_call(persona, number)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failed += 1
            log.exception("demo call from %s to %s failed", persona, number)


def persona_calls(stt: Callable[[], SttEngine], host: str, port: int, *,
                  limit_s: float = CALL_LIMIT_S) -> CallFactory:
    """Calls of simulated callers to ``sip:<number>@host:port``; each persona's lines rendered
    once. A persona that reacts to the agent's words hears them through ``stt()`` (made in a
    worker thread: the first one loads the model); the others only detect its speech, which
    spares the recogniser's CPU."""
    rendered: dict[str, tuple[Persona, dict[str, Line]]] = {}

    async def call(name: str, number: str) -> object:
        if name not in rendered:
            persona = load_persona(name)
            rendered[name] = (persona, await render(persona))
        persona, lines = rendered[name]
        hearing = await asyncio.to_thread(stt) if needs_hearing(persona) else None
        uri = f"sip:{number.lstrip('+')}@{host}:{port}"
        result = await SimulatedCaller(persona, hearing, lines=lines).call(uri, limit_s=limit_s)
        log.info("demo call from %s to %s: SIP %s, %d lines said, goal %s%s", name, number,
                 result.sip_status, len(result.said),
                 "reached" if result.goal_reached else "missed",
                 f", error {result.error}" if result.error else "")
        return result

    return call


__all__ = ["DEMO_ROUTES", "CallFactory", "DemoCallers", "persona_calls"]
