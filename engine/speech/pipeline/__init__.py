"""The speech pipeline of one agent leg: it hears the agent's mix, decides the caller's turns,
asks the brain, and speaks the answers into the mixer, 20 ms at a time.

    mixer ──sink──▶ hearing: VAD + turn detector ──▶ STT (partials, speculative peek, final)
                         │ barge-in                      │
                         ▼                               ▼ turns
    mixer ◀─source── speaker: playout ◀── TTS ◀── replies ◀── brain (text, tokens, tools, events)

Time: the caller's frames carry media time (the agent leg's tick count, see
:mod:`engine.speech.agent_audio`); timers (idle, max duration, DTMF collection) run on that
clock, so tests drive them in virtual time. Stage latencies are measured on the loop's clock.
Control frames (interrupt, hang-up) jump the speaker's queue; a barge-in empties the playout at
once, so at most the frame already handed to the mixer goes out after it. Recognition and
synthesis run on their engines' worker threads, never on this loop.

The parts, each a class of its own module: :class:`~.hearing.Hearing`,
:class:`~.turns.Turns`, :class:`~.replies.Replies`, :class:`~.speaker.Speaker` and
:class:`~.timers.Timers`, wired by :class:`Pipeline`.
"""

from __future__ import annotations

from engine.speech.pipeline.config import (
    IDLE_GOODBYE,
    IDLE_PROMPT,
    MAX_DURATION_GOODBYE,
    PipelineConfig,
)
from engine.speech.pipeline.coordinator import Pipeline
from engine.speech.pipeline.hearing import PREROLL_MS
from engine.speech.pipeline.records import (
    HANGUP_END_CALL,
    HANGUP_IDLE,
    HANGUP_MAX_DURATION,
    HANGUP_SUPERVISOR,
    LISTENING,
    SPEAKING,
    SUPERVISOR,
    THINKING,
    Line,
    PipelineObserver,
    Usage,
)
from engine.speech.pipeline.timers import DTMF_INTERDIGIT_S

__all__ = [
    "DTMF_INTERDIGIT_S",
    "HANGUP_END_CALL",
    "HANGUP_IDLE",
    "HANGUP_MAX_DURATION",
    "HANGUP_SUPERVISOR",
    "IDLE_GOODBYE",
    "IDLE_PROMPT",
    "LISTENING",
    "MAX_DURATION_GOODBYE",
    "PREROLL_MS",
    "SPEAKING",
    "SUPERVISOR",
    "THINKING",
    "Line",
    "Pipeline",
    "PipelineConfig",
    "PipelineObserver",
    "Usage",
]
