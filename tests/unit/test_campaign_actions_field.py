"""A campaign's record says which lifecycle actions its state allows: ``actions`` maps start,
pause, resume and cancel to null, or to the reason the engine refuses the action with (an engine
over a real SQLite store, its API in process, no dialer: a campaign stays where it is put)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from engine.api import create_app
from engine.app import Engine
from engine.settings import Settings
from engine.store import Campaign
from engine.store.campaigns import CAMPAIGN_STATUSES

KEY = "sb_actions_admin_key_0123456789abcdefghijklm"
BEARER = {"Authorization": f"Bearer {KEY}"}
START = "only a draft or a scheduled campaign can start"
PAUSE = "only a running campaign can pause"
RESUME = "only a paused campaign can resume"
CANCEL = "only a draft, a scheduled, a running or a paused campaign can cancel"
# what each state allows (None) and refuses (the end of the engine's reason); every state is here
EXPECTED: dict[str, dict[str, str | None]] = {
    "draft": {"start": None, "pause": PAUSE, "resume": RESUME, "cancel": None},
    "scheduled": {"start": None, "pause": PAUSE, "resume": RESUME, "cancel": None},
    "running": {"start": START, "pause": None, "resume": RESUME, "cancel": None},
    "paused": {"start": START, "pause": PAUSE, "resume": None, "cancel": None},
    "completed": {"start": START, "pause": PAUSE, "resume": RESUME, "cancel": CANCEL},
    "canceled": {"start": START, "pause": PAUSE, "resume": RESUME, "cancel": CANCEL},
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = Engine(Settings(data_dir=Path(tmp_path_factory.mktemp("actions")), api_key=KEY))
    engine.setup()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def app(engine: Engine) -> FastAPI:
    return create_app(engine)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://engine", headers=BEARER) as client:
        yield client


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


def test_every_campaign_status_is_covered() -> None:
    assert set(EXPECTED) == set(CAMPAIGN_STATUSES)


def expected(status: str) -> dict[str, str | None]:
    return {action: None if reason is None else f"the campaign is {status}; {reason}"
            for action, reason in EXPECTED[status].items()}


async def check(http: httpx.AsyncClient, campaign: dict[str, Any], status: str) -> None:
    """The record in ``status`` carries its actions, as returned, read and listed; each action
    it refuses meets the refusal its record names."""
    assert campaign["status"] == status
    assert campaign["actions"] == expected(status), status
    ident = campaign["id"]
    read = (await http.get(f"/v1/campaigns/{ident}")).json()
    assert read["status"] == status and read["actions"] == expected(status)
    listed = (await http.get("/v1/campaigns", params={"status": status})).json()["items"]
    assert [row["actions"] for row in listed if row["id"] == ident] == [expected(status)]
    for action, reason in campaign["actions"].items():
        if reason is not None:
            refused = await http.post(f"/v1/campaigns/{ident}/{action}")
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"] == reason


@pytest.mark.timeout(120)
async def test_each_status_says_which_actions_it_allows(engine: Engine,
                                                         http: httpx.AsyncClient) -> None:
    engine.bus.bind(asyncio.get_running_loop())
    events = engine.bus.subscribe(str(engine.organization_id))
    trunk = await created(http, "/v1/sip-trunks", {"name": "Carrier", "host": "127.0.0.1"})
    agent = await created(http, "/v1/agents", {"name": "Renewals agent"})
    number = await created(http, "/v1/phone-numbers", {"number": "+14155550100",
                                                       "sip_trunk_id": trunk["id"]})
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    campaign = await created(http, "/v1/campaigns", {
        "name": "Renewals", "agent_id": agent["id"], "phone_number_id": number["id"],
        "scheduled_at": later})
    await check(http, campaign, "draft")
    ident = campaign["id"]
    await created(http, f"/v1/campaigns/{ident}/leads", {"phone_number": "+14155550001"})

    for action, status in (("start", "scheduled"), ("start", "running"), ("pause", "paused"),
                           ("resume", "running"), ("cancel", "canceled")):
        moved = await http.post(f"/v1/campaigns/{ident}/{action}")
        assert moved.status_code == 200, moved.text
        await check(http, moved.json(), status)
    # the campaign.updated events carry the actions too: the last one is the cancel's
    updates = []
    while True:
        try:
            event = await asyncio.wait_for(events.queue.get(), timeout=10)
        except TimeoutError:
            break
        if event["type"] == "campaign.updated" and event["data"]["id"] == ident:
            updates.append(event["data"])
            if event["data"]["status"] == "canceled":
                break
    assert updates and updates[-1]["actions"] == expected("canceled")

    # completed is the dialer's to set, when every lead is done with
    done = await created(http, "/v1/campaigns", {"name": "Done", "agent_id": agent["id"]})
    with engine.db.begin() as conn:
        conn.execute(update(Campaign).where(Campaign.id == done["id"])  # type: ignore[arg-type]
                     .values(status="completed"))
    await check(http, (await http.get(f"/v1/campaigns/{done['id']}")).json(), "completed")
