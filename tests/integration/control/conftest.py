"""An in-process engine with SIP on loopback and its API app (httpx in-process transport), a
scripted order-status agent that hears with whisper tiny.en and speaks with espeak-ng."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.api import create_app
from engine.app import Engine
from engine.calls.legs import SipInboundLeg
from engine.calls.live_call import LiveCall
from engine.client import Client
from engine.demo.scripts import order_status_script
from engine.settings import Settings
from engine.store import Agent, PhoneNumber, session_scope
from tests.integration.sip.conftest import SipEngine

os.environ["HF_HUB_OFFLINE"] = "1"

NUMBER = "+14155550177"


@dataclass
class ControlEngine(SipEngine):
    client: Client

    async def live_session(self, within: float = 15.0) -> LiveCall:
        """The one live inbound call, once answered and its greeting has been spoken."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            for session in list(self.telephony.calls.values()):
                agent = session.agent
                if isinstance(session.leg, SipInboundLeg) and agent is not None and agent.pipeline \
                        and any(line.kind == "greeting" for line in agent.pipeline.lines):
                    return session
            await asyncio.sleep(0.05)
        raise AssertionError("no answered call with a spoken greeting")

    async def settled_writes(self) -> None:
        """Every call-row write and event submitted so far has landed."""
        await self.telephony.runner.drained(10)
        self.engine.writer.flush()

    async def wait_for(self, check: Any, within: float = 15.0, what: str = "") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not check():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what or check}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def control_engine(tmp_path: Path) -> AsyncIterator[ControlEngine]:
    settings = Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0)
    engine = Engine(settings)
    key = engine.setup()
    assert key is not None
    org = engine.organization_id
    script = order_status_script()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=org, name="Order status", first_message=script["greeting"],
                      script=script, stt={"engine": "whisper", "model": "tiny.en"},
                      tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 175},
                      idle_timeout_seconds=60)
        session.add(agent)
        session.add(PhoneNumber(organization_id=org, number=NUMBER, label="main", agent_id=agent.id))
        agent_id = agent.id
    await engine.start()
    assert engine.telephony is not None
    engine.telephony.rtp_timeout_s = 120.0  # the test's caller sends no RTP
    await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 30)
    app = create_app(engine)
    client = Client("http://engine", key, transport=httpx.ASGITransport(app=app), timeout=30)
    yield ControlEngine(engine, engine.telephony.port, NUMBER, agent_id, client)
    await client.aclose()
    await engine.stop()
    engine.close()
