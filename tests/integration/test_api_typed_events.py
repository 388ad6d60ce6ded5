"""The API client's typed event stream against a running engine: the snapshot, the CRUD routes'
record events, a campaign's bulk import and a call's change arrive as their event classes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

from engine.client import Client
from engine.events import (
    AgentCreated,
    AgentDeleted,
    AgentUpdated,
    CallCreated,
    CallUpdated,
    CampaignLeadsImported,
    Event,
    Snapshot,
)
from tests.harness.tenants import Scratch, Tenant

TIMEOUT = 10.0
E = TypeVar("E", bound=Event)


async def next_of(stream: AsyncIterator[Event], cls: type[E]) -> E:
    """The next event of a class, skipping others."""
    async def find() -> E:
        async for event in stream:
            if isinstance(event, cls):
                return event
        raise AssertionError("the stream ended")
    return await asyncio.wait_for(find(), TIMEOUT)


async def test_the_typed_stream_of_an_organization(scratch: Scratch) -> None:
    api = scratch.api
    queued = await api.create_call(agent_id=scratch.agent["id"], to_number="+14155550123",
                                   is_test=True)
    stream = api.event_stream()
    try:
        snapshot = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert isinstance(snapshot, Snapshot) and snapshot.call is None
        assert [c["id"] for c in snapshot.calls or []] == [queued["id"]]
        agent = await api.agents.create(name="Typed")
        created = await next_of(stream, AgentCreated)
        assert created.record["id"] == agent["id"] and created.record_id == agent["id"]
        assert created.organization_id == scratch.organization_id and created.at
        await api.agents.update(agent["id"], name="Typed 2")
        assert (await next_of(stream, AgentUpdated)).record["name"] == "Typed 2"
        campaign = await api.campaigns.create(name="C", agent_id=agent["id"])
        await api.import_leads(campaign["id"], [{"phone_number": "+14155550199"}])
        imported = await next_of(stream, CampaignLeadsImported)
        assert (imported.campaign_id, imported.imported) == (campaign["id"], 1)
        call = await api.create_call(agent_id=agent["id"], to_number="+14155550123", is_test=True)
        made = await next_of(stream, CallCreated)
        assert made.call_id == call["id"] and made.status == "queued"
        await api.agents.delete(agent["id"])
        assert (await next_of(stream, AgentDeleted)).record == {"id": agent["id"]}
    finally:
        await stream.aclose()


async def test_the_typed_stream_of_one_call(tapi: Client, tenant: Tenant) -> None:
    call_id = tenant.calls[0]["id"]
    stream = tapi.event_stream(call_id)
    try:
        snapshot = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert isinstance(snapshot, Snapshot) and snapshot.call_id == call_id
        assert snapshot.call is not None and len(snapshot.call["transcript"]["entries"]) == 4
        await tapi.update_call(call_id, notes="typed")
        changed = await next_of(stream, CallUpdated)
        assert changed.ident == call_id
    finally:
        await stream.aclose()
