"""A caller talks to the demo order-status agent over real SIP/RTP on loopback: sipp plays
espeak-ng speech; whisper tiny.en hears it; the scripted brain answers; espeak-ng speaks."""

from __future__ import annotations

import os
import re
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from engine.app import Engine
from engine.demo.scripts import END_CALL_TOOL, ORDER_LOOKUP_TOOL, TRANSFER_TOOL, order_status_script
from engine.settings import Settings
from engine.speech.sipcaller import CallerLine, render_lines, scenario, write_pcap
from engine.store import (
    Agent,
    Call,
    CallEvent,
    PhoneNumber,
    ToolTemplate,
    TranscriptEntry,
    UsageLog,
    session_scope,
)
from tests.harness.sip_engine import SipEngine, started
from tests.harness.sipp import requires_sipp, run_sipp

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = requires_sipp

NUMBER = "+14155550134"
LINES = [CallerLine(8.0, "I would like to check my order status."),
         CallerLine(18.0, "My order number is 8 4 3 6 1."),
         CallerLine(30.0, "Can I talk to a human?")]


@pytest.fixture
async def order_engine(tmp_path: Path) -> AsyncIterator[SipEngine]:
    settings = Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0)
    engine = Engine(settings)
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
        script = order_status_script()
        agent = Agent(organization_id=org, name="Order status", first_message=script["greeting"],
                      script=script, stt={"engine": "whisper", "model": "tiny.en"},
                      tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170, "pitch": 55},
                      tool_ids=[t.id for t in tools], idle_timeout_seconds=20)
        session.add(agent)
        session.add(PhoneNumber(organization_id=org, number=NUMBER, label="main", agent_id=agent.id))
        agent_id = agent.id
    async with started(engine, NUMBER, agent_id, warm_s=30) as sip:
        yield sip


def digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


async def test_a_caller_checks_an_order_and_asks_for_a_human(order_engine: SipEngine,
                                                             tmp_path: Path) -> None:
    audio = render_lines(LINES, tail_s=6.0)
    pcap = write_pcap(audio.pcm, tmp_path / "caller.pcap")
    xml = scenario(pcap, audio.seconds + 1.0, tmp_path / "caller.xml")
    result = await run_sipp(xml, order_engine.port, NUMBER.lstrip("+"), limit_s=70)
    assert result.returncode == 0, result.stderr
    await order_engine.settled(20)

    [call] = order_engine.calls()
    db = order_engine.engine.db
    with session_scope(db) as session:
        entries = sorted(session.exec(select(TranscriptEntry).where(
            TranscriptEntry.call_id == call.id)).all(), key=lambda e: e.index)
        usage = session.exec(select(UsageLog).where(UsageLog.call_id == call.id)).all()
        events = session.exec(select(CallEvent).where(CallEvent.call_id == call.id)).all()
    user = [e for e in entries if e.source == "user"]
    agent = [e for e in entries if e.source == "agent"]
    said = [e.text for e in user]
    assert len(user) == 3, [(e.source, e.text) for e in entries]
    assert "order status" in said[0].lower()
    assert digits(said[1]) == "84361", said
    assert "human" in said[2].lower()
    assert all(e.provider == "whisper" and e.model == "tiny.en" and e.started_at for e in user)

    assert "How can I help" in agent[0].text
    assert "order number" in agent[1].text
    assert "8 4 3 6 1" in agent[2].text  # the lookup has no webhook here: the script's apology
    assert "connect you" in agent[3].text
    for entry in agent[1:4]:
        assert entry.eou_ms is not None and entry.stt_ms is not None
        assert entry.voice_to_voice_ms is not None and 200 <= entry.voice_to_voice_ms <= 3000
        assert entry.tts_ttfb_ms is not None and entry.brain_ms is not None
    assert not any(e.interrupted for e in agent)

    kinds = {(e.event_type, (e.payload or {}).get("name")) for e in events}
    assert ("agent.slot", "order_number") in kinds
    assert ("tool.called", ORDER_LOOKUP_TOOL) in kinds
    assert ("transfer.requested", TRANSFER_TOOL) in kinds
    slot = next(e for e in events if e.event_type == "agent.slot")
    assert slot.payload["value"] == "84361"

    with session_scope(db) as session:
        call = session.exec(select(Call).where(Call.id == call.id)).one()
    assert call.metadata_["barge_in_count"] == 0
    assert call.metadata_["slots"] == {"order_number": "84361"}
    assert call.latency_p50_ms is not None and len(call.latency_turns) == 3
    assert call.transcript.startswith("agent: Hi, thanks for calling")
    assert call.cost_stt_micro_usd > 0 and call.cost_tts_micro_usd > 0
    assert call.cost_total_micro_usd >= call.cost_telephony_micro_usd > 0
    assert {u.kind for u in usage} >= {"stt", "tts", "telephony"}

    # what the caller heard: the agent's side of the recording, recognised by whisper
    with wave.open(str(call.recording_path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    heard = await order_engine.telephony.agents.models.whisper().transcribe(
        stereo[:, 1].copy().tobytes())
    text = heard.text.lower()
    for words in ("thanks for calling", "order number", "confirmation email", "connect you"):
        assert words in text, text
