"""Outbound campaigns and their leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "canceled")
LEAD_STATUSES = ("pending", "calling", "completed", "failed", "no_answer", "busy", "do_not_call")


class Campaign(Record, table=True):
    """An outbound dialer run: which agent calls which leads, when, how fast, how often."""

    name: str = Field(max_length=200)
    description: str = Field(default="")
    agent_id: str | None = Field(default=None, index=True, max_length=36)
    phone_number_id: str | None = Field(default=None, max_length=36)
    status: str = Field(default="draft", max_length=20)
    timezone: str = Field(default="UTC", max_length=64)
    calling_hours_start: str = Field(default="09:00", max_length=5)
    calling_hours_end: str = Field(default="17:00", max_length=5)
    calling_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], sa_type=JSON)
    max_concurrent: int = Field(default=2)
    max_attempts: int = Field(default=3)
    retry_delay_minutes: int = Field(default=60)
    retry_on: list[str] = Field(default_factory=lambda: ["no_answer", "busy", "failed"], sa_type=JSON)
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Lead(Record, table=True):
    """A person a campaign calls, with the variables its agent fills in."""

    __table_args__ = (
        Index("ix_lead_campaign_status", "campaign_id", "status", "next_attempt_at"),
        Index("ix_lead_campaign_created", "campaign_id", "created_at", "id"),
    )

    campaign_id: str = Field(max_length=36)
    phone_number: str = Field(max_length=20)
    name: str = Field(default="", max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_call_id: str | None = Field(default=None, max_length=36)
    outcome: str | None = Field(default=None, max_length=100)
