"""Calling hours: when a campaign may call, in a time zone (pure; no clock).

A window is a start and an end time of day (``HH:MM``; an end of ``24:00`` is midnight) and the
days of the week it opens on (0 Monday to 6 Sunday). An end before the start spans midnight: the
window opens on its day and closes the next morning. Local times are turned into instants with
:mod:`zoneinfo`, so a window keeps its wall-clock times across a daylight-saving change (a start
that falls in the spring-forward gap opens at the first instant after it).

One set of rules for every caller: the dialer and the callback scheduler ask a
:class:`CallingWindow` about each lead's own zone, the API checks a campaign's fields with it, and
the demo's history places its calls in a :class:`ZonedWindow` (a window in one zone).
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

    def opening(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """(opens, closes), in UTC, of the window opening on the local calendar ``day``, or None
        when the window does not open that day."""
        return self._spans(day, tz) if day.weekday() in self.days else None

    def open_span(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """(opens, closes) of the window open at ``now``, or None when it is closed."""
        local_day = now.astimezone(tz).date()
        for back in (1, 0):  # an overnight window opened yesterday may still be open
            span = self.opening(local_day - timedelta(days=back), tz)
            if span is not None and span[0] <= now < span[1]:
                return span
        return None

    def is_open(self, now: datetime, tz: ZoneInfo) -> bool:
        return self.open_span(now, tz) is not None

    def next_open(self, now: datetime, tz: ZoneInfo) -> datetime:
        """``now`` when the window is open, else the instant (UTC) it next opens."""
        if self.is_open(now, tz):
            return now
        local_day = now.astimezone(tz).date()
        for ahead in range(DAYS_AHEAD + 1):
            span = self.opening(local_day + timedelta(days=ahead), tz)
            if span is not None and span[0] > now:
                return span[0]
        raise AssertionError("a window with a day opens within a week")  # pragma: no cover


@dataclass(frozen=True)
class ZonedWindow:
    """A calling window in one time zone: a campaign's hours in its own ``timezone``."""

    hours: CallingWindow
    zone: ZoneInfo

    @classmethod
    def of(cls, timezone: str, days: Iterable[int], start: str, end: str) -> ZonedWindow:
        """From a campaign's ``timezone``, ``calling_days`` and ``HH:MM`` calling hours;
        WindowError naming the field for any that is malformed or never opens."""
        return cls(CallingWindow.of(start, end, days), zone("timezone", timezone))

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """(opens, closes), in UTC, of the window on the local calendar ``day``, or None when
        it does not open that day."""
        return self.hours.opening(day, self.zone)

    def next_open(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` inside the window."""
        return self.hours.next_open(moment, self.zone)


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


__all__ = ["CallingWindow", "WindowError", "ZonedWindow", "parse_clock", "zone"]
