"""Re-analyses of calls: the results a re-run replaced (a call's analysis history) and the bulk
re-analysis jobs (``POST /v1/calls/analysis``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field

from engine.store.base import Record
from engine.store.types import UTCDateTime

# queued -> running -> completed | failed
ANALYSIS_JOB_STATUSES = ("queued", "running", "completed", "failed")


class AnalysisRun(Record, table=True):
    """An analysis of a call as it stood before a re-run replaced it: ``result`` holds the
    analysis fields as the API showed them (summary, sentiment, outcome, success and its reason,
    structured data, status, error), ``template_id`` the template it was made with, if known."""

    __tablename__ = "analysis_run"
    __table_args__ = (Index("ix_analysis_run_call", "call_id", "created_at"),)

    call_id: str = Field(max_length=36)
    template_id: str | None = Field(default=None, max_length=36)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    replaced_by: str = Field(default="finalize", max_length=60)  # finalize | job:<id>
    analysed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AnalysisJob(Record, table=True):
    """A template re-run over the calls a list filter matched, in the background."""

    __tablename__ = "analysis_job"

    template_id: str | None = Field(default=None, max_length=36)
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    resend_webhook: bool = Field(default=False)
    status: str = Field(default="queued", max_length=20)  # ANALYSIS_JOB_STATUSES
    total: int = Field(default=0)
    done: int = Field(default=0)
    failed: int = Field(default=0)
    error: str | None = Field(default=None, max_length=500)
    requested_by: str | None = Field(default=None, max_length=200)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
