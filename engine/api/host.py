"""What the API needs of the engine that serves it: its store, bus, writer, webhooks, settings,
live calls, demo callers, test calls, rehearsals and readiness (the engine in :mod:`engine.app` is one)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine as SqlEngine

from engine.calls.facade import LiveCalls
from engine.events import EventBus
from engine.settings import Settings
from engine.simulator.demo_callers import DemoCallers
from engine.simulator.placing import SimulatedCalls
from engine.simulator.rehearsal import Rehearsals
from engine.store.writer import BatchWriter
from engine.webhooks import WebhookDispatcher


class ApiHost(Protocol):
    """The engine as its API sees it."""

    settings: Settings
    db: SqlEngine
    bus: EventBus
    writer: BatchWriter
    webhooks: WebhookDispatcher
    live: LiveCalls
    demo_callers: DemoCallers | None  # with SIP on
    test_calls: SimulatedCalls | None  # with SIP on: test calls are placed by simulated callers
    rehearsals: Rehearsals | None  # with SIP on
    ready: bool


__all__ = ["ApiHost"]
