"""The pipeline's public face, pinned: what engine.calls and the tests build on."""

from __future__ import annotations

import engine.speech.pipeline as pipeline
from engine.agents.scripted import ScriptedBrain
from engine.speech.fakes import FakeSttEngine, FakeTTS
from engine.speech.pipeline import Pipeline
from tests.unit.pipeline.harness import fake_vad


def test_public_api_is_pinned() -> None:
    assert sorted(pipeline.__all__) == [
        "DTMF_INTERDIGIT_S", "HANGUP_END_CALL", "HANGUP_IDLE", "HANGUP_MAX_DURATION",
        "HANGUP_SUPERVISOR", "IDLE_GOODBYE", "IDLE_PROMPT", "LISTENING", "Line",
        "MAX_DURATION_GOODBYE", "PREROLL_MS", "Pipeline", "PipelineConfig", "PipelineObserver",
        "SPEAKING", "SUPERVISOR", "THINKING", "Usage",
    ]
    for name in pipeline.__all__:
        assert hasattr(pipeline, name)


def test_the_pipeline_offers_what_the_agent_leg_uses() -> None:
    p = Pipeline(ScriptedBrain({"greeting": "Hi."}), FakeSttEngine([]), FakeTTS(), vad=fake_vad)
    for method in ("start", "close", "say", "inject_context", "pause", "resume", "dtmf",
                   "turn_lines", "take_index"):
        assert callable(getattr(p, method)), method
    assert (p.lines, p.turn_lines(), p.barge_ins, p.speculative_discards, p.state) == ([], [], 0, 0,
                                                                                        "listening")
    assert (p.usage.stt_audio_s, p.usage.tts_characters, p.audio.tick) == (0.0, 0, 0)
    assert callable(p.audio.source) and callable(p.audio.sink)
    assert (p.stt.provider, p.stt.model, p.tts.provider) == ("fake-stt", "scripted", "fake-tts")
    assert [p.take_index(), p.take_index(), p.take_index()] == [0, 1, 2]  # one numbering
