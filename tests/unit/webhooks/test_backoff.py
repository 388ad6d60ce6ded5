"""The retry schedule and its environment override."""

from __future__ import annotations

import pytest

from engine.webhooks import BACKOFF_BASE_S, BACKOFF_ENV, MAX_ATTEMPTS, RETRIED_EVENTS, backoff_delays
from engine.webhooks.backoff import base_from_env, retryable


def test_default_schedule_is_1_4_16_64_seconds_over_five_attempts() -> None:
    assert MAX_ATTEMPTS == 5
    assert backoff_delays() == [1.0, 4.0, 16.0, 64.0]


def test_schedule_scales_with_base_and_attempts() -> None:
    assert backoff_delays(3, 0.5) == [0.5, 2.0]
    assert backoff_delays(1) == []
    assert backoff_delays(0) == []


def test_only_reports_are_retried() -> None:
    assert RETRIED_EVENTS == {"end-of-call-report"}


@pytest.mark.parametrize(("raw", "expected"), [
    (None, BACKOFF_BASE_S), ("", BACKOFF_BASE_S), ("0.02", 0.02), ("3", 3.0),
    ("0", BACKOFF_BASE_S), ("-1", BACKOFF_BASE_S), ("soon", BACKOFF_BASE_S),
])
def test_base_from_env(raw: str | None, expected: float) -> None:
    environ = {} if raw is None else {BACKOFF_ENV: raw}
    assert base_from_env(environ) == expected


@pytest.mark.parametrize(("code", "again"), [
    (None, True), (500, True), (502, True), (503, True), (408, True), (429, True),
    (400, False), (401, False), (404, False), (410, False),
])
def test_retryable(code: int | None, again: bool) -> None:
    assert retryable(code) is again
