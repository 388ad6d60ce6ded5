"""WS /v1/events: authentication, the snapshot, then change events as rows change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from engine.client import Client
from tests.harness.tenants import Scratch, Tenant

TIMEOUT = 10.0


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/v1/events" + (f"?{query}" if query else "")


async def next_of(stream: AsyncIterator[dict[str, Any]], type_: str) -> dict[str, Any]:
    """The next event of a type, skipping others."""
    async def find() -> dict[str, Any]:
        async for event in stream:
            if event["type"] == type_:
                return event
        raise AssertionError("the stream ended")
    return await asyncio.wait_for(find(), TIMEOUT)


async def test_snapshot_then_crud_events(scratch: Scratch) -> None:
    api = scratch.api
    queued = await api.create_call(agent_id=scratch.agent["id"], to_number="+14155550123",
                                   is_test=True)
    stream = api.events()
    try:
        snapshot = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert snapshot["type"] == "snapshot"
        assert [c["id"] for c in snapshot["data"]["calls"]] == [queued["id"]]
        assert snapshot["data"]["calls"][0]["agent_name"] == "Scratch agent"
        agent = await api.agents.create(name="Evented")
        created = await next_of(stream, "agent.created")
        assert created["data"]["id"] == agent["id"]
        assert created["organization_id"] == scratch.organization_id
        await api.agents.update(agent["id"], name="Evented 2")
        assert (await next_of(stream, "agent.updated"))["data"]["name"] == "Evented 2"
        campaign = await api.campaigns.create(name="C", agent_id=agent["id"])
        assert (await next_of(stream, "campaign.created"))["data"]["id"] == campaign["id"]
        call = await api.create_call(agent_id=agent["id"], to_number="+14155550123", is_test=True)
        event = await next_of(stream, "call.created")
        assert event["call_id"] == call["id"] and event["data"]["status"] == "queued"
        await api.update_call(call["id"], notes="hello")
        assert (await next_of(stream, "call.updated"))["call_id"] == call["id"]
    finally:
        await stream.aclose()


async def test_events_of_other_organizations_are_not_sent(scratch: Scratch, api: Client) -> None:
    stream = scratch.api.events()
    try:
        await asyncio.wait_for(anext(stream), TIMEOUT)  # snapshot
        await api.agents.create(name="Someone else's")
        mine = await scratch.api.agents.create(name="Mine")
        event = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert event["type"] == "agent.created" and event["data"]["id"] == mine["id"]
    finally:
        await stream.aclose()


async def test_call_snapshot_with_transcript(tapi: Client, tenant: Tenant) -> None:
    call_id = tenant.calls[0]["id"]
    stream = tapi.events(call_id)
    try:
        snapshot = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert snapshot["type"] == "snapshot"
        call = snapshot["data"]["call"]
        assert call["id"] == call_id and len(call["transcript"]["entries"]) == 4
        other = tenant.calls[2]["id"]
        await tapi.update_call(other, notes="not this call")
        await tapi.update_call(call_id, notes="this call")
        event = await asyncio.wait_for(anext(stream), TIMEOUT)
        assert event["type"] == "call.updated" and event["call_id"] == call_id
    finally:
        await stream.aclose()


async def test_query_parameter_key_for_browsers(tenant: Tenant) -> None:
    async with websockets.connect(ws_url(tenant.url, f"api_key={tenant.key}")) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert snapshot["type"] == "snapshot"
        live = {c["id"] for c in snapshot["data"]["calls"]}
        assert live == {c["id"] for c in tenant.calls if c["status"] == "in_progress"}


@pytest.mark.parametrize("query", ["", "api_key=sb_wrong", "call_id=x&api_key=sb_wrong"])
async def test_bad_auth_closes_with_4401(tenant: Tenant, query: str) -> None:
    async with websockets.connect(ws_url(tenant.url, query)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_unknown_call_closes_with_4404(tenant: Tenant) -> None:
    async with websockets.connect(ws_url(tenant.url, "call_id=missing"),
                                  additional_headers={"Authorization": f"Bearer {tenant.key}"}) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
