"""Callbacks in virtual time, as their ``callback.changed`` events tell them: made by an
agent's tool, moved to the campaign's next calling hours, dialled, done, canceled by an opt-out;
a paused campaign holds its callbacks until it resumes, and a canceled one's are canceled, never
placed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.agents.call_tools import EngineTools
from engine.agents.tools import OPT_OUT, SCHEDULE_CALLBACK
from engine.campaigns import Dialer
from engine.campaigns.callbacks import CAMPAIGN_CANCELED
from engine.events import CallbackChanged, EventBus, Subscription, parse_event
from engine.speech.frames import ToolCall
from engine.store import Campaign, session_scope
from tests.harness.stores import fresh_store
from tests.unit.campaigns.test_callbacks import LEAD, NEW_YORK, callback, finished_campaign, schedule
from tests.unit.campaigns.test_dialer import WEDNESDAY_10_NY, Clock, ScriptedPlacer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    db, org = fresh_store(tmp_path / "store.db")
    yield db, org
    db.dispose()


def listen(org: str) -> tuple[EventBus, Subscription]:
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    return bus, bus.subscribe(org)


def changes(sub: Subscription) -> list[CallbackChanged]:
    found = []
    while not sub.queue.empty():
        event = parse_event(sub.queue.get_nowait())
        if isinstance(event, CallbackChanged):
            found.append(event)
    return found


def set_campaign_status(db: Engine, campaign_id: str, status: str) -> None:
    with session_scope(db) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.status = status


async def test_each_move_of_a_callback_is_an_event(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id, lead_id, source_id = finished_campaign(db, org)
    evening = datetime(2027, 1, 8, 18, 30, tzinfo=NEW_YORK).astimezone(UTC)  # Friday 18:30
    monday_nine = datetime(2027, 1, 11, 9, 0, tzinfo=NEW_YORK).astimezone(UTC)
    callback_id = schedule(db, org, source_id, evening)
    bus, sub = listen(org)
    clock = Clock(evening)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)

    await dialer.step()
    (moved,) = changes(sub)  # outside the calling hours: due at the next opening
    assert (moved.callback_id, moved.status, moved.campaign_id, moved.lead_id, moved.call_id) == (
        callback_id, "scheduled", campaign_id, lead_id, source_id)
    assert moved.dial_at is not None and datetime.fromisoformat(moved.dial_at) == monday_nine
    assert moved.scheduled_at is not None and datetime.fromisoformat(moved.scheduled_at) == evening
    assert moved.number == LEAD and moved.instructions == "Offer the Tuesday slot"

    clock.now = monday_nine
    await dialer.step()
    (call_id,) = placer.order
    (dialing,) = changes(sub)
    assert (dialing.status, dialing.callback_call_id) == ("dialing", call_id)

    placer.answer(call_id, monday_nine + timedelta(seconds=4))
    await placer.end(call_id, "completed", monday_nine + timedelta(seconds=50))
    clock.advance(51)
    await dialer.step()
    (done,) = changes(sub)
    assert (done.callback_id, done.status, done.callback_call_id) == (callback_id, "completed", call_id)
    assert changes(sub) == []


async def test_the_agents_tools_tell_of_the_callbacks_they_make_and_cancel(
        store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id, _, source_id = finished_campaign(db, org)
    bus, sub = listen(org)
    tools = EngineTools(db, org, source_id, bus)
    made = await tools.run(ToolCall(SCHEDULE_CALLBACK, {"when": "in 2 days", "reason": "busy"},
                                    type=SCHEDULE_CALLBACK))
    (created,) = changes(sub)
    assert (created.callback_id, created.status, created.requested_by) == (
        made["callback_id"], "scheduled", "agent")
    assert (created.campaign_id, created.call_id, created.number) == (campaign_id, source_id, LEAD)

    done = await tools.run(ToolCall(OPT_OUT, {}, type=OPT_OUT))
    assert done["callbacks_canceled"] == 1
    (canceled,) = changes(sub)
    assert (canceled.callback_id, canceled.status, canceled.status_reason) == (
        made["callback_id"], "canceled", "do_not_call")


async def test_a_paused_campaign_holds_its_callbacks_until_it_resumes(
        store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(hours=1)
    callback_id = schedule(db, org, source_id, due_at)
    set_campaign_status(db, campaign_id, "paused")
    bus, sub = listen(org)
    clock = Clock(due_at)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)

    assert await dialer.step() is None  # nothing due: the resume wakes the dialer
    clock.advance(3600)
    assert await dialer.step() is None
    assert placer.order == []
    row = callback(db, callback_id)
    assert (row.status, row.dial_at) == ("scheduled", due_at)
    assert changes(sub) == []

    set_campaign_status(db, campaign_id, "running")
    await dialer.step()
    (call_id,) = placer.order
    assert callback(db, callback_id).status == "dialing"
    assert [(c.status, c.callback_call_id) for c in changes(sub)] == [("dialing", call_id)]


async def test_a_canceled_campaigns_callback_is_canceled_not_placed(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id, _, source_id = finished_campaign(db, org)
    due_at = WEDNESDAY_10_NY + timedelta(minutes=20)
    callback_id = schedule(db, org, source_id, due_at)
    set_campaign_status(db, campaign_id, "canceled")
    bus, sub = listen(org)
    clock = Clock(due_at)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)

    assert await dialer.step() is None
    assert placer.order == []
    row = callback(db, callback_id)
    assert (row.status, row.status_reason) == ("canceled", CAMPAIGN_CANCELED)
    assert [(c.callback_id, c.status) for c in changes(sub)] == [(callback_id, "canceled")]
    clock.advance(3600)
    await dialer.step()
    assert placer.order == []
