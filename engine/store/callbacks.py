"""Scheduled callbacks: a call the dialer places later, asked for by a caller (the brains'
``schedule_callback`` tool) or a supervisor (``POST /v1/calls/{id}/callback``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

# scheduled -> dialing -> completed | failed; scheduled -> canceled
CALLBACK_STATUSES = ("scheduled", "dialing", "completed", "failed", "canceled")


class ScheduledCallback(Record, table=True):
    """A call to place at ``scheduled_at`` (or at ``dial_at``, the next opening of its campaign's
    calling hours when that time falls outside them), with instructions for the agent."""

    __tablename__ = "scheduled_callback"
    __table_args__ = (
        Index("ix_scheduled_callback_due", "status", "dial_at"),
        Index("ix_scheduled_callback_campaign", "campaign_id", "status"),
    )

    campaign_id: str | None = Field(default=None, max_length=36)
    lead_id: str | None = Field(default=None, max_length=36)
    call_id: str | None = Field(default=None, max_length=36)  # the call it was asked for in
    to_number: str = Field(max_length=20)  # E.164
    scheduled_at: datetime = Field(sa_type=UTCDateTime)  # the time asked for
    dial_at: datetime = Field(sa_type=UTCDateTime)  # when the dialer places it
    reason: str = Field(default="", max_length=500)
    instructions: str = Field(default="")
    status: str = Field(default="scheduled", max_length=20)  # CALLBACK_STATUSES
    status_reason: str | None = Field(default=None, max_length=200)  # why it failed or was canceled
    requested_by: str = Field(default="agent", max_length=20)  # agent | supervisor | api
    callback_call_id: str | None = Field(default=None, max_length=36)  # the call that placed it
