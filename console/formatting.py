"""How values read in the console: times in local time, durations, money, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

CALL_STATUSES = ("queued", "ringing", "in_progress", "on_hold", "transferring",
                 "completed", "failed", "busy", "no_answer", "canceled")
LIVE_STATUSES = frozenset({"queued", "ringing", "in_progress", "on_hold", "transferring"})
DIRECTIONS = ("inbound", "outbound")
SPEAKER_LABELS = {"user": "Caller", "agent": "Agent", "human_agent": "Human agent",
                  "supervisor": "Supervisor", "system": "System"}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def zone_name(moment: datetime | None = None) -> str:
    """The user's time zone as people write it, at ``moment`` (now by default): its
    abbreviation (``CET``, ``EDT``), or its offset (``UTC+05:30``) where the zone has none."""
    local = (moment or datetime.now(UTC)).astimezone()
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def with_zone(title: str) -> str:
    """A column title for local times: ``Time (CET)``."""
    return f"{title} ({zone_name()})"


def local_time(value: str | None, *, seconds: bool = False, zone: bool = False) -> str:
    """An API time (UTC ISO) in the user's local time zone: ``7 Dec 2026, 14:03``, with the
    zone's name after it (``14:03 CET``) when ``zone``."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone()
    text = f"{local.day} {local:%b %Y, %H:%M}" + (f":{local:%S}" if seconds else "")
    return f"{text} {zone_name(moment)}" if zone else text


def short_time(value: str | None) -> str:
    """A compact local time for tables: ``Nov 21 14:03`` (the year when it is not this one)."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.year != datetime.now().year:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%b %d %H:%M")


def clock(value: str | None) -> str:
    moment = parse_time(value)
    return moment.astimezone().strftime("%H:%M:%S") if moment else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def money(micro_usd: int | None, *, places: int = 4) -> str:
    if micro_usd is None:
        return ""
    return f"${micro_usd / 1_000_000:,.{places}f}"


def direction(value: str | None) -> str:
    return {"inbound": "↙ In", "outbound": "↗ Out"}.get(value or "", label(value))


def label(value: str | None) -> str:
    """``no_answer`` -> ``No answer``."""
    if not value:
        return ""
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def millis(value: Any) -> str:
    return "" if value is None else f"{int(value)} ms"
