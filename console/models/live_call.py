"""One live call as the panel sees it: the call's events stream (snapshot, then changes), its
transcript model, the agent's state, and the control commands as API calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, QTimer, Signal, Slot

from console import formatting as fmt
from console.bridge import ApiBridge
from console.events import typed
from console.models.records import Index
from console.models.transcript import TranscriptModel
from console.models.transfer_timeline import TransferTimelineModel
from engine.client import ApiError, Client, Record
from engine.events import (
    LATENCY_STAGES,
    AgentSpeaking,
    CallChange,
    CallControl,
    CallParticipantJoined,
    CallParticipantLeft,
    CallWhisper,
    Event,
    MetricsTurn,
    Snapshot,
    TranscriptFinal,
    TranscriptPartial,
    TransferEvent,
)

log = logging.getLogger(__name__)

AGENT_STATES = ("listening", "thinking", "speaking")
EVENTS_REFRESH_MS = 700  # recorded events are fetched again at most this often while they change
# the live events after which the call's recorded events (with their SIP codes) are fetched again
REFRESH_ON = (CallChange, CallControl, CallWhisper, CallParticipantJoined, CallParticipantLeft,
              TransferEvent, TranscriptFinal)
MAX_TURNS = 50  # turns of latency kept for the waterfall
SCREEN_ROLES = ("takeover", "agent")  # joined humans at a console, who see whispered text
USER_PREFIX = "user:"  # a transfer destination that is a console user (engine.calls.commands)
# what the panel says once a command was accepted, by command type
SENT_TEXTS = {"say": "Sent: the agent says it", "inject_context": "Whisper sent",
              "hold": "The call is on hold", "resume": "The call is resumed",
              "mute_agent": "The agent is muted", "unmute_agent": "The agent can speak again",
              "dtmf": "Keypad tones sent", "end_call": "The call is ending",
              "complete_transfer": "Transfer completed", "cancel_transfer": "Transfer canceled"}
# the commands by the names the user knows them by, for error messages
COMMAND_NAMES = {"say": "Say", "inject_context": "Whisper", "hold": "Hold", "resume": "Resume",
                 "mute_agent": "Mute agent", "unmute_agent": "Unmute agent", "dtmf": "Keypad",
                 "end_call": "End call", "complete_transfer": "Complete transfer",
                 "cancel_transfer": "Cancel transfer"}


class TurnLatency(QObject):
    """Per-turn latency of the agent's replies: from the transcript's agent turns at first, then
    from ``metrics.turn`` events. Each turn: ``index``, ``turn`` and the stages in ms."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.turns: list[Record] = []

    def set_entries(self, entries: list[Record]) -> None:
        self.turns = []
        for entry in entries:
            if entry.get("source") == "agent" and entry.get("voice_to_voice_ms") is not None:
                self._put({k: entry.get(k) for k in ("index", *LATENCY_STAGES)})
        self.changed.emit()

    def add(self, turn: MetricsTurn) -> None:
        if turn.voice_to_voice_ms is None and turn.tts_ttfb_ms is None:
            return
        self._put({"index": turn.index, "turn": turn.turn, **turn.stages()})
        self.changed.emit()

    def _put(self, turn: Record) -> None:
        for row, existing in enumerate(self.turns):
            if existing.get("index") == turn.get("index"):
                self.turns[row] = {**existing, **{k: v for k, v in turn.items() if v is not None}}
                return
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]


STAGE_LABELS = (("eou_ms", "End of turn"), ("stt_ms", "STT final"), ("brain_ms", "Brain"),
                ("tts_ttfb_ms", "TTS first audio"), ("out_ms", "First packet"))


def turn_segments(turn: Record) -> list[tuple[str, int, int]]:
    """A turn as consecutive stages ``(stage, start_ms, length_ms)`` from the caller's last voiced
    audio: end of turn → STT final → brain → TTS first audio → first voiced packet out (what is
    left of the voice-to-voice time)."""
    out: list[tuple[str, int, int]] = []
    start = 0
    for stage in ("eou_ms", "stt_ms", "brain_ms", "tts_ttfb_ms"):
        value = turn.get(stage)
        if isinstance(value, int | float) and value >= 0:
            out.append((stage, start, int(value)))
            start += int(value)
    total = turn.get("voice_to_voice_ms")
    if isinstance(total, int | float) and total > start:
        out.append(("out_ms", start, int(total) - start))
    return out


