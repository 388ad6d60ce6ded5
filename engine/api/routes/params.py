"""Query parameters shared by several routes: times, and the refusal of parameters a route does
not take (engine.api.query: a list never ignores a filter it was given)."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.api.errors import invalid
from engine.api.query import KnownQuery, known_query
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


__all__ = ["KnownQuery", "known_query", "time_param"]
