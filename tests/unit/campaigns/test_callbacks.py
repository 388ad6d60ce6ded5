"""Scheduled callbacks placed by the dialer over a real SQLite store, in virtual time (the clock
and placer of test_dialer): due inside the campaign's calling hours, outside them (moved to the
next opening in the lead's zone), without a campaign, canceled before they are due, on the
do-not-call list, and a restart that finds one being dialled (never dialled twice)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from engine.agents.call_tools import CallbackRequest, schedule_callback
from engine.campaigns import Dialer
from engine.campaigns.callbacks import cancel
from engine.store import Agent, Call, DoNotCall, Lead, ScheduledCallback, session_scope
from tests.harness.stores import fresh_store
from tests.unit.campaigns.test_dialer import WEDNESDAY_10_NY, Clock, ScriptedPlacer, call, make_campaign

NEW_YORK = ZoneInfo("America/New_York")
LEAD = "+12025550150"  # America/New_York by region

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    db, org = fresh_store(tmp_path / "store.db")
    yield db, org
    db.dispose()


def finished_campaign(db: Engine, org: str) -> tuple[str, str, str]:
    """A completed campaign (09:00-17:00 on weekdays, New York) whose one lead was called and
    asked for a callback: (campaign id, lead id, the call's id)."""
    campaign_id = make_campaign(db, org, [LEAD], status="completed", timezone="America/New_York",
                                calling_hours_start="09:00", calling_hours_end="17:00",
                                calling_days=[0, 1, 2, 3, 4])
    with session_scope(db) as session:
        lead = session.exec(select(Lead).where(Lead.campaign_id == campaign_id)).one()
        lead.status = "completed"
        source = Call(organization_id=org, direction="outbound", from_number="+14155550199",
                      to_number=LEAD, campaign_id=campaign_id, lead_id=lead.id, status="completed",
                      dynamic_variables={"first_name": "Person0", "plan": "gold"},
                      initiated_at=WEDNESDAY_10_NY, ended_at=WEDNESDAY_10_NY)
        session.add(source)
        return campaign_id, lead.id, source.id


def callback(db: Engine, callback_id: str) -> ScheduledCallback:
    with session_scope(db) as session:
        row = session.get(ScheduledCallback, callback_id)
        assert row is not None
        return row


def schedule(db: Engine, org: str, call_id: str, at: datetime, **fields: Any) -> str:
    request = CallbackRequest(org, call_id, at, reason=fields.pop("reason", "busy driving"),
                              instructions=fields.pop("instructions", "Offer the Tuesday slot"),
                              requested_by="supervisor")
    return str(schedule_callback(db, request, WEDNESDAY_10_NY)["id"])


async def test_a_callback_due_inside_calling_hours_is_placed_at_its_time(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id, lead_id, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(hours=2)  # 12:00 in New York
    callback_id = schedule(db, org, source_id, due_at)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)

    assert await dialer.step() == due_at  # nothing to do before then but wait for it
    assert placer.order == []
    clock.now = due_at - timedelta(seconds=1)
    await dialer.step()
    assert placer.order == []

    clock.now = due_at
    await dialer.step()
    (call_id,) = placer.order
    row = callback(db, callback_id)
    assert (row.status, row.callback_call_id, row.dial_at) == ("dialing", call_id, due_at)
    placed = call(db, call_id)
    assert (placed.to_number, placed.direction, placed.campaign_id, placed.lead_id) == (
        LEAD, "outbound", campaign_id, lead_id)
    assert placed.dynamic_variables["callback_instructions"] == "Offer the Tuesday slot"
    assert placed.dynamic_variables["callback_reason"] == "busy driving"
    assert placed.dynamic_variables["plan"] == "gold"  # the lead's variables go on
    assert placed.metadata_["callback_id"] == callback_id
    await dialer.step()
    assert placer.order == [call_id]  # one call while it is under way

    placer.answer(call_id, due_at + timedelta(seconds=5))
    await placer.end(call_id, "completed", due_at + timedelta(seconds=60))
    clock.advance(61)
    await dialer.step()
    row = callback(db, callback_id)
    assert row.status == "completed"
    assert placer.order == [call_id]


async def test_a_callback_outside_calling_hours_moves_to_the_next_opening(store: tuple[Engine, str]) -> None:
    db, org = store
    _, _, source_id = finished_campaign(db, org)
    evening = datetime(2027, 1, 8, 18, 30, tzinfo=NEW_YORK).astimezone(UTC)  # Friday 18:30
    monday_nine = datetime(2027, 1, 11, 9, 0, tzinfo=NEW_YORK).astimezone(UTC)
    callback_id = schedule(db, org, source_id, evening)
    clock = Clock(evening)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)

    assert await dialer.step() == monday_nine
    assert placer.order == []
    row = callback(db, callback_id)
    assert (row.status, row.scheduled_at, row.dial_at) == ("scheduled", evening, monday_nine)

    clock.now = monday_nine - timedelta(minutes=1)
    await dialer.step()
    assert placer.order == []
    clock.now = monday_nine
    await dialer.step()
    assert len(placer.order) == 1
    assert callback(db, callback_id).status == "dialing"

    await placer.end(placer.order[0], "no_answer", monday_nine + timedelta(seconds=30))
    clock.advance(31)
    await dialer.step()
    row = callback(db, callback_id)
    assert (row.status, row.status_reason) == ("failed", "no_answer")


