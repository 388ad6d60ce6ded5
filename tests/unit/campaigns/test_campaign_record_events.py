"""The campaign.updated events the dialer sends (a scheduled campaign whose time came, a
campaign with every lead done) carry the record's ``actions``, as the API's records do: a
client enables its buttons from them (a real SQLite store, in virtual time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from engine.campaigns import Dialer
from engine.events import EventBus
from tests.harness.stores import fresh_store
from tests.unit.campaigns.test_dialer import WEDNESDAY_10_NY, Clock, ScriptedPlacer, make_campaign


@pytest.mark.timeout(60)
async def test_the_dialers_campaign_records_say_their_actions(tmp_path: Path) -> None:
    db, org = fresh_store(tmp_path / "store.db")
    campaign_id = make_campaign(db, org, ["+12025550101"], status="scheduled",
                                scheduled_at=WEDNESDAY_10_NY - timedelta(minutes=1))
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    events = bus.subscribe(org)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)
    await dialer.step()  # its time came: it runs, and dials its lead
    await placer.end(placer.order[0], "completed", clock.now)
    clock.advance(5)
    await dialer.step()  # its only lead is done: it is completed
    records = []
    while not events.queue.empty():
        event = events.queue.get_nowait()
        if event["type"] == "campaign.updated" and event["data"]["id"] == campaign_id:
            records.append(event["data"])
    db.dispose()
    assert [(r["status"], r["actions"]["pause"], r["actions"]["start"]) for r in records] == [
        ("running", None, "the campaign is running; only a draft or a scheduled campaign can "
                          "start"),
        ("completed", "the campaign is completed; only a running campaign can pause",
         "the campaign is completed; only a draft or a scheduled campaign can start"),
    ]
