"""Column types shared by the tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from engine.store.timeutil import as_utc

_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as fixed-width ISO text, so text order is time order.

    Fixed width keeps comparisons and index range scans correct on SQLite, where every datetime is
    text anyway; values come back aware (UTC).
    """

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return as_utc(value).strftime(_STAMP)

    def process_result_value(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return as_utc(value)
        return as_utc(datetime.strptime(value, _STAMP))


def new_id() -> str:
    """A fresh UUID4 in its canonical text form."""
    return str(uuid.uuid4())
