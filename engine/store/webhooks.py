"""Outbound webhooks and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

WEBHOOK_EVENTS = ("assistant-request", "tool-calls", "status-update", "end-of-call-report")


class Webhook(Record, table=True):
    """Where to send signed events. The secret is write-only."""

    url: str = Field(max_length=1000)
    secret: str = Field(default="", max_length=200)
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS), sa_type=JSON)
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    agent_id: str | None = Field(default=None, max_length=36)
    enabled: bool = Field(default=True)
    timeout_seconds: float = Field(default=5.0)


class WebhookDelivery(Record, table=True):
    """One delivery of one event to one webhook: status, attempts, response code."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_hook_created", "webhook_id", "created_at"),)

    webhook_id: str = Field(max_length=36)
    event: str = Field(max_length=50)
    call_id: str | None = Field(default=None, max_length=36)
    status: str = Field(default="pending", max_length=20)  # pending | delivered | failed
    attempts: int = Field(default=0)
    response_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
