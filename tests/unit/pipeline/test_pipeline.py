"""The agent pipeline in virtual time: fake STT/TTS with scripted timings, real scripted brains."""

from __future__ import annotations

import os
from typing import Any

from engine.agents.scripted import ScriptedBrain
from engine.agents.tools import ToolSpec
from engine.demo.scripts import ORDER_LOOKUP_TOOL, TRANSFER_TOOL, order_status_script
from engine.speech.frames import ToolCall
from engine.speech.pipeline import (
    HANGUP_END_CALL,
    HANGUP_IDLE,
    HANGUP_MAX_DURATION,
    IDLE_PROMPT,
    PipelineConfig,
)
from engine.speech.vad import VAD_STOP_MS
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import CallResult, caller, run_call

os.environ["HF_HUB_OFFLINE"] = "1"

TOOLS = [ToolSpec(ORDER_LOOKUP_TOOL), ToolSpec(TRANSFER_TOOL, type="transfer_call"),
         ToolSpec("end_call", type="end_call")]


async def lookup(call: ToolCall) -> dict[str, Any]:
    return {"status": "shipped", "detail": "It arrives Friday."}


def order_brain() -> ScriptedBrain:
    return ScriptedBrain(order_status_script(), tools=TOOLS, tool_runner=lookup)


def short_script(**extra: Any) -> dict[str, Any]:
    return {"greeting": "Hello there, welcome.", "goodbye": {"keywords": ["bye"], "say": "Bye now."},
            "intents": [{"name": "hours", "keywords": ["hours", "open"],
                         "actions": [{"say": "We open at nine."}]}], **extra}


def test_a_conversation_yields_transcript_lines_with_turn_latencies() -> None:
    frames = caller(("silence", 3.0), ("speech", 1.2), ("silence", 3.0), ("speech", 1.5),
                    ("silence", 4.0), ("speech", 0.8), ("silence", 3.0))
    texts = ["I would like to check my order status", "my order number is 4 2 7 1 5",
             "no that's all, bye"]
    result: CallResult = run_virtual(run_call(order_brain(), frames, texts, decode_s=0.1))
    obs, pipeline = result.observer, result.pipeline
    sources = [(line.source, line.kind) for line in obs.lines]
    assert sources == [("agent", "greeting"), ("user", ""), ("agent", "turn"), ("user", ""),
                       ("agent", "turn"), ("user", ""), ("agent", "turn")], sources
    assert [line.index for line in obs.lines] == list(range(7))
    assert obs.said("user") == texts
    assert "order number" in obs.said()[1]
    assert "Order 4 2 7 1 5 is shipped" in obs.said()[2]
    assert obs.hangups == [HANGUP_END_CALL]
    assert any(t.type == "end_call" for t in obs.tools)
    assert any(e.kind == "slot" and e.data["value"] == "42715" for e in obs.brain_events)
    assert len(obs.turns) == 3
    for line in obs.turns:
        assert line.eou_ms == VAD_STOP_MS
        assert line.stt_ms is not None and line.stt_ms <= 20  # decoded during the speculative window
        assert line.brain_ms == 0 and line.tts_ttfb_ms == 10
        assert line.voice_to_voice_ms is not None
        assert VAD_STOP_MS <= line.voice_to_voice_ms <= VAD_STOP_MS + 60, line
    user = [line for line in obs.lines if line.source == "user"]
    assert user[0].started_at == 3.0 and user[0].ended_at == 4.2
    assert user[0].provider == "fake-stt"
    assert pipeline.speculative_hits == 3 and pipeline.barge_ins == 0
    assert round(pipeline.usage.stt_audio_s, 2) >= 3.5
    assert abs(pipeline.usage.tts_characters - sum(len(t) for t in obs.said())) <= 3


def test_barge_in_stops_speech_within_two_frames_and_is_counted() -> None:
    script = short_script(greeting="This is a very long greeting that goes on and on. " * 4)
    frames = caller(("silence", 1.0), ("speech", 1.0), ("silence", 2.0))
    result = run_virtual(run_call(ScriptedBrain(script), frames, ["what are your hours"]))
    obs = result.observer
    assert result.pipeline.barge_ins == 1
    [(count, at)] = obs.barge_ins
    assert count == 1
    start_tick = round(at / 0.02)
    assert sum(result.out[start_tick + 1: start_tick + 40]) <= 2  # at most 2 frames after the decision
    greeting = obs.lines[0]
    assert greeting.kind == "greeting" and greeting.interrupted
    assert obs.said()[-1] == "We open at nine."
    assert ("agent.interrupted", {"reason": "barge_in", "count": 1}) in obs.events