def turn_total(turn: Record) -> int:
    segments = turn_segments(turn)
    measured = segments[-1][1] + segments[-1][2] if segments else 0
    total = turn.get("voice_to_voice_ms")
    return int(total) if isinstance(total, int | float) and total > measured else measured


def event_summary(event: Record) -> str:
    """What a recorded call event says beyond its name: status, SIP code and reason, cause."""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    assert isinstance(payload, dict)
    parts: list[str] = []
    code = event.get("sip_status_code")
    if code:
        parts.append(f"{code} {event.get('sip_status') or ''}".strip())
    elif event.get("sip_status"):
        parts.append(str(event["sip_status"]))
    if event.get("failure_cause"):
        parts.append(fmt.label(str(event["failure_cause"])))
    for key in ("to", "state", "type", "reason", "role", "name"):
        value = payload.get(key)
        if isinstance(value, str | int) and value != "" and str(value) not in " ".join(parts):
            parts.append(str(value))
            break
    if event.get("status") and not code:
        parts.append(fmt.label(str(event["status"])))
    return " · ".join(parts)


class CallEventsModel(QAbstractListModel):
    """The call's recorded events (``GET /v1/calls/{id}/events``), oldest first, as compact lines:
    time, event name, SIP code and reason."""

    CODE_ROLE = Qt.ItemDataRole.UserRole + 40

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.events: list[Record] = []

    def set_events(self, events: list[Record]) -> None:
        if [e.get("id") for e in events] == [e.get("id") for e in self.events]:
            return
        old = len(self.events)
        same_start = [e.get("id") for e in events[:old]] == [e.get("id") for e in self.events]
        if same_start and len(events) > old:
            self.beginInsertRows(QModelIndex(), old, len(events) - 1)
            self.events = list(events)
            self.endInsertRows()
            return
        self.beginResetModel()
        self.events = list(events)
        self.endResetModel()

    def barge_ins(self) -> int:
        counts = [int((e.get("payload") or {}).get("count") or 0) for e in self.events
                  if e.get("event_type") == "agent.interrupted"
                  and (e.get("payload") or {}).get("reason") == "barge_in"]
        return max(counts, default=0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.events)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.events):
            return None
        event = self.events[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            detail = event_summary(event)
            line = f"{fmt.clock(event.get('occurred_at'))}  {event.get('event_type', '')}"
            return f"{line}  ·  {detail}" if detail else line
        if role == self.CODE_ROLE:
            return event.get("sip_status_code")
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(event.get("payload") or "")
        return None


class CallEventStream(QObject):
    """``WS /v1/events?call_id=…`` on the bridge's worker loop; each event arrives as a signal on
    the GUI thread. ``stop()`` cancels the socket."""

    received = Signal(object)  # an engine.events.Event
    ended = Signal(str)  # why the stream stopped ("" when stopped on purpose)

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.call_id = call_id
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._forward.connect(self.received, Qt.ConnectionType.QueuedConnection)

    _forward = Signal(object)  # emitted on the worker thread, delivered on the GUI thread

    def start(self) -> None:
        self.bridge.call(self._run, self._closed, self._failed, context=self)

    async def _run(self, client: Client) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._stopped:
            return
        async for event in client.event_stream(self.call_id):
            self._forward.emit(event)

    def _closed(self, _: object) -> None:
        self.ended.emit("" if self._stopped else "the engine closed the stream")

    def _failed(self, exc: Exception) -> None:
        self.ended.emit(str(exc) or type(exc).__name__)

    def stop(self) -> None:
        self._stopped = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)


