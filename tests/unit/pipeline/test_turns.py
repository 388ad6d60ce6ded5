"""The end of a turn in virtual time: a speculative answer is kept only for the same words."""

from __future__ import annotations

from typing import Any

from engine.agents.scripted import ScriptedBrain
from engine.speech.fakes import FakeSttEngine
from engine.speech.pipeline import PipelineConfig
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import VOICED, caller, run_call

SCRIPT: dict[str, Any] = {
    "greeting": "Hi.",
    "fallback": {"say": ["Sorry, could you say that again?"], "max_consecutive": 3},
    "intents": [{"name": "hours", "keywords": ["hours"], "actions": [{"say": "We open at nine."}]}],
}


def pause_with_a_click() -> list[bytes]:
    """Silence long enough for the speculative peek, then one voiced frame (a click: too short
    to count as resumed speech) and the rest of the pause: the peek heard less than the final."""
    return [*caller(("silence", 0.12)), VOICED, *caller(("silence", 3.0))]


def test_other_final_words_discard_the_speculative_answer_and_answer_those() -> None:
    frames = caller(("silence", 2.0), ("speech", 1.0)) + pause_with_a_click()
    brain = ScriptedBrain(SCRIPT)
    # the peek hears "um" (the brain falls back), the final the whole turn
    result = run_virtual(run_call(brain, frames, [["um", "what are your hours"]], decode_s=0.05))
    obs, pipeline = result.observer, result.pipeline
    assert obs.said("user") == ["what are your hours"]
    assert obs.said() == ["Hi.", "We open at nine."]
    assert pipeline.speculative_hits == 0 and pipeline.speculative_discards == 0
    assert brain.state.fallbacks == 0  # the speculative fallback was rolled back
    assert isinstance(pipeline.stt, FakeSttEngine) and pipeline.stt.decodes == 2  # peek, final


def test_a_turn_without_words_leaves_no_line_and_undoes_its_speculation() -> None:
    frames = (caller(("silence", 2.0), ("speech", 1.0)) + pause_with_a_click()
              + caller(("speech", 1.0), ("silence", 2.0)))
    texts = [["what are your hours", ""], "what are your hours"]
    brain = ScriptedBrain(SCRIPT)
    result = run_virtual(run_call(brain, frames, texts, decode_s=0.05))
    obs = result.observer
    assert obs.said("user") == ["what are your hours"]  # the second turn only
    assert obs.said() == ["Hi.", "We open at nine."]  # the first turn's speculative answer undone
    assert [line.index for line in obs.lines] == [0, 1, 2]


def test_without_speculation_the_final_is_decoded_after_the_turn() -> None:
    frames = caller(("silence", 1.0), ("speech", 1.0), ("silence", 2.0))
    result = run_virtual(run_call(ScriptedBrain(SCRIPT), frames, ["what are your hours"],
                                  config=PipelineConfig(speculate=False), decode_s=0.1))
    [turn] = result.observer.turns
    assert turn.stt_ms is not None and turn.stt_ms >= 100
    assert result.observer.said() == ["Hi.", "We open at nine."]
    assert isinstance(result.pipeline.stt, FakeSttEngine) and result.pipeline.stt.decodes == 1
