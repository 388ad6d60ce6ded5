"""An engine without SIP in this process, its API served in process over a real SQLite file: for
API tests that also read and shape the store directly (an agent, a number and a console user
ready)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.settings import Settings
from engine.store import User, session_scope

NUMBER = "+14155550170"


@dataclass
class ApiEngine:
    engine: Engine
    api: Client
    http: httpx.AsyncClient  # the same API, for answers that are not JSON
    agent: dict[str, Any]
    number: dict[str, Any]
    user_id: str

    @property
    def organization_id(self) -> str:
        return self.engine.organization_id


@asynccontextmanager
async def open_api_engine(data_dir: Path) -> AsyncIterator[ApiEngine]:
    engine = Engine(Settings(data_dir=data_dir, sip_enabled=False))
    key = engine.setup()
    assert key is not None
    await engine.start()
    transport = httpx.ASGITransport(app=create_app(engine))
    api = Client("http://engine", key, transport=transport, timeout=30)
    http = httpx.AsyncClient(transport=transport, base_url="http://engine", timeout=30,
                             headers={"Authorization": f"Bearer {key}"})
    try:
        agent = await api.agents.create(name="Front desk", first_message="Hello!")
        number = await api.phone_numbers.create(number=NUMBER, agent_id=agent["id"])
        with session_scope(engine.db) as session:
            user = User(organization_id=engine.organization_id, email="dana@example.com",
                        display_name="Dana", role="supervisor")
            session.add(user)
            session.flush()
            user_id = user.id
        yield ApiEngine(engine, api, http, agent, number, user_id)
    finally:
        await http.aclose()
        await api.aclose()
        await engine.stop()
        engine.close()
