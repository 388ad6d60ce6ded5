"""The organization's do-not-call list: numbers no campaign dials."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from engine.store.base import Record


class DoNotCall(Record, table=True):
    """A number the organization must not call, and why."""

    __tablename__ = "do_not_call"
    __table_args__ = (UniqueConstraint("organization_id", "number", name="uq_do_not_call_number"),)

    number: str = Field(max_length=20)  # E.164
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="api", max_length=20)  # api | import | opt_out
