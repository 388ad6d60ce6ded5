"""The campaign benchmark's measure of a dial's lateness: against the pace's slot, or against
the moment a call ended when the concurrency cap held the dial."""

from __future__ import annotations

import math

import pytest

from bench.campaign import achieved_per_minute, percentile, turns


def test_dials_on_the_pace_are_on_time_and_a_late_one_counts_its_delay() -> None:
    # 60/min: one a second; the fourth goes 0.2 s after its slot, the fifth keeps the schedule
    dials: list[tuple[float, float | None]] = [(10.0, 10.5), (11.0, 11.5), (12.0, 12.5),
                                               (13.2, 13.7), (14.0, 14.5)]
    found = turns(dials, 60, concurrency=5, started=10.0)
    assert found.late_s == pytest.approx(sorted([0.0, 0.0, 0.0, 0.2, 0.0]))
    assert (found.held_by_cap, found.peak) == (0, 1)


def test_a_dial_the_cap_held_is_late_from_when_a_call_ended() -> None:
    # 600/min (0.1 s apart) and two calls at most: the third waits for the first to end at 5.0
    dials: list[tuple[float, float | None]] = [(0.0, 5.0), (0.1, 6.0), (5.03, 9.0)]
    found = turns(dials, 600, concurrency=2, started=0.0)
    assert found.held_by_cap == 1 and found.peak == 2
    assert found.late_s[-1] == pytest.approx(0.03)


def test_the_first_dial_is_late_from_the_start() -> None:
    found = turns([(1.25, 2.0)], 60, concurrency=1, started=1.0)
    assert found.late_s == pytest.approx([0.25])


def test_a_call_that_never_ended_keeps_its_place_in_the_cap() -> None:
    found = turns([(0.0, None), (1.0, 2.0), (3.0, 4.0)], 60, concurrency=2, started=0.0)
    assert found.peak == 2 and found.held_by_cap == 0


def test_rate_and_percentile() -> None:
    assert achieved_per_minute([0.0, 1.0, 2.0]) == pytest.approx(60.0)
    assert math.isnan(achieved_per_minute([5.0]))
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0
    assert math.isnan(percentile([], 0.5))
