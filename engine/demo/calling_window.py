"""When a campaign may call: its calling days and hours in its own time zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

END_OF_DAY = "24:00"
SEARCH_DAYS = 8  # any weekly window opens within a week and a day


@dataclass(frozen=True)
class CallingWindow:
    zone: ZoneInfo
    days: frozenset[int]  # Monday = 0
    start: time
    end: time

    @classmethod
    def of(cls, zone: str, days: Iterable[int], start: str, end: str) -> CallingWindow:
        """From a campaign's ``timezone``, ``calling_days`` and ``HH:MM`` calling hours (an end
        of ``24:00`` is the end of the day)."""
        return cls(ZoneInfo(zone), frozenset(days), time.fromisoformat(start),
                   time.max if end == END_OF_DAY else time.fromisoformat(end))

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The window on a local calendar day (UTC start and end), or None when the campaign
        does not call that day."""
        if day.weekday() not in self.days:
            return None
        start = datetime.combine(day, self.start, self.zone).astimezone(UTC)
        end = datetime.combine(day, self.end, self.zone).astimezone(UTC)
        return start, end

    def next_open(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` inside the window."""
        if self.allows(moment):
            return moment
        today = moment.astimezone(self.zone).date()
        for offset in range(SEARCH_DAYS):
            span = self.opening(today + timedelta(days=offset))
            if span is not None and span[0] >= moment:
                return span[0]
        raise ValueError("calling_days: the campaign has no calling day")


__all__ = ["CallingWindow"]
