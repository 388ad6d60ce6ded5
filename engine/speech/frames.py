"""The frame vocabulary of the speech pipeline.

Data frames (audio, transcripts, brain text, TTS audio) flow in order through the stages;
control frames (interrupt, end of turn, hang-up) pre-empt them: a stage's queue hands a control
frame out before any data frame still waiting, and receiving one cancels work in flight.
Every frame carries ``pts``, the media-clock time in seconds it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.speech.audio import FRAME_MS, SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class Frame:
    """Base of every frame: ``pts`` is the media-clock time (seconds) the frame refers to."""

    pts: float = field(default=0.0, kw_only=True)


@dataclass(frozen=True, slots=True)
class DataFrame(Frame):
    """A frame that flows in order behind the frames before it."""


@dataclass(frozen=True, slots=True)
class ControlFrame(Frame):
    """A frame that pre-empts queued data frames and cancels work in flight."""


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioFrame(DataFrame):
    """20 ms of 16-bit signed mono PCM (640 bytes at 16 kHz)."""

    pcm: bytes
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 * 1000 / self.sample_rate


@dataclass(frozen=True, slots=True)
class TranscriptPartial(DataFrame):
    """A recognition hypothesis that may still change."""

    text: str
    provider: str = ""


@dataclass(frozen=True, slots=True)
class TranscriptFinal(DataFrame):
    """A finished recognition of one utterance."""

    text: str
    provider: str = ""
    model: str = ""
    confidence: float | None = None
    language: str | None = None
    started_at: float | None = None  # media-clock seconds of the utterance's first voiced frame
    ended_at: float | None = None  # media-clock seconds of its last voiced frame


@dataclass(frozen=True, slots=True)
class BrainToken(DataFrame):
    """A piece of the brain's reply as it streams (an LLM delta)."""

    text: str


@dataclass(frozen=True, slots=True)
class BrainText(DataFrame):
    """A whole utterance of the brain's reply, ready to be spoken."""

    text: str


# The types of tool call: a named function the brain runs (a webhook), or one of the two the
# call session carries out.
FUNCTION = "function"
END_CALL = "end_call"
TRANSFER_CALL = "transfer_call"


@dataclass(frozen=True, slots=True)
class ToolCall(DataFrame):
    """The brain asks for a tool: ``end_call``, ``transfer_call`` or a named function."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    type: str = FUNCTION  # FUNCTION | END_CALL | TRANSFER_CALL
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class BrainEvent(DataFrame):
    """Something the brain reports besides speech: a slot captured, a menu match, an error."""

    kind: str  # slot | intent | menu_match | menu_final_selection | escalation | error | usage
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TTSChunk(DataFrame):
    """20 ms of synthesised speech, 16-bit mono PCM at the pipeline rate."""

    pcm: bytes
    text: str = ""  # the sentence it belongs to
    first: bool = False  # the first chunk of an utterance (its time is the TTS time-to-first-byte)
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 * 1000 / self.sample_rate


# -- control ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interrupt(ControlFrame):
    """Stop speaking now and drop queued speech (barge-in, a supervisor's interrupting say)."""

    reason: str = "barge_in"


@dataclass(frozen=True, slots=True)
class EndOfTurn(ControlFrame):
    """The caller finished a turn; ``speculative`` when silence only just began."""

    speculative: bool = False
    last_voiced_at: float | None = None


@dataclass(frozen=True, slots=True)
class HangUp(ControlFrame):
    """The call is over: every stage stops."""

    reason: str = "hangup"


FRAME_DURATION = FRAME_MS / 1000  # seconds per audio frame, for pts arithmetic

__all__ = [
    "END_CALL",
    "FRAME_DURATION",
    "FUNCTION",
    "TRANSFER_CALL",
    "AudioFrame",
    "BrainEvent",
    "BrainText",
    "BrainToken",
    "ControlFrame",
    "DataFrame",
    "EndOfTurn",
    "Frame",
    "HangUp",
    "Interrupt",
    "TTSChunk",
    "ToolCall",
    "TranscriptFinal",
    "TranscriptPartial",
]
