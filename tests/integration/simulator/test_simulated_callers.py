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
from engine.demo.scripts import (
    END_CALL_TOOL,
    ORDER_LOOKUP_TOOL,
    TRANSFER_TOOL,
    billing_script,
    order_status_script,
)
from engine.simulator import SimulatedCaller, load_persona
from engine.store import Agent, PhoneNumber, ToolTemplate, session_scope
from tests.harness.sip_engine import SipEngine, sip_settings, started

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(90)

ORDERS = "+14155550134"
BILLING = "+14155550178"


@pytest.fixture
async def demo_engine(tmp_path: Path) -> AsyncIterator[SipEngine]:
    """The demo's order-status and billing agents (their scripts, tools and voices) on SIP."""
    engine = Engine(sip_settings(tmp_path))
    engine.setup()
    org = engine.organization_id
    with session_scope(engine.db) as session:
        tools = [ToolTemplate(organization_id=org, name=ORDER_LOOKUP_TOOL, type="function",
                              function={"name": ORDER_LOOKUP_TOOL}),
                 ToolTemplate(organization_id=org, name=TRANSFER_TOOL, type="transfer_call",
                              transfer={"destinations": [{"to": "sip:1001@pbx.example",
                                                          "label": "Billing desk"}]}),
                 ToolTemplate(organization_id=org, name=END_CALL_TOOL, type="end_call")]
        session.add_all(tools)
        ids = [t.id for t in tools]
        orders = order_status_script()
        billing = billing_script()
        agents = [
            Agent(organization_id=org, name="Order status", first_message=orders["greeting"],
                  script=orders, stt={"engine": "whisper", "model": "tiny.en"},
                  tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170, "pitch": 55},
                  tool_ids=ids, idle_timeout_seconds=20),
            Agent(organization_id=org, name="Billing", first_message=billing["greeting"],
                  script=billing, stt={"engine": "whisper", "model": "tiny.en"},
                  tts={"engine": "espeak-ng", "voice": "en-gb-x-rp", "rate": 160, "pitch": 42},
                  tool_ids=ids[1:], idle_timeout_seconds=20)]
        session.add_all(agents)
        session.add(PhoneNumber(organization_id=org, number=ORDERS, label="main",
                                agent_id=agents[0].id))
        session.add(PhoneNumber(organization_id=org, number=BILLING, label="billing",
                                agent_id=agents[1].id))
        agent_id = agents[0].id
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
