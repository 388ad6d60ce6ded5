"""Which past calls happen: direction, agent, time, final status and SIP code, campaign lead.

Shapes a month of a small contact centre: weekday business hours (US Eastern) busiest,
inbound calls mostly answered, outbound campaign calls with the usual share of busy and
unanswered numbers, retried up to the campaign's attempt limit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.demo.catalog import Catalog, DemoLead
from engine.store import vocabulary as words
from engine.store.calling_hours import ZonedWindow

BUSINESS_ZONE = "America/New_York"  # the contact centre and its callers keep US Eastern hours
EVERY_DAY = range(7)
INBOUND_HOURS = ZonedWindow.of(BUSINESS_ZONE, EVERY_DAY, "08:00", "20:00")
CALLBACK_HOURS = ZonedWindow.of(BUSINESS_ZONE, EVERY_DAY, "09:00", "18:00")
WEB_HOURS = ZonedWindow.of(BUSINESS_ZONE, EVERY_DAY, "08:00", "22:00")
LAST_DIAL_MARGIN_HOURS = 2 / 60  # no dial in a window's last two minutes (seconds are added)
RETRY_SPREAD_MINUTES = 600  # a retry waits the campaign's delay plus up to this for a free line
RETRY_MARGIN = timedelta(minutes=2)  # an unanswered attempt rings for at most ~32 s
LINE_HOLD = timedelta(minutes=5)  # a campaign call holds a line at most this long (they last ~1 min)
HISTORY_DAYS = 30

# (status, final SIP code, SIP reason phrase, disconnect reason, weight); an answered call's reason
# ("") comes from its conversation
INBOUND_OUTCOMES = (
    ("completed", 200, "OK", "", 92.0),
    ("canceled", 487, "Request Terminated", words.CANCELED, 4.0),
    ("failed", 503, "Service Unavailable", words.ENGINE_OVERLOADED, 2.0),
    ("failed", 488, "Not Acceptable Here", words.CODEC_MISMATCH, 2.0),
)
OUTBOUND_OUTCOMES = (
    ("completed", 200, "OK", "", 62.0),
    ("no_answer", 480, "Temporarily Unavailable", words.NO_ANSWER, 12.0),
    ("no_answer", 408, "Request Timeout", words.NO_ANSWER, 8.0),
    ("busy", 486, "Busy Here", words.BUSY, 10.0),
    ("failed", 503, "Service Unavailable", words.TRUNK_UNAVAILABLE, 3.5),
    ("failed", 404, "Not Found", words.NUMBER_NOT_FOUND, 1.5),
    ("canceled", 487, "Request Terminated", words.CANCELED, 3.0),
)
# The dialer lets an unanswered campaign call ring out (no_answer) rather than cancel it, so a
# campaign attempt ends answered, busy, unanswered or failed: the statuses a lead can take.
CAMPAIGN_OUTCOMES = tuple(row for row in OUTBOUND_OUTCOMES if row[0] != "canceled")
WEB_OUTCOMES = (
    ("completed", None, None, "", 95.0),
    ("failed", None, None, words.ICE_FAILED, 5.0),
)
INBOUND_AGENT_SHARE = {"orders": 45, "billing": 30, "appointments": 25}


@dataclass
class CallPlan:
    kind: str  # inbound | outbound | web
    role: str  # the agent's role
    at: datetime  # initiated_at
    status: str
    sip_code: int | None
    sip_reason: str | None
    disconnect_reason: str
    lead: DemoLead | None = None
    campaign_id: str | None = None
    attempt: int = 0


def _moment(rng: random.Random, now: datetime, earliest: datetime, window: ZonedWindow, *,
            weekend_share: float) -> datetime:
    """A time in [earliest, now - 1 h] inside ``window``, its busiest hour just before the
    middle of the day's hours, weekends thinner."""
    first = earliest.astimezone(window.zone).date()
    span_days = max(1, (now.astimezone(window.zone).date() - first).days)
    while True:
        day = first + timedelta(days=rng.randint(0, span_days))
        opening = window.opening(day)
        if opening is None or (day.weekday() >= 5 and rng.random() > weekend_share):
            continue
        opens, closes = opening
        hours = (closes - opens).total_seconds() / 3600
        hour = min(rng.triangular(0, hours, hours / 2 - 1), hours - LAST_DIAL_MARGIN_HOURS)
        at = (opens + timedelta(hours=hour, seconds=rng.randint(0, 59))).replace(
            microsecond=rng.randint(0, 999) * 1000)
        if earliest <= at <= now - timedelta(hours=1):
            return at


