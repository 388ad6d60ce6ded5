"""Which bus events are status changes, and that one call's webhooks go out in order."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.events import EventBus
from engine.webhooks import WebhookDispatcher
from engine.webhooks.dispatcher import CallEventSubscription


def event(type_: str, call_id: str, status: str | None, org: str = "org-1", **data: Any) -> dict[str, Any]:
    body = {"id": call_id, **data}
    if status is not None:
        body["status"] = status
    return {"type": type_, "organization_id": org, "call_id": call_id, "data": body}


class Recording(WebhookDispatcher):
    """The dispatcher with its webhook work replaced by a log of what it was asked to do."""

    def __init__(self) -> None:
        super().__init__(None, backoff_base_s=1.0)  # type: ignore[arg-type]
        self.changes: list[tuple[str, str, bool]] = []
        self.gate = asyncio.Event()

    async def _status_changed(self, org: str, call_id: str, status: str, data: dict[str, Any],
                              unknown: bool) -> None:
        if status == "ringing":
            await self.gate.wait()  # a slow first delivery must not let the next one overtake it
        self.changes.append((call_id, status, unknown))


async def settle(d: Recording) -> None:
    while d._tasks:
        await asyncio.wait(set(d._tasks))


async def test_only_status_changes_count() -> None:
    d = Recording()
    d.gate.set()
    d.handle(event("call.created", "c1", "queued"))
    d.handle(event("call.updated", "c1", "queued", notes="edited"))  # same status: not a change
    d.handle(event("call.updated", "c1", None, notes="edited"))  # no status at all
    d.handle(event("transcript.final", "c1", "in_progress"))  # not a call event
    d.handle(event("call.updated", "c1", "in_progress"))
    d.handle(event("call.updated", "c1", "completed"))
    d.handle(event("call.updated", "c1", "completed", rating=5))
    await settle(d)
    assert d.changes == [("c1", "queued", False), ("c1", "in_progress", False), ("c1", "completed", False)]


async def test_unknown_calls_count_only_when_they_end() -> None:
    d = Recording()
    d.gate.set()
    d.handle(event("call.updated", "old-live", "in_progress"))  # e.g. notes edited after a restart
    d.handle(event("call.updated", "old-done", "completed"))
    d.handle(event("call.updated", "no-org", "completed", org=""))
    await settle(d)
    assert d.changes == [("old-done", "completed", True)]


async def test_one_calls_events_stay_in_order() -> None:
    d = Recording()
    d.handle(event("call.created", "c1", "ringing"))
    d.handle(event("call.updated", "c1", "in_progress"))
    d.handle(event("call.created", "c2", "queued"))
    await asyncio.sleep(0.01)
    assert d.changes == [("c2", "queued", False)]  # c1 waits for its slow first delivery
    d.gate.set()
    await settle(d)
    assert d.changes == [("c2", "queued", False), ("c1", "ringing", False), ("c1", "in_progress", False)]


async def test_the_subscription_takes_call_events_of_every_organization() -> None:
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    sub = bus.attach(CallEventSubscription("*"))
    bus.publish("call.updated", "org-a", {"status": "ringing"}, call_id="c1")
    bus.publish("call.created", "org-b", {"status": "queued"}, call_id="c2")
    bus.publish("transcript.partial", "org-a", {"text": "hi"}, call_id="c1")
    got = [sub.queue.get_nowait()["organization_id"] for _ in range(sub.queue.qsize())]
    assert got == ["org-a", "org-b"]
    bus.unsubscribe(sub)
