"""What the pipeline reports and shares: transcript lines and their numbering, the call's usage,
the observer told of both, and the state of the call every part reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.speech.frames import BrainEvent, ToolCall
from engine.store import vocabulary as words

LISTENING, THINKING, SPEAKING = "listening", "thinking", "speaking"
# why the pipeline hangs up: disconnect reasons of the call vocabulary
HANGUP_END_CALL = words.AGENT_HANGUP
HANGUP_IDLE = words.IDLE_TIMEOUT
HANGUP_MAX_DURATION = words.MAX_DURATION
HANGUP_SUPERVISOR = words.SUPERVISOR_HANGUP
SUPERVISOR = "supervisor"  # the transcript source of a supervisor's say


@dataclass
class Line:
    """One final utterance of the transcript; times are media-clock seconds from the leg's start."""

    index: int
    source: str  # user | agent
    text: str
    started_at: float | None
    ended_at: float | None
    provider: str | None = None
    model: str | None = None
    confidence: float | None = None
    interrupted: bool = False
    eou_ms: int | None = None
    stt_ms: int | None = None
    brain_ms: int | None = None
    tts_ttfb_ms: int | None = None
    voice_to_voice_ms: int | None = None
    kind: str = ""  # agent lines: greeting | turn | dtmf | idle | say | goodbye | context

    def latency(self) -> dict[str, int | None]:
        return {"eou_ms": self.eou_ms, "stt_ms": self.stt_ms, "brain_ms": self.brain_ms,
                "tts_ttfb_ms": self.tts_ttfb_ms, "voice_to_voice_ms": self.voice_to_voice_ms}


class PipelineObserver:
    """What the pipeline reports as it happens; the agent leg writes it to the store and bus."""

    def partial(self, index: int, text: str, started_at: float) -> None: ...
    def final(self, line: Line) -> None: ...
    def state(self, state: str) -> None: ...
    def turn(self, line: Line) -> None: ...
    def brain_event(self, event: BrainEvent) -> None: ...
    def tool_call(self, call: ToolCall) -> None: ...
    def barge_in(self, count: int) -> None: ...
    def event(self, kind: str, payload: dict[str, Any]) -> None: ...
    def hangup(self, reason: str) -> None: ...


@dataclass
class Usage:
    """What the call consumed, for costs."""

    stt_audio_s: float = 0.0
    tts_characters: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0


@dataclass
class CallState:
    """Where the call stands, as every part of the pipeline sees it."""

    ended: str | None = None  # the reason, once the pipeline asked to hang up
    held: bool = False  # a transfer was asked for: the agent stays quiet
    closed: bool = False  # the call is over: no more lines, no hang-up


class Transcript:
    """The call's lines, numbered in the order their utterances began (a caller's line takes its
    number at its first partial, an agent's at its first sentence)."""

    def __init__(self, observer: PipelineObserver) -> None:
        self.lines: list[Line] = []
        self._observer = observer
        self._next_index = 0

    def take_index(self) -> int:
        """The next line number (the call's other transcript writers number their lines here too)."""
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    def publish(self, line: Line) -> None:
        self.lines.append(line)
        self._observer.final(line)

    def turn_lines(self) -> list[Line]:
        """The agent lines that answered a caller's turn (they carry the latency figures)."""
        return [line for line in self.lines if line.source == "agent" and line.kind == "turn"]
