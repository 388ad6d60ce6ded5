"""``GET/PUT /v1/engine/demo-callers`` through the client, on an in-process app over a store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from engine.api import create_app
from engine.app import Engine
from engine.client import ApiError, Client
from engine.settings import Settings
from engine.simulator.demo_callers import DemoCallers

KEY = "sb_test_admin_key_0123456789abcdefghijklmnop"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = Engine(Settings(data_dir=tmp_path, api_key=KEY))
    engine.setup()
    yield engine
    if engine.demo_callers is not None:
        await engine.demo_callers.stop(grace_s=0)
    engine.close()


def client(engine: Engine) -> Client:
    return Client("http://engine", KEY, transport=httpx.ASGITransport(app=create_app(engine)))


async def test_without_sip_the_switch_answers_409(engine: Engine) -> None:
    async with client(engine) as api:
        for request in (api.demo_callers(), api.set_demo_callers(True)):
            with pytest.raises(ApiError) as refused:
                await request
            assert refused.value.status == 409
            assert "SIP" in str(refused.value)


async def test_the_switch_stops_and_resumes_new_calls(engine: Engine) -> None:
    started: list[str] = []
    hold = asyncio.Event()

    async def call(persona: str, number: str) -> object:
        started.append(persona)
        await hold.wait()
        return None

    engine.demo_callers = DemoCallers(call, target=2, gap_s=(0.01, 0.02), seed=1)
    engine.demo_callers.enabled = False
    async with client(engine) as api:
        assert await api.demo_callers() == {"enabled": False, "target": 2, "in_progress": 0}
        state = await api.set_demo_callers(True)
        assert state["enabled"] is True
        async with asyncio.timeout(5):
            while engine.demo_callers.in_progress < 2:  # noqa: ASYNC110 - a background task fills it
                await asyncio.sleep(0.01)
        assert (await api.demo_callers())["in_progress"] == 2
        state = await api.set_demo_callers(False, target=3)
        assert state == {"enabled": False, "target": 3, "in_progress": 2}
        count = len(started)
        hold.set()  # those in progress finish
        await asyncio.sleep(0.2)
        assert len(started) == count
        assert (await api.demo_callers())["in_progress"] == 0


@pytest.mark.parametrize(("body", "field"), [({"enabled": "yes"}, "enabled"), ({}, "enabled"),
                                             ({"enabled": True, "target": 0}, "target"),
                                             ({"enabled": True, "target": 500}, "target")])
async def test_bad_input_answers_422_naming_the_field(engine: Engine, body: dict[str, object],
                                                      field: str) -> None:
    async def call(persona: str, number: str) -> object:
        return None

    engine.demo_callers = DemoCallers(call, seed=1)
    async with client(engine) as api:
        with pytest.raises(ApiError) as refused:
            await api.request("PUT", "/v1/engine/demo-callers", json=body)
    assert refused.value.status == 422
    assert refused.value.field == field
