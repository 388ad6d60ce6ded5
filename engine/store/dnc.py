"""The organization's do-not-call list: numbers no campaign dials, and what a number's joining
it means for what waits to call it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint, update
from sqlmodel import Field, Session, col, select

from engine.store.base import Record
from engine.store.callbacks import ScheduledCallback
from engine.store.campaigns import Lead
from engine.store.columns import row_dict

# Leads that may be dialled (again); a listed number's become do_not_call
WAITING_LEADS = ("pending", "busy", "no_answer", "voicemail", "failed")
BLOCKED_REASON = "do_not_call"  # a canceled callback's status_reason


class DoNotCall(Record, table=True):
    """A number the organization must not call, and why."""

    __tablename__ = "do_not_call"
    __table_args__ = (UniqueConstraint("organization_id", "number", name="uq_do_not_call_number"),)

    number: str = Field(max_length=20)  # E.164
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="api", max_length=20)  # api | import | opt_out


def block_numbers(session: Session, organization_id: str, numbers: Iterable[str],
                  now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """The organization's leads waiting to call these numbers become ``do_not_call`` and their
    scheduled callbacks are canceled (in ``session``, not committed): how many leads, and the
    canceled callbacks' rows (for their ``callback.changed`` events)."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return 0, []
    result = session.execute(update(Lead).where(
        col(Lead.organization_id) == organization_id, col(Lead.phone_number).in_(wanted),
        col(Lead.status).in_(WAITING_LEADS)).values(
        status="do_not_call", outcome="do_not_call", next_attempt_at=None, updated_at=now))
    canceled = list(session.exec(select(ScheduledCallback).where(
        ScheduledCallback.organization_id == organization_id,
        col(ScheduledCallback.to_number).in_(wanted),
        ScheduledCallback.status == "scheduled")).all())
    for callback in canceled:
        callback.status, callback.status_reason, callback.updated_at = "canceled", BLOCKED_REASON, now
    session.flush()
    return int(result.rowcount), [row_dict(c) for c in canceled]  # type: ignore[attr-defined]
