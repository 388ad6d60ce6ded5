"""In-process engines with SIP on a free loopback port, for the tests that drive the engine's
objects directly: ``SipEngine`` (a number routed to a greeting agent) and ``ControlEngine`` (the
demo order-status agent, and the engine's API on an in-process transport, for live control).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from engine.api import create_app
from engine.app import Engine
from engine.calls.legs import SipInboundLeg
from engine.calls.live_call import LiveCall
from engine.client import Client
from engine.demo.scripts import order_status_script
from engine.settings import Settings
from engine.store import Agent, Call, CallEvent, PhoneNumber, session_scope
from tests.harness.waiting import POLL_S, wait_for

NUMBER = "+15550100"
GREETING = "Hello, thanks for calling."
CONTROL_NUMBER = "+14155550177"


def sip_settings(data_dir: Path, **fields: Any) -> Settings:
    """An engine's settings with SIP on 127.0.0.1 and a free port."""
    return Settings(data_dir=data_dir, sip_enabled=True, sip_host="127.0.0.1", sip_port=0, **fields)


def order_status_agent(**overrides: Any) -> dict[str, Any]:
    """The demo order-status agent as the tests configure it (its script, whisper tiny.en,
    espeak-ng), as fields for ``Agent`` or the API; ``overrides`` replace or add fields."""
    script = order_status_script()
    return {"name": "Order status", "first_message": script["greeting"], "script": script,
            "stt": {"engine": "whisper", "model": "tiny.en"},
            "tts": {"engine": "espeak-ng", "voice": "en-us+f3", "rate": 175},
            "idle_timeout_seconds": 60, **overrides}


def add_agent(engine: Engine, number: str, *, label: str | None = "main", **fields: Any) -> str:
    """An agent made of ``fields`` in the engine's organization, and ``number`` routed to it;
    the agent's id."""
    org = engine.organization_id
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=org, **fields)
        session.add(agent)
        session.add(PhoneNumber(organization_id=org, number=number, label=label, agent_id=agent.id))
        return agent.id


@dataclass
class SipEngine:
    engine: Engine
    port: int
    number: str
    agent_id: str

    @property
    def telephony(self):  # type: ignore[no-untyped-def]
        return self.engine.telephony

    def calls(self) -> list[Call]:
        with session_scope(self.engine.db) as session:
            return list(session.exec(select(Call)).all())

    def events(self, call_id: str) -> list[CallEvent]:
        self.engine.writer.flush()
        with session_scope(self.engine.db) as session:
            rows = session.exec(select(CallEvent).where(CallEvent.call_id == call_id)).all()
            return sorted(rows, key=lambda e: (e.occurred_at, e.created_at))

    async def settled(self, within: float = 10.0) -> None:
        """Wait until no call is live and every store write has landed."""
        await settled(self.engine, within)


async def settled(engine: Engine, within: float) -> None:
    """Wait until the engine has no live call and every store write has landed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    tel = engine.telephony
    while (tel.calls or tel._tasks) and loop.time() < deadline:  # noqa: ASYNC110 - polls the service
        await asyncio.sleep(POLL_S)
    await tel.runner.drained(within)
    engine.writer.flush()


async def greeted_session(engine: Engine, within: float, what: str) -> LiveCall:
    """The live inbound call once answered and its greeting has been spoken."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        for session in list(engine.telephony.calls.values()):
            agent = session.agent
            if isinstance(session.leg, SipInboundLeg) and agent is not None and agent.pipeline \
                    and any(line.kind == "greeting" for line in agent.pipeline.lines):
                return session
        await asyncio.sleep(POLL_S)
    raise AssertionError(what)


@dataclass
class ControlEngine(SipEngine):
    client: Client

    async def live_session(self, within: float = 15.0) -> LiveCall:
        """The one live inbound call, once answered and its greeting has been spoken."""
        return await greeted_session(self.engine, within, "no answered call with a spoken greeting")

    async def settled_writes(self) -> None:
        """Every call-row write and event submitted so far has landed."""
        await self.telephony.runner.drained(10)
        self.engine.writer.flush()

    async def wait_for(self, check: Any, within: float = 15.0, what: str = "") -> None:
        await wait_for(check, within, what)


@asynccontextmanager
async def started(engine: Engine, number: str, agent_id: str, *,
                  warm_s: float | None = None) -> AsyncIterator[SipEngine]:
    """The engine (set up, ``number`` routed to the agent ``agent_id``) started, its agents'
    models warm within ``warm_s`` when given; stopped and closed afterwards."""
    await engine.start()
    assert engine.telephony is not None
    if warm_s is not None:
        await asyncio.to_thread(engine.telephony.agents.models.wait_warm, warm_s)
    yield SipEngine(engine, engine.telephony.port, number, agent_id)
    await engine.stop()
    engine.close()


@asynccontextmanager
async def open_sip_engine(data_dir: Path) -> AsyncIterator[SipEngine]:
    """An engine with SIP on loopback and ``NUMBER`` routed to a greeting agent."""
    engine = Engine(sip_settings(data_dir))
    engine.setup()
    agent_id = add_agent(engine, NUMBER, name="Reception", first_message=GREETING)
    async with started(engine, NUMBER, agent_id) as sip:
        yield sip


@asynccontextmanager
async def open_control_engine(data_dir: Path) -> AsyncIterator[ControlEngine]:
    """An engine with SIP on loopback, ``CONTROL_NUMBER`` routed to the order-status agent (its
    models warm), and its API on an in-process transport."""
    engine = Engine(sip_settings(data_dir))
    key = engine.setup()
    assert key is not None
    agent_id = add_agent(engine, CONTROL_NUMBER, **order_status_agent())
    async with started(engine, CONTROL_NUMBER, agent_id) as sip:
        engine.telephony.rtp_timeout_s = 120.0  # the test's caller sends no RTP
        await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 30)
        app = create_app(engine)
        client = Client("http://engine", key, transport=httpx.ASGITransport(app=app), timeout=30)
        yield ControlEngine(engine, sip.port, CONTROL_NUMBER, agent_id, client)
        await client.aclose()
