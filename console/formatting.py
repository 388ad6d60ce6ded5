"""How values read in the console: times in local time, durations, money, labels."""

from __future__ import annotations

from datetime import datetime
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


def local_time(value: str | None, *, seconds: bool = False) -> str:
    """An API time (UTC ISO) in the user's local time zone."""
    moment = parse_time(value)
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


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
