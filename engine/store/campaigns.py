"""Outbound campaigns and their leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "canceled")
# pending: not dialled yet; calling: an attempt is under way; the others are how the last
# attempt ended (busy, no_answer, voicemail and failed are dialled again while next_attempt_at
# is set)
LEAD_STATUSES = ("pending", "calling", "completed", "busy", "no_answer", "voicemail", "failed",
                 "do_not_call", "canceled")
AMD_MODES = ("off", "detect", "detect_and_leave_message")


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
    calls_per_minute: int = Field(default=10)
    max_attempts: int = Field(default=3)
    retry_busy_minutes: int = Field(default=15)
    retry_no_answer_minutes: int = Field(default=60)
    # the wait before a failed attempt is tried again (a 503 or a network failure)
    retry_delay_minutes: int = Field(default=60)
    retry_on: list[str] = Field(default_factory=lambda: ["no_answer", "busy", "failed", "voicemail"],
                                sa_type=JSON)
    amd: str = Field(default="detect", max_length=30)  # AMD_MODES
    voicemail_message: str = Field(default="")
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
    timezone: str | None = Field(default=None, max_length=64)  # else the number's, else the campaign's
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_call_id: str | None = Field(default=None, max_length=36)
    outcome: str | None = Field(default=None, max_length=100)
