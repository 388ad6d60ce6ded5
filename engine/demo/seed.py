"""Fill an organization with demo data that looks like a real contact centre.

Three scripted agents with their own voices, tools and analysis templates, a SIP trunk, four
numbers, three console users, two campaigns with their leads (and a few callbacks the running
one's patients asked for), and a month of past calls with transcripts, events, costs, latency,
analysis and a few transfers. Deterministic for a given
seed and ``now``; written with Core ``executemany`` in one transaction (a few seconds for 5,000
calls). No recordings: demo calls have ``recording_status = "none"``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select

from engine.demo.catalog import Catalog, build_catalog
from engine.demo.history import CallBuilder, LeadProgress, plan_calls
from engine.demo.rows import RowMaker, make_ids
from engine.store import Agent, Call, Lead, ScheduledCallback, table_of, utcnow

DEMO_SEED = 20_261_122
DEMO_CALLS = 5_000
DEMO_LEADS = 200
INSERT_CHUNK = 20_000  # rows per executemany; bounds the driver's parameter buffers
# The callbacks the running campaign's patients asked for: (days ahead, local time, reason,
# instructions), on its first answered leads
DEMO_CALLBACKS = (
    (1, "10:30", "Driving when we called", "Offer to move the visit to a morning slot."),
    (2, "15:00", "Wants to check with their partner first",
     "Ask whether the booked time still suits them both."),
    (3, "09:15", "Asked about the cost of the check-up", "Confirm the visit and mention the fee."),
)


def seed(db: Engine, organization_id: str, only_if_empty: bool = False, *,
         calls: int = DEMO_CALLS, leads: int = DEMO_LEADS, seed_value: int = DEMO_SEED,
         now: datetime | None = None) -> bool:
    """Seed the demo data; with ``only_if_empty`` nothing happens when the organization already
    has agents or calls. Returns True when it wrote the data."""
    if only_if_empty and not is_empty(db, organization_id):
        return False
    now = now or utcnow()
    rng = random.Random(seed_value)
    new_id = make_ids(random.Random(seed_value + 1))
    catalog = build_catalog(organization_id, rng, new_id, now, leads)
    builder = CallBuilder(catalog, organization_id, rng, new_id)
    for plan in plan_calls(catalog, rng, now, calls):
        builder.add(plan)
    _apply_lead_progress(catalog, builder.history.leads, now)
    callbacks = _callbacks(catalog, organization_id, new_id, now)
    with db.begin() as conn:
        for table, rows in [*catalog.rows.items(), *builder.history.rows.items(), callbacks]:
            _insert(conn, table, rows)
    return True


def is_empty(db: Engine, organization_id: str) -> bool:
    """True when the organization has neither agents nor calls."""
    with db.connect() as conn:
        for model in (Agent, Call):
            table = table_of(model)
            count = conn.execute(
                select(func.count()).select_from(table).where(table.c.organization_id == organization_id)
            ).scalar_one()
            if count:
                return False
    return True


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        conn.execute(insert(table), rows[start:start + INSERT_CHUNK])


def _apply_lead_progress(catalog: Catalog, progress: dict[str, LeadProgress], now: datetime) -> None:
    """Lead status, attempts and next attempt from the campaign calls actually placed; a next
    attempt falls in the campaign's calling window."""
    lead_table = table_of(Lead)
    campaigns = {campaign.id: campaign for campaign in catalog.campaigns}
    for lead in catalog.rows[lead_table]:
        done = progress.get(lead["id"])
        campaign = campaigns[lead["campaign_id"]]
        first_slot = campaign.window.next_open(_next_slot(now))
        if done is None:
            if campaign.status == "running":  # the dialer picks it up as the demo opens
                lead["next_attempt_at"] = campaign.window.next_open(now)
            continue
        lead.update(attempts=done.attempts, last_call_id=done.last_call_id, outcome=done.outcome,
                    updated_at=done.last_at or now)
        if done.last_status == "completed":
            lead["status"] = "do_not_call" if done.outcome == "wrong_number" else "completed"
        elif done.last_status == "canceled":  # the dialer hung up before an answer: queued again
            lead["status"] = "pending"
            lead["next_attempt_at"] = first_slot
        else:
            lead["status"] = done.last_status  # busy | no_answer | failed
            if done.attempts < campaign.max_attempts and done.last_at is not None:
                retry = done.last_at + timedelta(minutes=campaign.retry_delay_minutes)
                lead["next_attempt_at"] = campaign.window.next_open(max(retry, _next_slot(now)))


def _callbacks(catalog: Catalog, organization_id: str, new_id: Callable[[], str],
               now: datetime) -> tuple[Table, list[dict[str, Any]]]:
    """Scheduled callbacks on the running campaign's first answered leads (:data:`DEMO_CALLBACKS`),
    each asked for in the lead's last call, due at its time in the campaign's zone."""
    make = RowMaker(ScheduledCallback)
    running = next((c for c in catalog.campaigns if c.status == "running"), None)
    answered = [lead for lead in catalog.rows[table_of(Lead)]
                if running is not None and lead["campaign_id"] == running.id
                and lead.get("status") == "completed" and lead.get("last_call_id")]
    rows = []
    for lead, (days, clock, reason, instructions) in zip(answered, DEMO_CALLBACKS, strict=False):
        assert running is not None
        hour, minute = (int(part) for part in clock.split(":"))
        local = (now + timedelta(days=days)).astimezone(running.window.zone)
        due = local.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(UTC)
        rows.append(make(organization_id, new_id(), lead["updated_at"], campaign_id=running.id,
                         lead_id=lead["id"], call_id=lead["last_call_id"],
                         to_number=lead["phone_number"], scheduled_at=due, dial_at=due,
                         reason=reason, instructions=instructions, status="scheduled",
                         requested_by="agent"))
    return make.table, rows


def _next_slot(now: datetime) -> datetime:
    """The next quarter hour: when the dialer will pick a pending lead up."""
    base = now.replace(second=0, microsecond=0)
    return base + timedelta(minutes=15 - base.minute % 15)


__all__ = ["DEMO_CALLS", "DEMO_LEADS", "DEMO_SEED", "is_empty", "seed"]
