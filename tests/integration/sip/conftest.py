"""Fixtures for SIP tests against real peers on loopback: an in-process engine with SIP on a free
port and a phone number routed to an agent (``tests.harness.sip_engine``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness.sip_engine import SipEngine, open_sip_engine


@pytest.fixture
async def sip_engine(tmp_path: Path) -> AsyncIterator[SipEngine]:
    async with open_sip_engine(tmp_path) as sip:
        yield sip
