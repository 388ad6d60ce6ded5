"""The in-process event bus behind ``WS /v1/events``.

Publishers may run on the event loop or in worker threads (sync API handlers, the store writer);
subscribers are asyncio queues on the loop. A slow subscriber loses its oldest events rather than
holding anyone up, and is told so by a ``stream.overflow`` event.

Producers hand the bus a typed event (:meth:`EventBus.emit`); subscribers get its wire form, the
dict ``WS /v1/events`` sends. :meth:`EventBus.publish` takes the parts of a wire event for the
producers that still build their ``data`` by hand; both go the same way.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from engine.events.base import Event, Wire, now
from engine.events.stream import StreamOverflow

SUBSCRIBER_QUEUE = 2000  # events buffered per subscriber before the oldest are dropped


@dataclass
class Subscription:
    organization_id: str
    call_id: str | None = None
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE)
    )

    def wants(self, event: dict[str, Any]) -> bool:
        if event.get("organization_id") != self.organization_id:
            return False
        return self.call_id is None or event.get("call_id") == self.call_id


class EventBus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, organization_id: str, call_id: str | None = None) -> Subscription:
        sub = Subscription(organization_id, call_id)
        with self._lock:
            self._subs.append(sub)
        return sub

    def attach(self, sub: Subscription) -> Subscription:
        """Add a subscription made by the caller (e.g. one whose ``wants`` spans organizations)."""
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def emit(self, event: Event) -> Wire:
        """Send a typed event to every matching subscriber, stamped with the time now; callable
        from any thread. Answers the event's wire form as sent."""
        return self._send(event.to_wire(now()))

    def publish(self, type_: str, organization_id: str, data: dict[str, Any],
                call_id: str | None = None) -> Wire:
        """Send an event given as its wire parts (prefer :meth:`emit` with a typed event, which
        builds ``data`` the one way its type does); callable from any thread."""
        return self._send({"type": type_, "organization_id": organization_id, "call_id": call_id,
                           "at": now(), "data": data})

    def _send(self, event: Wire) -> Wire:
        loop = self._loop
        if loop is None or loop.is_closed():
            return event
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event)
        else:
            loop.call_soon_threadsafe(self._deliver, event)
        return event

    def _deliver(self, event: Wire) -> None:
        with self._lock:
            subs = [s for s in self._subs if s.wants(event)]
        for sub in subs:
            queue = sub.queue
            if queue.full():  # the two oldest make room for the word of it and the event
                queue.get_nowait()
                queue.get_nowait()
                queue.put_nowait(StreamOverflow().to_wire())
            queue.put_nowait(event)


__all__ = ["SUBSCRIBER_QUEUE", "EventBus", "Subscription"]
