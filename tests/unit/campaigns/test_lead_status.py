"""A lead's status as a person sets it (pure), and a lead that opted out during its call: the
attempt's end leaves it ``do_not_call`` and says so in ``campaign.progress``, and it is never
dialled again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.agents.call_tools import opt_out
from engine.campaigns import SETTABLE_LEAD_STATUSES, Dialer, LifecycleError, check_lead_status
from engine.events import CampaignProgress, EventBus, parse_event
from tests.harness.stores import fresh_store
from tests.unit.campaigns.test_dialer import (
    WEDNESDAY_10_NY,
    Clock,
    ScriptedPlacer,
    call,
    campaign_status,
    leads,
    make_campaign,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    db, org = fresh_store(tmp_path / "store.db")
    yield db, org
    db.dispose()


def test_a_person_sets_pending_or_do_not_call_but_not_a_lead_being_called() -> None:
    assert SETTABLE_LEAD_STATUSES == ("pending", "do_not_call")
    for current in ("failed", "no_answer", "busy", "voicemail", "completed", "do_not_call"):
        check_lead_status("pending", current, "running")
        check_lead_status("do_not_call", current, "paused")
    with pytest.raises(LifecycleError, match="being called"):
        check_lead_status("pending", "calling", "running")
    with pytest.raises(LifecycleError, match="being called"):
        check_lead_status("do_not_call", "calling", "running")
    for over in ("completed", "canceled"):
        with pytest.raises(LifecycleError, match=f"the campaign is {over}"):
            check_lead_status("pending", "no_answer", over)
        check_lead_status("do_not_call", "no_answer", over)  # stopping calls is always fine
    check_lead_status("pending", "pending", "canceled")  # no change is no change


async def test_a_lead_that_opts_out_during_its_call_stays_do_not_call(store: tuple[Engine, str]) -> None:
    db, org = store
    number = "+12025550101"
    campaign_id = make_campaign(db, org, [number], max_attempts=3)
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    events = bus.subscribe(org)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)
    await dialer.step()
    (call_id,) = placer.order
    placer.answer(call_id, clock.now)
    opt_out(db, org, call_id, clock.now)  # the agent's tool, while the call is on
    await placer.end(call_id, "completed", clock.now, disconnect_reason="agent_hangup")
    clock.advance(5)
    await dialer.step()
    lead = leads(db, campaign_id)[number]
    assert (lead.status, lead.attempts, lead.next_attempt_at) == ("do_not_call", 1, None)
    assert call(db, call_id).retry_at is None
    seen = []
    while not events.queue.empty():
        event = parse_event(events.queue.get_nowait())
        if isinstance(event, CampaignProgress):
            seen.append((event.lead_status, event.done, event.total))
    assert seen == [("calling", 0, 1), ("do_not_call", 1, 1)]
    for _ in range(3):
        clock.advance(3600)
        await dialer.step()
    assert placer.order == [call_id]
    assert campaign_status(db, campaign_id) == "completed"
