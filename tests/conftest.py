"""Shared fixtures: real engine processes on loopback (one plain, one with demo data), see
``tests.harness.engine_host``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine.client import Client
from tests.harness.engine_host import RunningEngine, start_engine

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """An engine with an empty store, shared by the session (tests make their own rows)."""
    running = start_engine(tmp_path_factory.mktemp("engine"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """An engine seeded with the demo data (read-only use, please)."""
    running = start_engine(tmp_path_factory.mktemp("demo"), demo=True, timeout=180)
    yield running
    running.stop()


@pytest.fixture
async def api(engine_server: RunningEngine) -> AsyncIterator[Client]:
    async with Client(engine_server.url, engine_server.api_key) as client:
        yield client


@pytest.fixture
async def demo_api(demo_server: RunningEngine) -> AsyncIterator[Client]:
    async with Client(demo_server.url, demo_server.api_key) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parts[-2:-1] == ("gui",):
            item.add_marker(pytest.mark.gui)
