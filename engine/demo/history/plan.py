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

EASTERN_OFFSET_HOURS = 5  # business hours are laid out in US Eastern (UTC-5) time
HISTORY_DAYS = 30

# (status, final SIP code, SIP reason phrase, disconnect reason, weight)
INBOUND_OUTCOMES = (
    ("completed", 200, "OK", "", 92.0),
    ("canceled", 487, "Request Terminated", "caller_canceled", 4.0),
    ("failed", 503, "Service Unavailable", "engine_overloaded", 2.0),
    ("failed", 488, "Not Acceptable Here", "codec_mismatch", 2.0),
)
OUTBOUND_OUTCOMES = (
    ("completed", 200, "OK", "", 62.0),
    ("no_answer", 480, "Temporarily Unavailable", "no_answer", 12.0),
    ("no_answer", 408, "Request Timeout", "no_answer", 8.0),
    ("busy", 486, "Busy Here", "busy", 10.0),
    ("failed", 503, "Service Unavailable", "trunk_unavailable", 3.5),
    ("failed", 404, "Not Found", "number_not_found", 1.5),
    ("canceled", 487, "Request Terminated", "canceled", 3.0),
)
WEB_OUTCOMES = (
    ("completed", None, None, "", 95.0),
    ("failed", None, None, "ice_failed", 5.0),
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


def _moment(rng: random.Random, now: datetime, earliest: datetime, *, weekend_share: float,
            hours: tuple[int, int]) -> datetime:
    """A time in [earliest, now - 1 h] in Eastern business hours, weekends thinner."""
    span_days = max(1, (now - earliest).days)
    while True:
        day = now - timedelta(days=rng.randint(0, span_days))
        local_day = day - timedelta(hours=EASTERN_OFFSET_HOURS)
        if local_day.weekday() >= 5 and rng.random() > weekend_share:
            continue
        hour = min(rng.triangular(hours[0], hours[1], (hours[0] + hours[1]) / 2 - 1), hours[1] - 0.01)
        local_midnight = local_day.replace(hour=0, minute=0, second=0, microsecond=0)
        at = local_midnight + timedelta(hours=hour + EASTERN_OFFSET_HOURS,
                                        seconds=rng.randint(0, 59))
        if earliest <= at <= now - timedelta(hours=1):
            return at.replace(microsecond=rng.randint(0, 999) * 1000)


def _outcome(rng: random.Random, table: tuple[tuple[str, int | None, str | None, str, float], ...]
             ) -> tuple[str, int | None, str | None, str]:
    status, code, reason, disconnect, _ = rng.choices(table, weights=[row[4] for row in table])[0]
    return status, code, reason, disconnect


def plan_calls(catalog: Catalog, rng: random.Random, now: datetime, count: int) -> list[CallPlan]:
    """``count`` calls over the last 30 days, oldest first."""
    plans: list[CallPlan] = []
    running = next(c for c in catalog.campaigns if c.status == "running")
    campaign_start = now - timedelta(days=12)
    # Campaign calls first: every attempted lead is called until it answers or runs out of tries.
    attempted = running.leads[: min(len(running.leads) * 5 // 6, count // 12)]
    for lead in attempted:
        at = _moment(rng, now - timedelta(days=1), campaign_start, weekend_share=0.3, hours=(9, 18))
        for attempt in range(1, 4):
            status, code, reason, disconnect = _outcome(rng, OUTBOUND_OUTCOMES)
            plans.append(CallPlan("outbound", running.agent_role, at, status, code, reason, disconnect,
                                  lead, running.id, attempt))
            if status == "completed" or at > now - timedelta(hours=3):
                break
            at += timedelta(hours=2, minutes=rng.randint(0, 600))
            if at > now - timedelta(hours=1):
                break
    start = now - timedelta(days=HISTORY_DAYS)
    roles = list(INBOUND_AGENT_SHARE)
    weights = list(INBOUND_AGENT_SHARE.values())
    while len(plans) < count:
        draw = rng.random()
        if draw < 0.80:
            role = rng.choices(roles, weights)[0]
            at = _moment(rng, now, start, weekend_share=0.45, hours=(8, 20))
            plans.append(CallPlan("inbound", role, at, *_outcome(rng, INBOUND_OUTCOMES)))
        elif draw < 0.92:  # callbacks placed by the order and billing agents
            role = rng.choice(("orders", "billing"))
            at = _moment(rng, now, start, weekend_share=0.1, hours=(9, 18))
            plans.append(CallPlan("outbound", role, at, *_outcome(rng, OUTBOUND_OUTCOMES)))
        else:  # web calls from the console: testing agents, or visitors on the website widget
            role = rng.choices(roles, weights)[0]
            at = _moment(rng, now, start, weekend_share=0.3, hours=(8, 22))
            plans.append(CallPlan("web", role, at, *_outcome(rng, WEB_OUTCOMES)))
    del plans[count:]
    plans.sort(key=lambda plan: plan.at)
    return plans


__all__ = ["HISTORY_DAYS", "CallPlan", "plan_calls"]
