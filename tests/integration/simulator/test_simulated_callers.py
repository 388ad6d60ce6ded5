"""Simulated callers against the demo agents over real SIP/RTP on loopback: each persona's lines
are espeak-ng speech the agent's whisper hears; the caller hears the agent through whisper too."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.app import Engine
from engine.demo.scripts import TRANSFER_TOOL
from engine.simulator import SimulatedCaller, load_persona
from tests.harness.demo_agents import ORDERS, add_demo_agents
from tests.harness.sip_engine import SipEngine, sip_settings, started

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def demo_engine(tmp_path: Path) -> AsyncIterator[SipEngine]:
    """The demo's order-status and billing agents (their scripts, tools and voices) on SIP."""
    engine = Engine(sip_settings(tmp_path))
    engine.setup()
    agent_id = add_demo_agents(engine)["orders"]
    async with started(engine, ORDERS, agent_id, warm_s=30) as sip:
        yield sip


async def test_switchboard_simulate_prints_a_summary(demo_engine: SipEngine,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from switchboard.cli import main

    code = await asyncio.to_thread(main, ["simulate", "--persona", "wants_human", "--number",
                                          ORDERS, "--sip", f"sip:127.0.0.1:{demo_engine.port}",
                                          "--count", "1", "--limit", "40"])
    out = capsys.readouterr()
    assert code == 0, out.err
    totals = out.out.split("\n\n")[0]  # then a table of the calls
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in totals.splitlines())
    assert rows["calls"] == "1" and rows["answered"] == "1", out
    assert rows["goal reached"] == "1", out  # the agent offered to connect a person
    assert rows["voice-to-voice p50"].endswith(" ms"), out
    await demo_engine.settled(20)
    [call] = demo_engine.calls()
    events = {(e.event_type, (e.payload or {}).get("name")) for e in demo_engine.events(call.id)}
    assert ("transfer.requested", TRANSFER_TOOL) in events


async def test_a_number_no_agent_answers_is_reported_with_its_sip_status(
        demo_engine: SipEngine) -> None:
    stt = demo_engine.engine.telephony.agents.models.whisper()
    caller = SimulatedCaller(load_persona("wants_human"), stt)
    result = await caller.call(f"sip:19995550000@127.0.0.1:{demo_engine.port}", limit_s=20)

    assert not result.answered and result.ended_by is None
    assert result.sip_status is not None and result.sip_status >= 400, result
    assert not result.goal_reached
    assert result.goal_missing[0] == f"answered (SIP status {result.sip_status})"
    assert result.said == [] and result.turns == []
