"""The engine starts, answers health and guards its API with the key."""

from __future__ import annotations

import httpx

from engine.client import ApiError, Client
from tests.harness.engine_host import RunningEngine


async def test_health_and_auth(engine_server: RunningEngine, api: Client) -> None:
    assert (await api.health())["status"] == "ok"
    async with Client(engine_server.url, "sb_wrong") as intruder:
        try:
            await intruder.agents.list()
        except ApiError as exc:
            assert exc.status == 401 and exc.code == "UNAUTHORIZED"
        else:
            raise AssertionError("a wrong key was accepted")
    async with httpx.AsyncClient() as raw:
        response = await raw.get(f"{engine_server.url}/v1/agents")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
