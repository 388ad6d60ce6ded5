"""A live call's events: its row changing, control commands, joins, transcript lines, the agent's
state and each turn's latency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from engine.events.base import Event, Record, iso, registered, wire_name

LATENCY_STAGES = ("eou_ms", "stt_ms", "brain_ms", "tts_ttfb_ms", "voice_to_voice_ms")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallChange(Event):
    """A call's row changed. ``call`` holds the fields that changed, with the call's ``id``
    (from the telephony service: status, direction, disconnect reason, duration; from the API:
    the whole summary row); the fields it leaves out are unchanged."""

    call: Record = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """The call's id."""
        return str(self.call.get("id") or self.call_id or "")

    @property
    def status(self) -> str | None:
        status = self.call.get("status")
        return status if isinstance(status, str) else None

    def payload(self) -> Record:
        return dict(self.call)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"call": dict(data)}


@registered
class CallCreated(CallChange):
    __slots__ = ()
    type: ClassVar[str] = "call.created"


@registered
class CallUpdated(CallChange):
    __slots__ = ()
    type: ClassVar[str] = "call.updated"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CallControl(Event):
    """A control command acted on a live call (say, inject_context, hold, transfer, ...): who
    asked, what it carried (the text, the digits, the destination), its result and the call's
    status after it."""

    type: ClassVar[str] = "call.control"
    call_id_in_data: ClassVar[bool] = True

    command: str = field(metadata=wire_name("type"))
    actor: str | None = None
    content: str | None = None
    result: str | None = None
    status: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CallWhisper(Event):
    """A supervisor's whisper for the human agent who has the call: shown on their screen."""

    type: ClassVar[str] = "call.whisper"
    call_id_in_data: ClassVar[bool] = True

    content: str | None
    actor: str | None = None
    to: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CallParticipantJoined(Event):
    """Someone joined the live call over WebRTC (listen, whisper, barge, takeover, agent)."""

    type: ClassVar[str] = "call.participant_joined"
    call_id_in_data: ClassVar[bool] = True

    participant_id: str
    role: str
    actor: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CallParticipantLeft(Event):
    """A joined participant left (``reason``: left, peer_closed, call_ended...), with its leg's
    figures."""

    type: ClassVar[str] = "call.participant_left"
    call_id_in_data: ClassVar[bool] = True

    participant_id: str
    role: str
    reason: str | None = None
    actor: str | None = None
    connected_ms: int | None = None
    frames_received: int | None = None
    frames_sent: int | None = None
    frames_dropped: int | None = None
    underruns: int | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptPartial(Event):
    """The caller's words so far in a turn (streaming STT); the final line replaces it."""

    type: ClassVar[str] = "transcript.partial"
    call_id_in_data: ClassVar[bool] = True
    constants: ClassVar[tuple[tuple[str, Any], ...]] = (("partial", True),)

    index: int
    source: str
    text: str
    started_at: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptFinal(Event):
    """A final transcript line: ``data`` is the transcript entry as the call's detail lists it
    (plus ``partial: false``). Built from the entry's row with :meth:`from_row`."""

    type: ClassVar[str] = "transcript.final"
    call_id_in_data: ClassVar[bool] = True
    organization_id_in_data: ClassVar[bool] = True
    constants: ClassVar[tuple[tuple[str, Any], ...]] = (("partial", False),)

    index: int
    source: str
    text: str
    started_at: str | None = None
    ended_at: str | None = None
    provider: str | None = None
    model: str | None = None
    confidence: float | None = None
    interrupted: bool = False
    eou_ms: int | None = None
    stt_ms: int | None = None
    brain_ms: int | None = None
    tts_ttfb_ms: int | None = None
    voice_to_voice_ms: int | None = None
    metadata: Record = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        """The event of a transcript entry's row as the store writer takes it (``metadata_``,
        datetimes) or as the API shows it (``metadata``, ISO times)."""
        metadata = row.get("metadata_", row.get("metadata"))
        return cls(
            organization_id=str(row["organization_id"]), call_id=str(row["call_id"]),
            index=int(row["index"]), source=str(row["source"]), text=str(row["text"]),
            started_at=iso(row.get("started_at")), ended_at=iso(row.get("ended_at")),
            provider=row.get("provider"), model=row.get("model"), confidence=row.get("confidence"),
            interrupted=bool(row.get("interrupted")),
            eou_ms=row.get("eou_ms"), stt_ms=row.get("stt_ms"), brain_ms=row.get("brain_ms"),
            tts_ttfb_ms=row.get("tts_ttfb_ms"), voice_to_voice_ms=row.get("voice_to_voice_ms"),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        )


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSpeaking(Event):
    """The AI agent's state changed: listening, thinking or speaking."""

    type: ClassVar[str] = "agent.speaking"
    call_id_in_data: ClassVar[bool] = True
    derived: ClassVar[tuple[str, ...]] = ("speaking",)

    state: str

    @property
    def speaking(self) -> bool:
        return self.state == "speaking"

    def payload(self) -> Record:
        data = Event.payload(self)
        data["speaking"] = self.speaking
        return data


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsTurn(Event):
    """The latency of one of the agent's turns, stage by stage (ms; None when not measured):
    end of turn, STT final, brain, TTS first audio, voice to voice."""

    type: ClassVar[str] = "metrics.turn"
    call_id_in_data: ClassVar[bool] = True

    index: int  # the agent line's transcript index
    turn: int  # the turn's number in the call, from 0
    eou_ms: int | None = None
    stt_ms: int | None = None
    brain_ms: int | None = None
    tts_ttfb_ms: int | None = None
    voice_to_voice_ms: int | None = None

    def stages(self) -> dict[str, int | None]:
        return {"eou_ms": self.eou_ms, "stt_ms": self.stt_ms, "brain_ms": self.brain_ms,
                "tts_ttfb_ms": self.tts_ttfb_ms, "voice_to_voice_ms": self.voice_to_voice_ms}


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisCompleted(Event):
    """A call's post-call analysis is written, moments after the call ended (or when re-run):
    ``status`` says who made it (``heuristic``, ``llm``), ``error`` why an LLM's answer was not
    kept; the rest are the call's analysis fields as its detail shows them."""

    type: ClassVar[str] = "analysis.completed"
    call_id_in_data: ClassVar[bool] = True

    status: str
    summary: str | None = None
    sentiment: str | None = None
    sentiment_score: int | None = None
    outcome: str | None = None
    success: bool | None = None
    error: str | None = None


__all__ = ["LATENCY_STAGES", "AgentSpeaking", "AnalysisCompleted", "CallChange", "CallControl", "CallCreated",
           "CallParticipantJoined", "CallParticipantLeft", "CallUpdated", "CallWhisper",
           "MetricsTurn", "TranscriptFinal", "TranscriptPartial"]
