"""A calling window in one time zone (the demo's history uses a campaign's own): the opening on
each local day, a day without calling, a daylight-saving day, and bad fields named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.store.calling_hours import WindowError, ZonedWindow

WEEKDAYS = (0, 1, 2, 3, 4)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_opening_on_a_local_day_is_in_utc() -> None:
    window = ZonedWindow.of("America/Chicago", WEEKDAYS, "10:00", "17:30")
    # Wednesday 6 Jan 2027: Chicago is UTC-6
    assert window.opening(date(2027, 1, 6)) == (utc(2027, 1, 6, 16, 0), utc(2027, 1, 6, 23, 30))
    assert window.opening(date(2027, 1, 9)) is None  # a Saturday


def test_next_open_skips_the_days_without_calling() -> None:
    window = ZonedWindow.of("America/Chicago", WEEKDAYS, "10:00", "17:30")
    inside = utc(2027, 1, 6, 20, 0)  # 14:00 in Chicago
    assert window.next_open(inside) == inside
    friday_evening = utc(2027, 1, 8, 23, 30)  # 17:30 Friday: the end is outside the window
    assert window.next_open(friday_evening) == utc(2027, 1, 11, 16, 0)  # Monday 10:00


def test_a_whole_day_follows_the_clock_across_daylight_saving() -> None:
    window = ZonedWindow.of("America/New_York", range(7), "00:00", "24:00")
    opens, closes = window.opening(date(2027, 3, 14)) or (None, None)  # spring forward
    assert (opens, closes) == (utc(2027, 3, 14, 5, 0), utc(2027, 3, 15, 4, 0))  # 23 hours
    opens, closes = window.opening(date(2026, 11, 1)) or (None, None)  # fall back
    assert (opens, closes) == (utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 5, 0))  # 25 hours


@pytest.mark.parametrize(("timezone", "days", "start", "end", "field"), [
    ("Mars/Olympus_Mons", WEEKDAYS, "09:00", "17:00", "timezone"),
    ("America/New_York", (), "09:00", "17:00", "calling_days"),
    ("America/New_York", WEEKDAYS, "9am", "17:00", "calling_hours_start"),
    ("America/New_York", WEEKDAYS, "09:00", "09:00", "calling_hours_end"),
])
def test_bad_fields_are_named(timezone: str, days: tuple[int, ...], start: str, end: str,
                              field: str) -> None:
    with pytest.raises(WindowError) as refused:
        ZonedWindow.of(timezone, days, start, end)
    assert refused.value.field == field