class _Lines:
    """The campaign's outgoing lines: a dial waits for a free one (at most ``max_concurrent``
    calls at once), within the calling window."""

    def __init__(self, count: int, window: ZonedWindow) -> None:
        self.count = count
        self.window = window
        self.held: list[datetime] = []  # when each placed call took its line

    def take(self, at: datetime) -> datetime:
        while True:
            at = self.window.next_open(at)
            busy = sorted(start for start in self.held if start - LINE_HOLD < at < start + LINE_HOLD)
            if len(busy) < self.count:
                self.held.append(at)
                return at
            at = busy[0] + LINE_HOLD


def _outcome(rng: random.Random, table: tuple[tuple[str, int | None, str | None, str, float], ...]
             ) -> tuple[str, int | None, str | None, str]:
    status, code, reason, disconnect, _ = rng.choices(table, weights=[row[4] for row in table])[0]
    return status, code, reason, disconnect


def plan_calls(catalog: Catalog, rng: random.Random, now: datetime, count: int) -> list[CallPlan]:
    """``count`` calls over the last 30 days, oldest first."""
    plans: list[CallPlan] = []
    running = next(c for c in catalog.campaigns if c.status == "running")
    campaign_start = running.started_at or now - timedelta(days=12)
    retry_delay = timedelta(minutes=running.retry_delay_minutes) + RETRY_MARGIN
    # Campaign calls first: every attempted lead is called until it answers or runs out of tries,
    # each attempt inside the campaign's calling window.
    attempted = running.leads[: min(len(running.leads) * 5 // 6, count // 12)]
    lines = _Lines(running.max_concurrent, running.window)
    for lead in attempted:
        at = _moment(rng, now - timedelta(days=1), campaign_start, running.window, weekend_share=0.3)
        for attempt in range(1, running.max_attempts + 1):
            at = lines.take(at)
            if at > now - timedelta(hours=1):
                break
            status, code, reason, disconnect = _outcome(rng, CAMPAIGN_OUTCOMES)
            plans.append(CallPlan("outbound", running.agent_role, at, status, code, reason, disconnect,
                                  lead, running.id, attempt))
            if status == "completed" or at > now - timedelta(hours=3):
                break
            at += retry_delay + timedelta(minutes=rng.randint(0, RETRY_SPREAD_MINUTES))
    start = now - timedelta(days=HISTORY_DAYS)
    roles = list(INBOUND_AGENT_SHARE)
    weights = list(INBOUND_AGENT_SHARE.values())
    while len(plans) < count:
        draw = rng.random()
        if draw < 0.80:
            role = rng.choices(roles, weights)[0]
            at = _moment(rng, now, start, INBOUND_HOURS, weekend_share=0.45)
            plans.append(CallPlan("inbound", role, at, *_outcome(rng, INBOUND_OUTCOMES)))
        elif draw < 0.92:  # callbacks placed by the order and billing agents
            role = rng.choice(("orders", "billing"))
            at = _moment(rng, now, start, CALLBACK_HOURS, weekend_share=0.1)
            plans.append(CallPlan("outbound", role, at, *_outcome(rng, OUTBOUND_OUTCOMES)))
        else:  # web calls from the console: testing agents, or visitors on the website widget
            role = rng.choices(roles, weights)[0]
            at = _moment(rng, now, start, WEB_HOURS, weekend_share=0.3)
            plans.append(CallPlan("web", role, at, *_outcome(rng, WEB_OUTCOMES)))
    del plans[count:]
    plans.sort(key=lambda plan: plan.at)
    return plans


__all__ = ["HISTORY_DAYS", "CallPlan", "plan_calls"]
