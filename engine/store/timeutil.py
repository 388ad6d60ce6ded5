"""UTC time helpers: every stored time is UTC, every API time is ISO 8601 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, UTC, aware, to the microsecond."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime as UTC and convert an aware one to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix (``2026-11-22T05:31:56.123456Z``)."""
    if value is None:
        return None
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` or an offset, or naive meaning UTC) into an aware UTC datetime."""
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