def test_a_silent_caller_is_prompted_then_the_call_ends_politely() -> None:
    config = PipelineConfig(idle_timeout_s=2.0, idle_max_prompts=1)
    result = run_virtual(run_call(ScriptedBrain(short_script()), caller(("silence", 12.0)),
                                  config=config))
    obs = result.observer
    said = obs.said()
    assert said[0] == "Hello there, welcome."
    assert said[1] == IDLE_PROMPT
    assert "Goodbye" in said[2]
    assert obs.hangups == [HANGUP_IDLE]
    prompt, goodbye = obs.lines[1], obs.lines[2]
    greeting_end = obs.lines[0].ended_at or 0
    assert abs((prompt.started_at or 0) - greeting_end - 2.0) <= 0.1
    assert abs((goodbye.started_at or 0) - (prompt.ended_at or 0) - 2.0) <= 0.1
    assert result.ticks * 0.02 < 12.0  # ended before the caller's audio ran out


def test_caller_speech_resets_the_idle_timer() -> None:
    config = PipelineConfig(idle_timeout_s=2.0, idle_max_prompts=1)
    frames = caller(("silence", 1.5), ("speech", 0.6), ("silence", 1.5))
    result = run_virtual(run_call(ScriptedBrain(short_script()), frames, ["what are your hours"],
                                  config=config))
    assert IDLE_PROMPT not in result.observer.said()[:2]


def test_max_duration_is_enforced() -> None:
    config = PipelineConfig(max_duration_s=3.0, idle_timeout_s=100)
    frames = caller(*[("speech", 0.6), ("silence", 0.2)] * 10)
    result = run_virtual(run_call(ScriptedBrain(short_script()), frames, ["mm"] * 10, config=config))
    obs = result.observer
    assert obs.hangups == [HANGUP_MAX_DURATION]
    goodbye = obs.lines[-1]
    assert goodbye.kind == "goodbye" and not goodbye.interrupted
    assert 3.0 <= (goodbye.started_at or 0) <= 3.2


def test_dtmf_reaches_the_brain_menu() -> None:
    script = short_script(menu={"prompt": "Press 1 for hours, 2 for a person.", "when": "start",
                                "options": {"1": {"label": "Hours", "intent": "hours"},
                                            "2": {"label": "Person", "action": "escalate"}}})
    brain = ScriptedBrain(script)
    result = run_virtual(run_call(brain, caller(("silence", 5.0)), dtmf={2.5: "1"}))
    obs = result.observer
    kinds = [e.kind for e in obs.brain_events]
    assert "menu_match" in kinds and "menu_final_selection" in kinds
    assert brain.menu_final_selection == "Hours"
    assert obs.said()[-1] == "We open at nine."
    assert ("dtmf.collected", {"digits": "1"}) in obs.events
    reply = obs.lines[-1]
    assert reply.kind == "dtmf" and 3.5 <= (reply.started_at or 0) <= 3.6  # after the 1 s pause


def test_a_speculative_turn_is_discarded_when_the_caller_resumes() -> None:
    # a 160 ms pause: past the speculative onset (100 ms), short of the end of turn (240 ms)
    frames = caller(("silence", 6.0), ("speech", 0.8), ("silence", 0.16), ("speech", 0.8),
                    ("silence", 3.0))
    texts = [["I want to check", "I want to check my order status"]]
    brain = order_brain()
    result = run_virtual(run_call(brain, frames, texts, decode_s=0.05))
    obs, pipeline = result.observer, result.pipeline
    assert pipeline.speculative_discards == 1
    assert ("turn.speculation_discarded", {"at": 7.02}) in obs.events
    assert obs.said("user") == ["I want to check my order status"]
    assert "What's your order number?" in obs.said()[-1]  # the brain was rolled back, asked once
    assert brain.state.slot == "order_number" and brain.state.attempts == {}


def test_transfer_is_reported_and_the_agent_then_stays_quiet() -> None:
    frames = caller(("silence", 2.5), ("speech", 1.0), ("silence", 14.0))
    result = run_virtual(run_call(order_brain(), frames, ["can I talk to a human"],
                                  config=PipelineConfig(idle_timeout_s=3.0)))
    obs = result.observer
    assert [t.name for t in obs.tools] == [TRANSFER_TOOL]
    assert obs.said()[-1] == "Of course. Let me connect you with someone from our team."
    assert IDLE_PROMPT not in obs.said() and obs.hangups == []


def test_idle_prompt_and_goodbye_fill_the_call_variables() -> None:
    config = PipelineConfig(idle_timeout_s=2.0, idle_max_prompts=1,
                            idle_prompt="Still there, {first_name}?",
                            idle_goodbye="Thanks for calling {company}. Have a great day!")
    brain = ScriptedBrain(short_script(variables={"company": "Northwind"}),
                          variables={"first_name": "Elena"})
    result = run_virtual(run_call(brain, caller(("silence", 12.0)), config=config))
    said = result.observer.said()
    assert said[1] == "Still there, Elena?"
    assert said[2] == "Thanks for calling Northwind. Have a great day!"
