"""Calling hours in a lead's own time zone: windows, days, overnight spans, a daylight-saving
change, and hours that never open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.campaigns import CallingWindow, WindowError, lead_zone, number_zone, zone

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = (0, 1, 2, 3, 4)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_window_is_open_in_each_leads_own_zone() -> None:
    window = CallingWindow.of("09:00", "17:00", WEEKDAYS)
    now = utc(2027, 1, 6, 15, 0)  # Wednesday: 10:00 in New York, 07:00 in Los Angeles
    assert window.is_open(now, NEW_YORK)
    assert not window.is_open(now, LOS_ANGELES)
    assert window.next_open(now, LOS_ANGELES) == utc(2027, 1, 6, 17, 0)  # 09:00 there
    assert window.next_open(now, NEW_YORK) == now
    # 00:00 Thursday in Tokyo: closed; opens at 09:00 Tokyo = 00:00 UTC Thursday
    assert not window.is_open(now, TOKYO)
    assert window.next_open(now, TOKYO) == utc(2027, 1, 7, 0, 0)


def test_the_end_is_not_inside_the_window() -> None:
    window = CallingWindow.of("09:00", "17:00", WEEKDAYS)
    assert window.is_open(utc(2027, 1, 6, 21, 59), NEW_YORK)  # 16:59
    assert not window.is_open(utc(2027, 1, 6, 22, 0), NEW_YORK)  # 17:00


def test_calling_days_skip_the_weekend() -> None:
    window = CallingWindow.of("09:00", "17:00", WEEKDAYS)
    friday_evening = utc(2027, 1, 8, 23, 0)  # 18:00 Friday in New York
    assert window.next_open(friday_evening, NEW_YORK) == utc(2027, 1, 11, 14, 0)  # Monday 09:00
    saturday_noon = utc(2027, 1, 9, 17, 0)
    assert not window.is_open(saturday_noon, NEW_YORK)
    assert CallingWindow.of("09:00", "17:00", (5,)).is_open(saturday_noon, NEW_YORK)


def test_a_daylight_saving_change_keeps_the_wall_clock_hours() -> None:
    """New York springs forward on Sunday 14 March 2027: 09:00 is 14:00 UTC on the Friday
    before and 13:00 UTC on the Monday after."""
    window = CallingWindow.of("09:00", "17:00", WEEKDAYS)
    friday_evening = utc(2027, 3, 12, 23, 0)
    monday = window.next_open(friday_evening, NEW_YORK)
    assert monday == utc(2027, 3, 15, 13, 0)
    assert window.next_open(utc(2027, 3, 12, 13, 30), NEW_YORK) == utc(2027, 3, 12, 14, 0)
    assert window.is_open(utc(2027, 3, 15, 20, 59), NEW_YORK)  # 16:59 EDT
    assert not window.is_open(utc(2027, 3, 15, 21, 0), NEW_YORK)


def test_a_start_in_the_spring_forward_gap_opens_when_the_gap_ends() -> None:
    """02:30 does not exist in New York on 14 March 2027: the window opens at 03:00 EDT."""
    window = CallingWindow.of("02:30", "05:00", (6,))
    assert window.next_open(utc(2027, 3, 14, 0, 0), NEW_YORK) == utc(2027, 3, 14, 7, 0)


def test_an_autumn_window_spans_the_repeated_hour() -> None:
    """New York falls back on Sunday 7 November 2027: 01:00 to 03:00 local is three hours."""
    window = CallingWindow.of("01:00", "03:00", (6,))
    opens = window.next_open(utc(2027, 11, 7, 0, 0), NEW_YORK)
    assert opens == utc(2027, 11, 7, 5, 0)  # the first 01:00 (EDT)
    span = window.open_span(opens, NEW_YORK)
    assert span is not None and span[1] - span[0] == timedelta(hours=3)


def test_an_overnight_window_spans_midnight() -> None:
    window = CallingWindow.of("22:00", "02:00", (4,))  # opens Friday night
    assert window.is_open(utc(2027, 1, 9, 5, 30), NEW_YORK)  # 00:30 Saturday
    assert not window.is_open(utc(2027, 1, 9, 7, 30), NEW_YORK)  # 02:30 Saturday
    assert not window.is_open(utc(2027, 1, 8, 5, 30), NEW_YORK)  # 00:30 Friday: Thursday's


def test_a_whole_day_window() -> None:
    window = CallingWindow.of("00:00", "24:00", range(7))
    assert window.is_open(utc(2027, 1, 9, 4, 59), NEW_YORK)
    assert window.is_open(utc(2027, 1, 9, 5, 0), NEW_YORK)


@pytest.mark.parametrize(("start", "end", "days", "field"), [
    ("09:00", "09:00", WEEKDAYS, "calling_hours_end"),
    ("9am", "17:00", WEEKDAYS, "calling_hours_start"),
    ("09:00", "25:00", WEEKDAYS, "calling_hours_end"),
    ("24:00", "05:00", WEEKDAYS, "calling_hours_start"),
    ("09:00", "17:00", (), "calling_days"),
    ("09:00", "17:00", (7,), "calling_days"),
])
def test_hours_that_never_open_name_the_field(start: str, end: str, days: tuple[int, ...],
                                              field: str) -> None:
    with pytest.raises(WindowError) as err:
        CallingWindow.of(start, end, days)
    assert err.value.field == field and field in str(err.value)


def test_time_zones() -> None:
    with pytest.raises(WindowError) as err:
        zone("timezone", "Mars/Olympus_Mons")
    assert err.value.field == "timezone" and "Mars/Olympus_Mons" in err.value.message
    assert number_zone("+12025550101") == "America/New_York"
    assert number_zone("+16285550101") == "America/Los_Angeles"
    assert number_zone("+442071838750") == "Europe/London"
    assert number_zone("not a number") is None
    assert lead_zone("Asia/Tokyo", "+12025550101", "UTC") == TOKYO  # the lead's own first
    assert lead_zone(None, "+12025550101", "UTC") == NEW_YORK  # then its number's region
    assert lead_zone(None, "+79161234567", "Europe/Berlin") == ZoneInfo("Europe/Berlin")  # Russia spans zones
