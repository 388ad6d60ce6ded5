"""Retry schedules and the pace of dials, decided without a clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from engine.campaigns import Attempt, Pacer, RetryPolicy, attempt_outcome, next_attempt

NOW = datetime(2027, 1, 6, 15, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, retry_busy_minutes=10, retry_no_answer_minutes=60,
                     retry_delay_minutes=30, retry_on=("no_answer", "busy", "failed", "voicemail"))


@pytest.mark.parametrize(("status", "reason", "code", "metadata", "expected"), [
    ("completed", "customer_hangup", None, {}, "completed"),
    ("completed", "voicemail", None, {}, "voicemail"),
    ("completed", "agent_hangup", None, {"amd_result": {"decision": "machine"}}, "voicemail"),
    ("completed", "agent_hangup", None, {"amd_result": {"decision": "human"}}, "completed"),
    ("busy", None, 486, {}, "busy"),
    ("no_answer", None, 408, {}, "no_answer"),
    ("failed", "error", 404, {}, "failed"),
    ("canceled", None, 487, {}, "canceled"),
])
def test_how_an_attempt_ended(status: str, reason: str | None, code: int | None,
                              metadata: dict[str, object], expected: str) -> None:
    assert attempt_outcome(status, reason, code, metadata).status == expected


def test_retry_waits_by_outcome() -> None:
    assert next_attempt(Attempt("busy", 486), 1, POLICY, NOW) == NOW + timedelta(minutes=10)
    assert next_attempt(Attempt("no_answer", 408), 1, POLICY, NOW) == NOW + timedelta(minutes=60)
    assert next_attempt(Attempt("voicemail"), 2, POLICY, NOW) == NOW + timedelta(minutes=60)
    assert next_attempt(Attempt("failed", 503), 1, POLICY, NOW) == NOW + timedelta(minutes=30)
    assert next_attempt(Attempt("failed", None), 1, POLICY, NOW) == NOW + timedelta(minutes=30)
    assert next_attempt(Attempt("completed"), 1, POLICY, NOW) is None
    assert next_attempt(Attempt("canceled"), 1, POLICY, NOW) is None


@pytest.mark.parametrize("code", [404, 484, 604, 403, 603])
def test_a_number_that_cannot_be_reached_is_not_tried_again(code: int) -> None:
    assert next_attempt(Attempt("failed", code), 1, POLICY, NOW) is None


def test_attempts_run_out() -> None:
    times = []
    attempts = 0
    now = NOW
    while True:
        attempts += 1
        retry = next_attempt(Attempt("busy", 486), attempts, POLICY, now)
        if retry is None:
            break
        times.append(retry - NOW)
        now = retry
    assert attempts == 3 and times == [timedelta(minutes=10), timedelta(minutes=20)]


def test_retry_on_leaves_outcomes_out() -> None:
    only_busy = RetryPolicy(3, 10, 60, 30, ("busy",))
    assert next_attempt(Attempt("no_answer"), 1, only_busy, NOW) is None
    assert next_attempt(Attempt("failed", 503), 1, only_busy, NOW) is None
    older = RetryPolicy(3, 10, 60, 30, ("no_answer",))  # voicemail counts as no answer
    assert next_attempt(Attempt("voicemail"), 1, older, NOW) == NOW + timedelta(minutes=60)


def test_pacing_spaces_the_dials_of_a_minute() -> None:
    pacer = Pacer(calls_per_minute=4)
    now = NOW
    sent = []
    for _ in range(200):  # a virtual second at a time
        if pacer.ready(now):
            pacer.dialled(now)
            sent.append(now)
        now += timedelta(seconds=1)
    assert len(sent) == 14  # 200 s at one dial per 15 s: 0, 15, ... 195
    assert all(b - a == timedelta(seconds=15) for a, b in itertools.pairwise(sent))
    for start in sent:  # any minute holds at most four
        assert sum(1 for t in sent if start <= t < start + timedelta(minutes=1)) <= 4


def test_a_late_dial_keeps_the_pace_without_a_burst() -> None:
    pacer = Pacer(calls_per_minute=60)  # a dial a second
    pacer.dialled(NOW)
    late = NOW + timedelta(seconds=1.4)  # 0.4 s late: the schedule holds
    assert pacer.ready(late)
    pacer.dialled(late)
    assert pacer.next_at() == NOW + timedelta(seconds=2)
    much_later = NOW + timedelta(seconds=10)  # far behind: no catch-up burst
    pacer.dialled(much_later)
    assert pacer.next_at() == much_later + timedelta(seconds=0.5)


def test_a_fast_pace_keeps_its_schedule_over_a_dialler_pass() -> None:
    """At 600 a minute (100 ms apart) a dial late by a dialer pass (up to CATCH_UP_FLOOR) keeps
    the schedule: the next one may go at once, and the minute's count still holds."""
    pacer = Pacer(calls_per_minute=600)
    pacer.dialled(NOW)
    late = NOW + timedelta(milliseconds=100 + 180)
    pacer.dialled(late)
    assert pacer.next_at() == NOW + timedelta(milliseconds=200)  # the schedule, not late + 100
    sent, now = [NOW, late], late
    while len(sent) < 1200:  # every dial a pass late: the pace holds
        now = max(now, pacer.next_at() or now) + timedelta(milliseconds=60)
        if pacer.ready(now):
            pacer.dialled(now)
            sent.append(now)
    rate = (len(sent) - 1) / ((sent[-1] - sent[0]) / timedelta(minutes=1))
    assert rate > 570, rate
    start = 0
    for end, moment in enumerate(sent):  # any minute holds at most 600
        while sent[start] <= moment - timedelta(minutes=1):
            start += 1
        assert end - start + 1 <= 600


def test_no_minute_holds_more_than_calls_per_minute() -> None:
    """Dials that each go as late as the schedule allows still fit: the minute's limit holds
    over the catch-up."""
    pacer = Pacer(calls_per_minute=10)
    now = NOW
    sent: list[datetime] = []
    while len(sent) < 60:
        due = pacer.next_at() or now
        now = max(now, due) + timedelta(seconds=2.9 if len(sent) % 2 else 0.0)  # late by turns
        if pacer.ready(now):
            pacer.dialled(now)
            sent.append(now)
    for start in sent:
        assert sum(1 for t in sent if start <= t < start + timedelta(minutes=1)) <= 10
    rate = (len(sent) - 1) / ((sent[-1] - sent[0]) / timedelta(minutes=1))
    assert rate > 9.0  # being late by turns does not slow the pace down much