async def test_a_callback_without_a_campaign_is_placed_at_its_time_any_hour(
        store: tuple[Engine, str]) -> None:
    db, org = store
    with session_scope(db) as session:
        agent = Agent(organization_id=org, name="Front desk")
        source = Call(organization_id=org, direction="inbound", from_number=LEAD,
                      to_number="+14155550100", agent_id=agent.id, status="completed")
        session.add_all([agent, source])
        agent_id, source_id = agent.id, source.id
    three_am = datetime(2027, 1, 9, 3, 0, tzinfo=NEW_YORK).astimezone(UTC)  # a Saturday night
    callback_id = schedule(db, org, source_id, three_am)
    clock = Clock(three_am)
    placer = ScriptedPlacer(db)
    await Dialer(db, placer, clock=clock).step()
    (call_id,) = placer.order
    placed = call(db, call_id)
    assert (placed.to_number, placed.from_number, placed.agent_id, placed.campaign_id) == (
        LEAD, "+14155550100", agent_id, None)
    assert callback(db, callback_id).status == "dialing"


async def test_a_callback_canceled_before_it_is_due_is_never_placed(store: tuple[Engine, str]) -> None:
    db, org = store
    _, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(hours=1)
    callback_id = schedule(db, org, source_id, due_at)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    assert await dialer.step() == due_at

    canceled = cancel(db, org, callback_id, WEDNESDAY_10_NY + timedelta(minutes=5))
    assert canceled is not None and canceled.status == "canceled"
    clock.now = due_at + timedelta(minutes=5)
    assert await dialer.step() is None
    assert placer.order == []
    assert callback(db, callback_id).status == "canceled"
    with pytest.raises(ValueError, match="canceled"):  # only a scheduled one can be canceled
        cancel(db, org, callback_id, clock.now)
    assert cancel(db, "another-org", callback_id, clock.now) is None


async def test_a_callback_to_a_do_not_call_number_fails_without_dialling(store: tuple[Engine, str]) -> None:
    db, org = store
    _, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(minutes=30)
    callback_id = schedule(db, org, source_id, due_at)
    with session_scope(db) as session:
        session.add(DoNotCall(organization_id=org, number=LEAD, reason="asked by email"))
    clock = Clock(due_at)
    placer = ScriptedPlacer(db)
    await Dialer(db, placer, clock=clock).step()
    assert placer.order == []
    row = callback(db, callback_id)
    assert (row.status, row.status_reason) == ("failed", "do_not_call")


async def test_a_restart_settles_a_callback_being_dialled_and_never_dials_it_again(
        store: tuple[Engine, str]) -> None:
    db, org = store
    _, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(minutes=10)
    callback_id = schedule(db, org, source_id, due_at)
    clock = Clock(due_at)
    first = ScriptedPlacer(db)
    await Dialer(db, first, clock=clock).step()
    (call_id,) = first.order
    first.answer(call_id, due_at + timedelta(seconds=3))  # answered, then the engine dies

    clock.advance(120)
    again = ScriptedPlacer(db)
    restarted = Dialer(db, again, clock=clock)
    assert await restarted.step() is None
    assert again.order == []
    row = callback(db, callback_id)
    assert (row.status, row.callback_call_id) == ("completed", call_id)
    assert call(db, call_id).disconnect_reason == "engine_restart"
    for _ in range(3):
        clock.advance(3600)
        await restarted.step()
    assert again.order == []


async def test_a_restart_fails_a_callback_whose_call_was_never_answered(store: tuple[Engine, str]) -> None:
    db, org = store
    _, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(minutes=10)
    callback_id = schedule(db, org, source_id, due_at)
    clock = Clock(due_at)
    await Dialer(db, ScriptedPlacer(db), clock=clock).step()
    clock.advance(60)
    again = ScriptedPlacer(db)
    await Dialer(db, again, clock=clock).step()
    await asyncio.sleep(0)
    assert again.order == []
    row = callback(db, callback_id)
    assert (row.status, row.status_reason) == ("failed", "engine_restart")
