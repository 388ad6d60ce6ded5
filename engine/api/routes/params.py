"""Query parameters shared by several routes."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.api.errors import invalid
from engine.store.timeutil import parse_iso


def time_param(field: str, raw: str | None, *, end: bool = False) -> datetime | None:
    """An ISO 8601 time or date, or a 422 naming the field. A bare date given as the end of a
    range (``until=2026-03-31``) means the end of that day."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        value = parse_iso(text)
    except ValueError:
        raise invalid(field, f"not an ISO 8601 time or date: {raw!r}") from None
    if end and len(text) == 10:
        value += timedelta(days=1)
    return value


__all__ = ["time_param"]
