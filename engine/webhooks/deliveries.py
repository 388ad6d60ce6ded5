"""The delivery log: one row per delivery of one event to one webhook (never the secret)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine as SqlEngine

from engine.store import WebhookDelivery, new_id, session_scope, utcnow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass
class Delivery:
    """A delivery as it goes: the WebhookDelivery columns, plus the receiver's JSON answer."""

    organization_id: str
    webhook_id: str
    event: str
    payload: dict[str, Any]
    call_id: str | None = None
    id: str = field(default_factory=new_id)
    status: str = PENDING
    attempts: int = 0
    response_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    answer: Any = field(default=None, repr=False)  # not stored

    @property
    def ok(self) -> bool:
        return self.status == DELIVERED


class DeliveryLog(Protocol):
    async def save(self, delivery: Delivery) -> None:
        """Insert the delivery's row, or update it to the delivery's state."""


class MemoryDeliveryLog:
    """A delivery log in memory: every saved state, in order (for tests)."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []

    async def save(self, delivery: Delivery) -> None:
        state = {k: v for k, v in vars(delivery).items() if k != "answer"}
        self.saved.append(state)

    def latest(self, delivery_id: str) -> dict[str, Any] | None:
        for state in self.saved[::-1]:
            if state["id"] == delivery_id:
                return state
        return None


class SqlDeliveryLog:
    """WebhookDelivery rows in the store, written on a worker thread."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    async def save(self, delivery: Delivery) -> None:
        await asyncio.to_thread(self._save, delivery)

    def _save(self, d: Delivery) -> None:
        with session_scope(self.db) as session:
            row = session.get(WebhookDelivery, d.id)
            if row is None:
                row = WebhookDelivery(id=d.id, organization_id=d.organization_id,
                                      webhook_id=d.webhook_id, event=d.event, call_id=d.call_id,
                                      payload=d.payload, created_at=d.created_at)
            row.status = d.status
            row.attempts = d.attempts
            row.response_code = d.response_code
            row.last_error = d.last_error
            row.delivered_at = d.delivered_at
            row.updated_at = utcnow()
            session.add(row)


__all__ = ["DELIVERED", "FAILED", "PENDING", "Delivery", "DeliveryLog", "MemoryDeliveryLog",
           "SqlDeliveryLog"]
