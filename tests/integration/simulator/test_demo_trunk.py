"""The demo's trunk to simulated people: a demo engine's outbound calls reach the simulated
callees it starts (a persona answers, a busy line is busy), dialled through the API as any
outbound call is."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.demo.catalog import CALLEES_NUMBER, CALLEES_TRUNK
from engine.demo.seed import seed
from tests.harness.sip_engine import sip_settings

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(150)

ANSWERS_ORDER_STATUS = "+12025550101"  # engine.simulator.number_plan.demo_plan
BUSY = "+12025550120"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Engine, Client]]:
    engine = Engine(sip_settings(tmp_path))
    key = engine.setup()
    assert key is not None
    seed(engine.db, engine.organization_id, calls=0, leads=0)
    await engine.start()
    assert engine.telephony is not None
    await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 30)
    client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                    timeout=30)
    yield engine, client
    await client.aclose()
    await engine.stop()
    engine.close()


async def _ended(engine: Engine, client: Client, call_id: str) -> dict[str, object]:
    async with asyncio.timeout(100):
        while (await client.get_call(call_id))["status"] in ("queued", "ringing", "in_progress"):  # noqa: ASYNC110 - polls the API as a client would
            await asyncio.sleep(0.3)
    await engine.settle_call(call_id)
    return await client.get_call(call_id)


async def test_demo_outbound_calls_reach_the_simulated_people(
        demo: tuple[Engine, Client]) -> None:
    engine, client = demo
    assert engine.callees is not None
    trunk = next(t for t in await client.sip_trunks.all() if t["name"] == CALLEES_TRUNK)
    assert trunk["port"] == engine.callees.port  # pointed at them when the engine started
    number = next(n for n in await client.phone_numbers.all() if n["number"] == CALLEES_NUMBER)
    agents = {a["name"]: a["id"] for a in await client.agents.all()}

    answered = await client.create_call(agent_id=agents["Order status"], to_number=ANSWERS_ORDER_STATUS,
                                        phone_number_id=number["id"])
    busy = await client.create_call(agent_id=agents["Order status"], to_number=BUSY,
                                    phone_number_id=number["id"])

    call = await _ended(engine, client, answered["id"])
    assert call["status"] == "completed", call
    sources = {e["source"] for e in call["transcript"]["entries"]}
    assert sources == {"agent", "user"}, call["transcript"]
    assert call["metadata"]["rtp"]["codec"] == "G722"  # the simulated people prefer wideband
    assert (await _ended(engine, client, busy["id"]))["status"] == "busy"
    async with asyncio.timeout(20):  # each callee's result is kept once its side has hung up
        while len(engine.callees.results) < 2:  # noqa: ASYNC110 - the callees' tasks fill it
            await asyncio.sleep(0.2)
    results = {r.persona: r for r in engine.callees.results}
    assert set(results) == {"order_status", "busy"}, engine.callees.results
    assert results["order_status"].said and results["order_status"].answered
