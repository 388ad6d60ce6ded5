"""Calling hours: when a lead may be called, in the lead's own time zone (pure; no clock).

A window is a start and an end time of day (``HH:MM``; an end of ``24:00`` is midnight) and the
days of the week it opens on (0 Monday to 6 Sunday). An end before the start spans midnight: the
window opens on its day and closes the next morning. Local times are turned into instants with
:mod:`zoneinfo`, so a window keeps its wall-clock times across a daylight-saving change (a start
that falls in the spring-forward gap opens at the first instant after it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIDNIGHT_END = "24:00"
MINUTES_A_DAY = 24 * 60
DAYS_AHEAD = 8  # a window with at least one day opens within a week and a day


class WindowError(ValueError):
    """Calling hours that are malformed or never open; ``field`` names the campaign field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_clock(field: str, value: str, *, end: bool = False) -> int:
    """Minutes after midnight of ``HH:MM`` (``24:00`` only as an end)."""
    hours, sep, minutes = value.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise WindowError(field, f"{value!r} is not a time of day HH:MM")
    h, m = int(hours), int(minutes)
    if end and (h, m) == (24, 0):
        return MINUTES_A_DAY
    if h > 23 or m > 59:
        raise WindowError(field, f"{value!r} is not a time of day HH:MM (00:00 to 23:59"
                                 f"{', or 24:00 as an end' if end else ''})")
    return h * 60 + m


def zone(field: str, name: str) -> ZoneInfo:
    """The IANA time zone ``name``; WindowError naming ``field`` for one that does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(field, f"unknown time zone {name!r} (an IANA name such as "
                                 "America/New_York)") from None


@dataclass(frozen=True)
class CallingWindow:
    """Opening minutes (after local midnight) and the weekdays a window opens on."""

    start: int
    end: int
    days: frozenset[int]

    @classmethod
    def of(cls, start: str, end: str, days: Iterable[int]) -> CallingWindow:
        """A window from a campaign's fields; WindowError naming the field for one that never
        opens (start equal to end, or no days)."""
        opens = parse_clock("calling_hours_start", start)
        closes = parse_clock("calling_hours_end", end, end=True)
        if opens == closes:
            raise WindowError("calling_hours_end", f"the calling hours {start}-{end} never open: "
                                                   "the end must differ from the start")
        chosen = frozenset(days)
        bad = sorted(d for d in chosen if not (isinstance(d, int) and 0 <= d <= 6))
        if bad:
            raise WindowError("calling_days", f"days are 0 (Monday) to 6 (Sunday), not {bad}")
        if not chosen:
            raise WindowError("calling_days", "no calling day: the calling hours never open")
        return cls(opens, closes, chosen)

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def _spans(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants (UTC) the window opening on local ``day`` opens and closes."""
        midnight = datetime.combine(day, time(0))
        close_minute = self.end + (MINUTES_A_DAY if self.overnight else 0)
        return (_instant(midnight + timedelta(minutes=self.start), tz),
                _instant(midnight + timedelta(minutes=close_minute), tz))

    def open_span(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """(opens, closes) of the window open at ``now``, or None when it is closed."""
        local_day = now.astimezone(tz).date()
        for back in (1, 0):  # an overnight window opened yesterday may still be open
            day = local_day - timedelta(days=back)
            if day.weekday() not in self.days:
                continue
            opens, closes = self._spans(day, tz)
            if opens <= now < closes:
                return opens, closes
        return None

    def is_open(self, now: datetime, tz: ZoneInfo) -> bool:
        return self.open_span(now, tz) is not None

    def next_open(self, now: datetime, tz: ZoneInfo) -> datetime:
        """``now`` when the window is open, else the instant (UTC) it next opens."""
        if self.is_open(now, tz):
            return now
        local_day = now.astimezone(tz).date()
        for ahead in range(DAYS_AHEAD + 1):
            day = local_day + timedelta(days=ahead)
            if day.weekday() not in self.days:
                continue
            opens, _ = self._spans(day, tz)
            if opens > now:
                return opens
        raise AssertionError("a window with a day opens within a week")  # pragma: no cover


def _instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``tz``: the earlier one of an ambiguous time (the
    autumn fall-back hour), the first instant after the gap for a time that does not exist (the
    spring-forward hour)."""
    for minute in range(MINUTES_A_DAY):
        candidate = local + timedelta(minutes=minute)
        there = candidate.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if there.astimezone(tz).replace(tzinfo=None) == candidate:
            return there
    raise AssertionError(f"no instant in {tz} near {local}")  # pragma: no cover


__all__ = ["CallingWindow", "WindowError", "parse_clock", "zone"]