class LiveCallModel(QObject):
    """The state of one live call, fed by its events; the control commands go through the API."""

    changed = Signal()  # the call's fields, the agent's state or the mute changed
    loaded = Signal()  # the snapshot (the call so far) is in
    error = Signal(str)  # an API error, for the panel to show inline ("" clears it)
    sent = Signal(str)  # a command was accepted: its type
    whispered = Signal(dict)  # a supervisor's whisper to the human agent: content, actor

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.call_id = call_id
        self.call: Record = {"id": call_id}
        self.transcript = TranscriptModel(self)
        self.latency = TurnLatency(self)
        self.events = CallEventsModel(self)
        self.transfers = TransferTimelineModel(self)
        self.barge_in_count = 0
        self.agent_state = ""
        self.agent_muted = False
        self.is_loaded = False
        self.stream_error = ""
        self.busy: set[str] = set()  # command types waiting for their answer
        self.participants: dict[str, str] = {}  # the joined peers: participant id -> role
        self.whispers: list[Record] = []  # ``call.whisper`` events, oldest first
        self.stream = CallEventStream(bridge, call_id, self)
        self.stream.received.connect(self.apply_event)
        self.stream.ended.connect(self._stream_ended)
        self._events_timer = QTimer(self)
        self._events_timer.setSingleShot(True)
        self._events_timer.setInterval(EVENTS_REFRESH_MS)
        self._events_timer.timeout.connect(self.load_history)

    def start(self) -> None:
        self.stream.start()

    def stop(self) -> None:
        self._events_timer.stop()
        self.stream.stop()

    @property
    def agent_id(self) -> str:
        return str(self.call.get("agent_id") or (self.call.get("agent") or {}).get("id") or "")

    # -- what the call is now ----------------------------------------------------------------------

    @property
    def status(self) -> str:
        return str(self.call.get("status") or "")

    @property
    def live(self) -> bool:
        return self.status in fmt.LIVE_STATUSES

    @property
    def on_hold(self) -> bool:
        return self.status == "on_hold"

    @property
    def human_agent_on_call(self) -> bool:
        """A human at a console has the call (a takeover, or a transfer answered in the dock)."""
        return any(role in SCREEN_ROLES for role in self.participants.values())

    @property
    def transferred(self) -> bool:
        """A transfer of this call completed: the AI agent left it."""
        return any(t.get("status") == "completed" for t in self.transfers.transfers.values())

    @property
    def human_on_call(self) -> bool:
        """Someone other than the AI talks to the caller (at a console or on a phone)."""
        return self.human_agent_on_call or self.transferred

    @property
    def transferred_to_screen(self) -> bool:
        """A transfer of this call completed to a console user (who sees whispered text)."""
        return any(t.get("status") == "completed"
                   and str(t.get("transfer_to") or "").startswith(USER_PREFIX)
                   for t in self.transfers.transfers.values())

    @property
    def whisper_target(self) -> str:
        """Where a text whisper goes: ``ai`` (its brain), ``human`` (the human agent's screen) or
        ``phone`` (a transfer to a phone: no screen, only a voice whisper reaches them)."""
        if self.human_agent_on_call or self.transferred_to_screen:
            return "human"
        return "phone" if self.transferred else "ai"

    # -- events -----------------------------------------------------------------------------------

    @Slot(object)
    def apply_event(self, event: Event | Mapping[str, Any]) -> None:
        """One event of the call's stream (typed, or its wire dict)."""
        event = typed(event)
        match event:
            case Snapshot(call=call):
                self._snapshot(call or {})
            case TranscriptPartial(text=text) if text:
                self.transcript.upsert(event.payload())
            case TranscriptFinal():
                self.transcript.upsert(event.payload())
            case MetricsTurn():
                self.latency.add(event)
            case TransferEvent():
                self.transfers.apply_event(event)
            case AgentSpeaking(state=state):
                self.agent_state = state
                self.changed.emit()
            case CallControl(command=command, status=status):
                if command in ("mute_agent", "unmute_agent"):
                    self.agent_muted = command == "mute_agent"
                if status:
                    self.call["status"] = status
                self.changed.emit()
            case CallParticipantJoined(participant_id=pid, role=role):
                self.participants[pid] = role
                self.changed.emit()
            case CallParticipantLeft(participant_id=pid):
                self.participants.pop(pid, None)
                self.changed.emit()
            case CallWhisper():
                whisper = event.payload()
                self.whispers.append(whisper)
                self.whispered.emit(dict(whisper))
            case CallChange(call=fields):
                self.call.update({k: v for k, v in fields.items()
                                  if k != "id" and not isinstance(v, dict | list)})
                self.changed.emit()
        if self.is_loaded and isinstance(event, REFRESH_ON) and not self._events_timer.isActive():
            self._events_timer.start()

    def _snapshot(self, call: Record) -> None:
        """The call so far: its fields, transcript and turns; then its history is fetched."""
        entries = [e for e in (call.get("transcript") or {}).get("entries") or [] if isinstance(e, dict)]
        self.call = {k: v for k, v in call.items() if k != "transcript"} or self.call
        self.transcript.set_entries(entries)
        self.latency.set_entries(entries)
        metadata = self.call.get("metadata") if isinstance(self.call.get("metadata"), dict) else {}
        assert isinstance(metadata, dict)
        self.barge_in_count = max(self.barge_in_count, int(metadata.get("barge_in_count") or 0))
        self.load_history()
        self.load_participants()
        self.is_loaded = True
        self.changed.emit()
        self.loaded.emit()

    def load_history(self) -> None:
        """The call's transfers and recorded events (the transfer timeline, the SIP events)."""
        call_id = self.call_id

        async def fetch(api: Client) -> tuple[list[Record], list[Record]]:
            transfers, events = await asyncio.gather(api.call_transfers(call_id),
                                                     api.call_events(call_id))
            return transfers, events

        self.bridge.call(fetch, self._history, lambda exc: log.debug("call history: %r", exc),
                         context=self)

    def load_participants(self) -> None:
        """Who is joined now (a late start misses their ``call.participant_joined``)."""
        call_id = self.call_id
        self.bridge.call(lambda api: api.call_participants(call_id), self._participants,
                         lambda exc: log.debug("call participants: %r", exc), context=self)

    def _participants(self, items: list[Record]) -> None:
        joined = {str(p.get("participant_id")): str(p.get("role") or "") for p in items}
        if joined != self.participants:
            self.participants = joined
            self.changed.emit()

    def _history(self, result: tuple[list[Record], list[Record]]) -> None:
        transfers, events = result
        self.transfers.load(transfers, events)
        self.events.set_events(events)
        count = self.events.barge_ins()
        if count > self.barge_in_count:
            self.barge_in_count = count
            self.changed.emit()

    def _stream_ended(self, reason: str) -> None:
        self.stream_error = reason
        if reason:
            self.error.emit(f"Live events stopped: {reason}")
        if not self.is_loaded:
            self.is_loaded = True
            self.loaded.emit()

    # -- commands ---------------------------------------------------------------------------------

    def command(self, type_: str, **fields: Any) -> None:
        """``POST /v1/calls/{id}/control``; the answer's status updates the call."""
        self.busy.add(type_)
        self.error.emit("")
        self.changed.emit()
        self.bridge.call(lambda api: api.control(self.call_id, type_, **fields),
                         lambda result: self._done(type_, result),
                         lambda exc: self._failed(type_, exc), context=self)

    def _done(self, type_: str, result: Record) -> None:
        self.busy.discard(type_)
        if type_.endswith("_transfer"):
            self.transfers.update_transfer(result)
        elif result.get("status"):
            self.call["status"] = result["status"]
        if type_ in ("mute_agent", "unmute_agent"):
            self.agent_muted = type_ == "mute_agent"
        self.changed.emit()
        self.sent.emit(type_)

    def _failed(self, type_: str, exc: Exception) -> None:
        self.busy.discard(type_)
        message = exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)
        self.error.emit(f"{COMMAND_NAMES.get(type_, fmt.label(type_))}: {message}")
        self.changed.emit()

    def say(self, content: str, *, interrupt: bool = True, interruptible: bool = True,
            end_after: bool = False) -> bool:
        text = content.strip()
        if not text:
            return False
        self.command("say", content=text, interrupt=interrupt, interruptible=interruptible,
                     end_after=end_after)
        return True

    def whisper(self, content: str, *, reply_now: bool = False) -> bool:
        text = content.strip()
        if not text:
            return False
        # a human has the call: the text goes to their screen, and nobody is asked to reply
        self.command("inject_context", content=text,
                     trigger_response=reply_now and self.whisper_target == "ai")
        return True

    def toggle_hold(self) -> None:
        self.command("resume" if self.on_hold else "hold")

    def set_agent_muted(self, muted: bool) -> None:
        self.command("mute_agent" if muted else "unmute_agent")

    def dtmf(self, digits: str) -> None:
        if digits:
            self.command("dtmf", digits=digits)

    def complete_transfer(self) -> None:
        self._transfer_command("complete", lambda api, tid: api.complete_transfer(self.call_id, tid))

    def cancel_transfer(self) -> None:
        self._transfer_command("cancel", lambda api, tid: api.cancel_transfer(self.call_id, tid))

    def _transfer_command(self, name: str, request: Any) -> None:
        running = self.transfers.running
        if running is None:
            return
        transfer_id = str(running["id"])
        type_ = f"{name}_transfer"
        self.busy.add(type_)
        self.error.emit("")
        self.changed.emit()
        self.bridge.call(lambda api: request(api, transfer_id), lambda result: self._done(type_, result),
                         lambda exc: self._failed(type_, exc), context=self)

    def end_call(self, message: str = "") -> None:
        self.command("end_call", **({"message": message.strip()} if message.strip() else {}))
