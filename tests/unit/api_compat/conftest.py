"""An engine over a real SQLite store seeded with demo data, its API in process (no SIP: a call
created through the API stays queued)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from engine.api import create_app
from engine.app import Engine
from engine.demo.seed import seed
from engine.settings import Settings
from tests.unit.api_compat.keys import DEMO_CALLS, KEY

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    engine = Engine(Settings(data_dir=Path(tmp_path_factory.mktemp("compat")), api_key=KEY))
    engine.setup()
    assert seed(engine.db, engine.organization_id, calls=DEMO_CALLS, leads=40, now=NOW)
    yield create_app(engine)
    engine.close()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client: each test sends the headers its platform uses."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://engine") as client:
        yield client

