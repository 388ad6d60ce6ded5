"""The console writes times in the user's zone and says which zone: an abbreviation where the
zone has one, its UTC offset where it has none."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from console import formatting as fmt

WINTER = "2026-12-07T13:03:00Z"
SUMMER = "2026-07-07T13:03:00.250000+00:00"


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set the process's zone with ``zone.setenv("TZ", ...)`` then ``time.tzset()``; put back after."""
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def _in(zone: pytest.MonkeyPatch, name: str) -> None:
    zone.setenv("TZ", name)
    time.tzset()


def test_a_time_in_paris_says_cet_or_cest(zone: pytest.MonkeyPatch) -> None:
    _in(zone, "Europe/Paris")
    assert fmt.local_time(WINTER, zone=True) == "7 Dec 2026, 14:03 CET"
    assert fmt.local_time(SUMMER, zone=True) == "7 Jul 2026, 15:03 CEST"
    assert fmt.local_time(SUMMER, seconds=True) == "7 Jul 2026, 15:03:00"
    assert fmt.with_zone("Time") in ("Time (CET)", "Time (CEST)")


def test_a_zone_without_an_abbreviation_shows_its_offset(zone: pytest.MonkeyPatch) -> None:
    _in(zone, "America/Sao_Paulo")  # tzdata names it "-03"
    assert fmt.local_time(WINTER, zone=True) == "7 Dec 2026, 10:03 UTC-03:00"
    _in(zone, "Asia/Kathmandu")  # "+0545"
    assert fmt.zone_name(fmt.parse_time(WINTER)) == "UTC+05:45"
    _in(zone, "Asia/Kolkata")
    assert fmt.local_time(WINTER, zone=True) == "7 Dec 2026, 18:33 IST"


def test_utc_and_missing_times(zone: pytest.MonkeyPatch) -> None:
    _in(zone, "UTC")
    assert fmt.local_time(WINTER, zone=True) == "7 Dec 2026, 13:03 UTC"
    assert fmt.with_zone("Next attempt") == "Next attempt (UTC)"
    assert fmt.local_time(None, zone=True) == "" and fmt.local_time("not a time") == ""
