"""The fields every table has: id, organization_id, created_at, updated_at."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.store.timeutil import utcnow
from engine.store.types import UTCDateTime, new_id


class Record(SQLModel):
    """Common columns. ``organization_id`` scopes every row to one organization."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organization_id: str = Field(index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
