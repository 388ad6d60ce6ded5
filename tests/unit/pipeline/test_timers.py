"""The call's clocks on media time: idle prompts and goodbye, the time limit, keyed digits."""

from __future__ import annotations

from engine.agents.scripted import ScriptedBrain
from engine.speech.pipeline import DTMF_INTERDIGIT_S, PipelineConfig
from engine.speech.pipeline.timers import Idle, Timers
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import caller, run_call

TICK = 0.02


def ticks(timers: Timers, start: float, end: float, *, replying: bool = False,
          busy: bool = False) -> list[tuple[float, Idle]]:
    """Runs the idle clock every 20 ms of media time from ``start`` to ``end``."""
    due = []
    for n in range(round(start / TICK), round(end / TICK)):
        now = round(n * TICK, 6)
        if (idle := timers.idle_due(now, replying=replying, busy=busy)) is not None:
            due.append((now, idle))
    return due


def test_a_quiet_line_is_prompted_then_ended() -> None:
    timers = Timers(PipelineConfig(idle_timeout_s=2.0, idle_max_prompts=2))
    assert ticks(timers, 0.0, 7.0) == [(2.0, Idle.PROMPT), (4.0, Idle.PROMPT), (6.0, Idle.GOODBYE)]
    assert timers.idle_prompts == 2


def test_idle_counts_from_the_agents_last_word_and_waits_while_the_caller_is_busy() -> None:
    timers = Timers(PipelineConfig(idle_timeout_s=2.0))
    assert ticks(timers, 0.0, 3.0, replying=True) == []  # speaking: the line is not quiet
    assert ticks(timers, 3.0, 4.0, busy=True) == []  # the caller speaks or is being answered
    assert ticks(timers, 4.0, 6.0) == [(4.98, Idle.PROMPT)]  # 2 s after the last reply tick


def test_the_caller_speaking_starts_the_prompts_over() -> None:
    timers = Timers(PipelineConfig(idle_timeout_s=1.0, idle_max_prompts=1))
    assert ticks(timers, 0.0, 1.5) == [(1.0, Idle.PROMPT)]
    timers.reset_idle(1.5)
    timers.caller_spoke()
    assert ticks(timers, 1.5, 2.6) == [(2.5, Idle.PROMPT)]  # a prompt again, not the goodbye


def test_a_quiet_from_never_moves_the_idle_clock_back() -> None:
    timers = Timers(PipelineConfig())
    timers.reset_idle(5.0)
    timers.quiet_from(4.0)
    assert timers.idle_since == 5.0
    timers.quiet_from(6.0)
    assert timers.idle_since == 6.0


def test_digits_end_with_hash_or_after_the_inter_digit_pause() -> None:
    timers = Timers(PipelineConfig(idle_timeout_s=0.5))
    assert timers.key("4", 1.0) is None and timers.key("2", 1.5) is None
    assert timers.idle_due(2.25, replying=False, busy=False) is None  # keying is not idle
    assert timers.digits_due(1.5 + DTMF_INTERDIGIT_S - TICK) is None
    assert timers.digits_due(1.5 + DTMF_INTERDIGIT_S) == "42"
    assert timers.digits_due(5.0) is None
    assert timers.key("7", 6.0) is None
    assert timers.key("#", 6.2) == "7#"
    assert timers.idle_since == 6.2


def test_the_time_limit() -> None:
    timers = Timers(PipelineConfig(max_duration_s=30.0))
    assert not timers.time_up(29.98) and timers.time_up(30.0)


def test_keyed_digits_reach_the_brain_once_per_entry_in_virtual_time() -> None:
    script = {"greeting": "Hi.", "slots": {"pin": {"type": "digits", "prompt": "Your PIN?"}},
              "intents": []}
    config = PipelineConfig(idle_timeout_s=100)
    keys = {1.0: "4", 1.4: "2", 4.0: "7", 4.2: "#"}
    result = run_virtual(run_call(ScriptedBrain(script), caller(("silence", 6.0)), config=config,
                                  dtmf=keys))
    collected = [payload["digits"] for kind, payload in result.observer.events
                 if kind == "dtmf.collected"]
    assert collected == ["42", "7#"]
