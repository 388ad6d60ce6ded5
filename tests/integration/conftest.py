"""Fixtures for the API tests: a child organization of their own, seeded with finished calls
(``tests.harness.tenants``), a scratch organization, and the live-control engine that the
control and transfer tests share (``tests.harness.sip_engine``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine.client import Client
from tests.harness.engine_host import RunningEngine
from tests.harness.sip_engine import ControlEngine, open_control_engine
from tests.harness.tenants import Scratch, Tenant, make_tenant, open_scratch

os.environ["HF_HUB_OFFLINE"] = "1"  # the control engine's models come from the disk, never a hub


@pytest.fixture(scope="session")
def tenant(engine_server: RunningEngine) -> Iterator[Tenant]:
    """A child organization seeded with agents, numbers, a campaign and finished calls."""
    yield make_tenant(engine_server)


@pytest.fixture
async def tapi(tenant: Tenant) -> AsyncIterator[Client]:
    """The client of the tenant's admin key."""
    async with Client(tenant.url, tenant.key) as client:
        yield client


@pytest.fixture
async def scratch(api: Client) -> AsyncIterator[Scratch]:
    async with open_scratch(api) as organization:
        yield organization


@pytest.fixture
async def control_engine(tmp_path: Path) -> AsyncIterator[ControlEngine]:
    """The order-status agent on SIP, with the API in process, for live control and transfers."""
    async with open_control_engine(tmp_path) as engine:
        yield engine
