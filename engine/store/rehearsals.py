"""Rehearsals: every persona (or a chosen few) calling one agent as test calls, and the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

REHEARSAL_STATUSES = ("queued", "running", "completed", "failed")


class Rehearsal(Record, table=True):
    """One run of personas against an agent. ``report`` holds a row per persona (its test
    call's id, goal reached or why not, turns, latency, barge-ins, idle prompts, transfers,
    words misheard) and the totals; ``previous_id`` is the agent's rehearsal before it."""

    __table_args__ = (Index("ix_rehearsal_agent_created", "agent_id", "created_at"),)

    agent_id: str = Field(max_length=36)
    status: str = Field(default="queued", max_length=20)
    personas: list[str] = Field(default_factory=list, sa_type=JSON)
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    previous_id: str | None = Field(default=None, max_length=36)
    error: str | None = Field(default=None)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
