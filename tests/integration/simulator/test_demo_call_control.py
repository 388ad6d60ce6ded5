"""A supervisor's controls on a simulated call, as on the demo's: what the supervisor says is
heard by the simulated caller (through its own recogniser), a whisper makes the agent answer,
and ending the call hangs up on the caller."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.simulator import SimulatedCaller
from engine.simulator.personas import parse_persona
from tests.harness.sip_engine import ControlEngine, open_control_engine

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(240)

# A caller who states its business, then listens quietly while the supervisor steps in
PATIENT = """
name: patient
description: A caller who asks about an order, then listens.
goal: Hear what the supervisor says.
voice: {language: en, voice: en-gb, rate: 150}
steps:
  - wait: {}
  - say: Hello, I am calling about a parcel.
  - silence: 120
  - hangup: {}
success:
  heard: [colleague|call you back|back today]
  ended_by: agent
"""
SAID = "A colleague will call you back today."
SAID_HEARD = ("colleague", "call you", "back today")  # as whisper tiny.en may write it ("call you Mac")
# the agent's answer to the whispered line: "Sure. What's your order number? It's on your
# confirmation email."
ANSWER_HEARD = ("order number", "your order", "confirmation")


@pytest.fixture
async def control_engine(tmp_path: Path) -> AsyncIterator[ControlEngine]:
    async with open_control_engine(tmp_path) as engine:
        yield engine


async def test_say_whisper_and_end_on_a_simulated_call(control_engine: ControlEngine) -> None:
    engine, client = control_engine, control_engine.client
    stt = engine.engine.telephony.agents.models.whisper()
    caller = SimulatedCaller(parse_persona(PATIENT, Path("patient.yaml")), stt)
    call = asyncio.ensure_future(caller.call(
        f"sip:{engine.number.lstrip('+')}@127.0.0.1:{engine.port}", limit_s=180))
    session = await engine.live_session(30)
    pipeline = session.agent.pipeline  # type: ignore[union-attr]
    await engine.wait_for(lambda: any(line.source == "user" for line in pipeline.lines), 60,
                          "the caller's first line")
    await engine.wait_for(lambda: pipeline.state == "listening", 60, "the agent's answer's end")

    said = await client.control(session.call_id, "say", content=SAID)
    assert said["result"] == "speaking"
    await engine.wait_for(lambda: any(line.source == "supervisor" for line in pipeline.lines), 60,
                          "the supervisor's line")
    await engine.wait_for(lambda: pipeline.state == "listening", 60, "the line's end")

    asked = await client.control(session.call_id, "inject_context", trigger_response=True,
                                 content="I would like to check my order status.")
    assert asked["result"] == "responding"
    await engine.wait_for(lambda: any(line.kind == "context" and "order number" in line.text
                                      for line in pipeline.lines), 60, "the agent's answer")
    await engine.wait_for(lambda: pipeline.state == "listening", 60, "the answer's end")

    ended = await client.control(session.call_id, "end_call", message="Goodbye for now.")
    assert ended["result"] == "ending"
    result = await asyncio.wait_for(call, 60)

    assert result.ended_by == "agent", result
    heard = result.heard_text.lower()  # all of it recognised by now, by the caller's whisper
    assert any(words in heard for words in SAID_HEARD), result.heard  # the supervisor's line
    assert any(words in heard for words in ANSWER_HEARD), result.heard  # the whispered answer
    assert result.goal_reached, (result.goal_missing, result.heard)
    await engine.settled(20)
    row = await client.get_call(session.call_id)
    sources = [e["source"] for e in row["transcript"]["entries"]]
    assert "supervisor" in sources, sources
