"""The API over an in-process engine (SIP off: nobody is dialled): each change of a scheduled
callback is a typed ``callback.changed`` event; a campaign's callbacks are listed with their
leads' names; canceling a campaign cancels its scheduled callbacks; and a lead's status takes
only what a person may set (``pending`` to queue it again, ``do_not_call``), 422 naming
``status`` and the allowed values for the dialer's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from engine.api import create_app
from engine.app import Engine
from engine.client import ApiError, Client
from engine.events import CallbackChanged, Subscription, parse_event
from engine.settings import Settings
from engine.store import Lead, session_scope

pytestmark = pytest.mark.timeout(60)

LEAD_NUMBER = "+12025550161"
LOOP_TURNS = 20


@dataclass
class Api:
    engine: Engine
    client: Client
    events: Subscription

    async def callback_changes(self) -> list[CallbackChanged]:
        """The callback events sent so far (a sync route emits from its worker thread: the bus
        hands those to the loop, which delivers them within a few turns)."""
        for _ in range(LOOP_TURNS):
            await asyncio.sleep(0)
        found = []
        while not self.events.queue.empty():
            event = parse_event(self.events.queue.get_nowait())
            if isinstance(event, CallbackChanged):
                found.append(event)
        return found


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    engine = Engine(Settings(data_dir=tmp_path, sip_enabled=False))
    key = engine.setup()
    assert key is not None
    await engine.start()
    client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                    timeout=30)
    try:
        yield Api(engine, client, engine.bus.subscribe(engine.organization_id))
    finally:
        await client.aclose()
        await engine.stop()
        engine.close()


async def campaign_call(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A campaign with one lead, and a call to the lead: (campaign, lead, call)."""
    client = api.client
    agent = await client.agents.create(name="Renewals caller")
    campaign = await client.campaigns.create(name="Renewals", agent_id=agent["id"])
    lead = await client.leads(campaign["id"]).create(phone_number=LEAD_NUMBER, name="Ada Byron")
    call = await client.create_call(agent_id=agent["id"], from_number="+14155550100",
                                    to_number=LEAD_NUMBER, campaign_id=campaign["id"],
                                    lead_id=lead["id"])
    return campaign, lead, call


async def test_a_callback_made_and_canceled_is_told_as_typed_events(api: Api) -> None:
    campaign, lead, call = await campaign_call(api)
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    made = await api.client.schedule_callback(call["id"], at.isoformat(), reason="driving",
                                              instructions="Offer the renewal discount")
    (created,) = await api.callback_changes()
    assert (created.callback_id, created.status, created.number) == (made["id"], "scheduled",
                                                                     LEAD_NUMBER)
    assert (created.campaign_id, created.lead_id, created.call_id) == (
        campaign["id"], lead["id"], call["id"])
    assert created.organization_id == api.engine.organization_id
    assert datetime.fromisoformat(str(created.dial_at)) == at
    assert (created.reason, created.instructions, created.requested_by) == (
        "driving", "Offer the renewal discount", "supervisor")
    wire = created.to_wire()  # what the socket sends: the callback's id as "id", the call's too
    assert wire["type"] == "callback.changed" and wire["call_id"] == call["id"]
    assert wire["data"]["id"] == made["id"] and wire["data"]["call_id"] == call["id"]
    assert parse_event(wire) == created

    listed = (await api.client.campaign_callbacks(campaign["id"])).items
    assert [(c["id"], c["lead_name"]) for c in listed] == [(made["id"], "Ada Byron")]

    await api.client.cancel_callback(made["id"])
    (canceled,) = await api.callback_changes()
    assert (canceled.callback_id, canceled.status, canceled.status_reason) == (
        made["id"], "canceled", "canceled")
    assert canceled.record()["to_number"] == LEAD_NUMBER


async def test_canceling_a_campaign_cancels_its_scheduled_callbacks(api: Api) -> None:
    campaign, _, call = await campaign_call(api)
    first = await api.client.schedule_callback(call["id"], "in 2 hours")
    second = await api.client.schedule_callback(call["id"], "in 3 hours")
    await api.client.cancel_callback(second["id"])
    await api.callback_changes()

    await api.client.cancel_campaign(campaign["id"])
    changes = await api.callback_changes()
    assert [(c.callback_id, c.status, c.status_reason) for c in changes] == [
        (first["id"], "canceled", "campaign canceled")]  # the one canceled before stays as it was
    stored = {c["id"]: c for c in (await api.client.campaign_callbacks(campaign["id"])).items}
    assert (stored[first["id"]]["status"], stored[second["id"]]["status_reason"]) == (
        "canceled", "canceled")


async def test_a_number_put_on_the_do_not_call_list_loses_its_callbacks(api: Api) -> None:
    campaign, _, call = await campaign_call(api)
    made = await api.client.schedule_callback(call["id"], "in 2 hours")
    await api.callback_changes()

    added = await api.client.add_do_not_call(LEAD_NUMBER, "asked by letter")
    assert (added["leads_blocked"], added["callbacks_canceled"]) == (1, 1)
    (canceled,) = await api.callback_changes()
    assert (canceled.callback_id, canceled.status, canceled.status_reason) == (
        made["id"], "canceled", "do_not_call")
    stored = (await api.client.campaign_callbacks(campaign["id"])).items
    assert [c["status"] for c in stored] == ["canceled"]


async def test_a_lead_takes_only_the_statuses_a_person_may_set(api: Api) -> None:
    campaign, lead, _ = await campaign_call(api)
    leads = api.client.leads(campaign["id"])
    for status in ("completed", "calling", "busy", "no_answer", "failed", "canceled", "soon"):
        with pytest.raises(ApiError) as err:
            await leads.update(lead["id"], status=status)
        assert err.value.status == 422 and err.value.field == "status", (status, err.value)
        assert "'pending'" in err.value.message and "'do_not_call'" in err.value.message
    assert (await leads.get(lead["id"]))["status"] == "pending"

    # a lead the dialer gave up on (failed, tried to the limit) is queued again by hand
    with session_scope(api.engine.db) as session:
        row = session.get(Lead, lead["id"])
        assert row is not None
        row.status, row.outcome, row.attempts = "failed", "failed", 3
        row.next_attempt_at = datetime.now(UTC) + timedelta(days=1)
    queued = await leads.update(lead["id"], status="pending")
    assert (queued["status"], queued["next_attempt_at"], queued["attempts"]) == ("pending", None, 3)
    blocked = await leads.update(lead["id"], status="do_not_call")
    assert (blocked["status"], blocked["outcome"]) == ("do_not_call", "do_not_call")

    # a lead being called keeps what its call says
    with session_scope(api.engine.db) as session:
        row = session.get(Lead, lead["id"])
        assert row is not None
        row.status = "calling"
    with pytest.raises(ApiError) as err:
        await leads.update(lead["id"], status="pending")
    assert err.value.status == 409 and err.value.field == "status"
    assert "being called" in err.value.message

    # a campaign that is over queues nobody again
    with session_scope(api.engine.db) as session:
        row = session.get(Lead, lead["id"])
        assert row is not None
        row.status = "no_answer"
    await api.client.cancel_campaign(campaign["id"])
    with pytest.raises(ApiError) as err:
        await leads.update(lead["id"], status="pending")
    assert err.value.status == 409 and "canceled" in err.value.message
