"""The demo store tells one story: campaign calls fall in their campaign's calling window, every
agent speaks for its own business, leads agree with the calls placed to them, and each call's
times, durations and costs agree with each other."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.demo.seed import seed
from tests.harness.stores import fresh_store

# The businesses the demo's agents speak for; every agent names exactly one of them.
BUSINESSES = ("Northwind", "Harbor Dental")
# Two seeding days whose month of history crosses a daylight-saving change in New York
# (1 Nov 2026 and 14 Mar 2027): a fixed UTC offset puts calls an hour off on one side.
NOWS = (datetime(2026, 11, 20, 15, 30, tzinfo=UTC), datetime(2027, 3, 29, 23, 50, tzinfo=UTC))
PLACEHOLDER = re.compile(r"\{([\w.]+)(?::\w+)?\}")  # {company}, {order_number:digits}
EVENT_SLACK = timedelta(seconds=2)  # call.ended and analysis.completed follow the hang-up


@dataclass
class Seeded:
    path: Path
    now: datetime

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(query, args).fetchall()


def _at(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pytest.fixture(scope="module", params=NOWS, ids=lambda now: now.date().isoformat())
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Seeded]:
    now: datetime = request.param
    path = tmp_path_factory.mktemp("demo") / "switchboard.db"
    db, org = fresh_store(path)
    assert seed(db, org, now=now)
    db.dispose()
    yield Seeded(path, now)


@dataclass
class Window:
    zone: ZoneInfo
    days: set[int]
    start: time
    end: time
    started_at: datetime | None
    max_attempts: int
    retry_delay: timedelta
    retry_on: set[str]
    status: str

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def describe(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _windows(seeded: Seeded) -> dict[str, Window]:
    windows = {}
    for row in seeded.sql("SELECT id, timezone, calling_days, calling_hours_start, "
                          "calling_hours_end, started_at, max_attempts, retry_delay_minutes, "
                          "retry_on, status FROM campaign"):
        cid, zone, days, start, end, started, attempts, delay, retry_on, status = row
        windows[cid] = Window(ZoneInfo(zone), set(json.loads(days)), time.fromisoformat(start),
                              time.max if end == "24:00" else time.fromisoformat(end),
                              _at(started), attempts,
                              timedelta(minutes=delay), set(json.loads(retry_on)), status)
    return windows


def test_campaign_calls_fall_in_their_calling_window(seeded: Seeded) -> None:
    windows = _windows(seeded)
    calls = seeded.sql("SELECT campaign_id, initiated_at FROM call WHERE campaign_id IS NOT NULL")
    assert calls
    outside = []
    for campaign_id, initiated in calls:
        window, at = windows[campaign_id], _at(initiated)
        assert at is not None
        if not window.allows(at) or (window.started_at is not None and at < window.started_at):
            outside.append(window.describe(at))
    assert not outside, f"{len(outside)} campaign calls outside their window, e.g. {outside[:5]}"


def test_campaign_retries_wait_their_delay_and_follow_a_retryable_attempt(seeded: Seeded) -> None:
    windows = _windows(seeded)
    attempts: dict[str, list[tuple[datetime, datetime, str, str]]] = defaultdict(list)
    for lead_id, campaign_id, initiated, ended, status in seeded.sql(
            "SELECT lead_id, campaign_id, initiated_at, ended_at, status FROM call "
            "WHERE lead_id IS NOT NULL ORDER BY initiated_at"):
        attempts[lead_id].append((_at(initiated), _at(ended), status, campaign_id))
    for lead_id, calls in attempts.items():
        window = windows[calls[0][3]]
        assert len(calls) <= window.max_attempts, lead_id
        for (_, ended, status, _), (started, *_) in pairwise(calls):
            assert status in window.retry_on, (lead_id, status)
            assert started - ended >= window.retry_delay, (lead_id, ended, started)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _named(text: str) -> set[str]:
    return {name for name in BUSINESSES if name.lower() in text.lower()}


def _agent_texts(row: tuple[Any, ...]) -> list[str]:
    first, voicemail, goodbye, prompt, script = row
    script = json.loads(script)
    variables = script.get("variables", {})
    texts = [first, voicemail, goodbye, prompt, *_texts({k: v for k, v in script.items()
                                                         if k != "variables"})]
    return [PLACEHOLDER.sub(lambda m: str(variables.get(m[1], m[0])), text) for text in texts if text]


def test_every_agent_speaks_for_its_own_business(seeded: Seeded) -> None:
    for name, *row in seeded.sql("SELECT name, first_message, voicemail_message, "
                                 "end_call_message, system_prompt, script FROM agent"):
        texts = _agent_texts(tuple(row))
        named = set().union(*(_named(text) for text in texts))
        assert len(named) == 1, (name, {text: _named(text) for text in texts if _named(text)})


def test_call_transcripts_name_only_their_agents_business(seeded: Seeded) -> None:
    business = {}
    for agent_id, *row in seeded.sql("SELECT id, first_message, voicemail_message, "
                                     "end_call_message, system_prompt, script FROM agent"):
        named = set().union(*(_named(text) for text in _agent_texts(tuple(row))))
        business[agent_id] = named
    for call_id, agent_id, transcript in seeded.sql(
            "SELECT id, agent_id, transcript FROM call WHERE transcript != ''"):
        assert _named(transcript) <= business[agent_id], (call_id, _named(transcript))


def test_leads_agree_with_the_calls_placed_to_them(seeded: Seeded) -> None:
    windows = _windows(seeded)
    last_calls = {lead_id: (status, _at(ended)) for lead_id, status, ended in seeded.sql(
        "SELECT c.lead_id, c.status, c.ended_at FROM call c JOIN lead l ON l.last_call_id = c.id")}
    for lead_id, campaign_id, status, attempts, next_at, updated in seeded.sql(
            "SELECT id, campaign_id, status, attempts, next_attempt_at, updated_at FROM lead"):
        window, next_attempt = windows[campaign_id], _at(next_at)
        if attempts == 0:
            assert status == "pending" and lead_id not in last_calls, lead_id
        else:
            call_status, ended = last_calls[lead_id]
            expected = {"completed": {"completed", "do_not_call"}, "canceled": {"pending"}}.get(
                call_status, {call_status})
            assert status in expected, (lead_id, status, call_status)
            assert _at(updated) is not None and ended is not None and _at(updated) >= ended
        will_retry = window.status == "running" and (
            status == "pending" or (status in window.retry_on and attempts < window.max_attempts))
        assert (next_attempt is not None) == will_retry, (lead_id, status, attempts, next_at)
        if next_attempt is not None:
            # a lead never tried is due as the demo opens; a retry waits its delay
            assert next_attempt >= seeded.now if attempts == 0 else next_attempt > seeded.now, \
                (lead_id, next_at)
            assert window.allows(next_attempt), (lead_id, window.describe(next_attempt))


def test_campaigns_are_in_step_with_their_leads(seeded: Seeded) -> None:
    for status, started, lead_statuses, attempts in seeded.sql(
            "SELECT c.status, c.started_at, group_concat(DISTINCT l.status), sum(l.attempts) "
            "FROM campaign c JOIN lead l ON l.campaign_id = c.id GROUP BY c.id"):
        leads = set(lead_statuses.split(","))
        if status == "draft":
            assert started is None and leads == {"pending"} and attempts == 0
        if status == "completed":
            assert "pending" not in leads
        if status == "running":
            assert started is not None and attempts > 0


def test_running_campaign_keeps_to_its_concurrency(seeded: Seeded) -> None:
    limits = dict(seeded.sql("SELECT id, max_concurrent FROM campaign"))
    edges: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for campaign_id, initiated, ended in seeded.sql(
            "SELECT campaign_id, initiated_at, ended_at FROM call WHERE campaign_id IS NOT NULL"):
        edges[campaign_id] += [(_at(initiated), 1), (_at(ended), -1)]
    for campaign_id, points in edges.items():
        live = peak = 0
        for _, step in sorted(points, key=lambda point: (point[0], point[1])):
            live += step
            peak = max(peak, live)
        assert peak <= limits[campaign_id], (campaign_id, peak)


def test_call_times_durations_and_costs_agree(seeded: Seeded) -> None:
    for row in seeded.sql("SELECT id, status, initiated_at, answered_at, ended_at, "
                          "duration_seconds, cost_total_micro_usd, cost_telephony_micro_usd, "
                          "cost_details, type FROM call"):
        call_id, status, initiated, answered, ended, duration, total, telephony, details, kind = row
        start, answer, end = _at(initiated), _at(answered), _at(ended)
        assert start is not None and end is not None and start <= end < seeded.now, call_id
        if answer is None:
            assert status != "completed" and duration == 0 and total == 0, call_id
            continue
        assert status == "completed" and start <= answer <= end, call_id
        assert duration == round((end - answer).total_seconds()), call_id
        minutes = json.loads(details)["telephony_minutes"]
        assert minutes == (round(duration / 60, 4) if kind == "phone_call" else 0.0), call_id
        assert (telephony > 0) == (minutes > 0), call_id
    bounds = {call_id: (_at(a), _at(i), _at(e)) for call_id, a, i, e in seeded.sql(
        "SELECT id, answered_at, initiated_at, ended_at FROM call")}
    for call_id, started, ended in seeded.sql(
            "SELECT call_id, started_at, ended_at FROM transcript_entry"):
        answer, _, end = bounds[call_id]
        assert answer is not None and end is not None
        assert answer <= _at(started) and _at(ended) <= end, call_id
    for call_id, occurred in seeded.sql("SELECT call_id, occurred_at FROM call_event"):
        _, start, end = bounds[call_id]
        assert start is not None and end is not None
        assert start <= _at(occurred) <= end + EVENT_SLACK, call_id
