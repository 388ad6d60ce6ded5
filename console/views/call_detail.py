"""The detail pane of one call: conversation, events with SIP codes, analysis, costs, latency, notes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QStackedLayout,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.records import Column, RecordTableModel
from console.views.elide import ElidedLabel, fit_header_sections
from console.views.transcript import TranscriptView
from console.views.widgets import button, empty_state, hbox, section, table_view
from engine.client import Record
from engine.events import AnalysisCompleted, Event

RIGHT = Qt.AlignmentFlag.AlignRight
COST_KINDS = (("Speech to text", "stt"), ("Language model", "llm"), ("Text to speech", "tts"),
              ("Telephony", "telephony"))
# (header, field, tooltip)
LATENCY_FIELDS = (("EOU", "eou_ms", "end of turn: caller's last word to the turn being decided"),
                  ("STT", "stt_ms", "speech to text final"),
                  ("Brain", "brain_ms", "the agent's brain to its first words"),
                  ("TTS", "tts_ttfb_ms", "text to speech: first audio"),
                  ("Voice to voice", "voice_to_voice_ms", "caller's last word to the agent's first audio"))
LATENCY_TOTAL_TITLE = "Total"
EVENT_CELL_PADDING = 20  # item padding and the style's text margins, both sides
EVENT_NAME_SAMPLE = "engine · call.answered"
FIELD_NAME_SHARE = 45  # structured data: the field names take at most this share (%) of the width
FIELD_MIN_WIDTH = 120
EVENT_NAME_SHARE = 45  # the event name column takes at most this share (%) of the list's width


def _text_of(key: str) -> Callable[[Record], str]:
    """A column's text: the record's ``key`` as a string, blank when missing."""
    return lambda record: "" if record.get(key) is None else str(record[key])


# why a call without a transcript has none, by its status
NO_TRANSCRIPT = {
    "queued": "The call has not started yet.",
    "ringing": "The call is ringing: nothing has been said yet.",
    "in_progress": "Nothing has been said yet.",
    "failed": "There is no conversation: the call failed before anyone spoke.",
    "no_answer": "There is no conversation: nobody answered the call.",
    "busy": "There is no conversation: the line was busy.",
    "canceled": "There is no conversation: the call was canceled before it was answered.",
}
NOTHING_SAID = "Nothing was said on this call."


def no_transcript_text(call: Record) -> str:
    """Why the call's Transcript tab is empty, in the user's words."""
    text = NO_TRANSCRIPT.get(str(call.get("status") or ""), NOTHING_SAID)
    reason = fmt.label(call.get("disconnect_reason"))
    if call.get("status") == "failed" and reason and call.get("disconnect_reason") != "error":
        text += f" Reason: {reason.lower()}."
    return text


def _started(call: Record) -> str:
    when = fmt.local_time(call.get("initiated_at"), zone=True)
    return f"Started {when}" if when else ""


def transcript_entries(call: Record) -> list[Record]:
    transcript = call.get("transcript")
    if isinstance(transcript, dict) and isinstance(transcript.get("entries"), list):
        return cast(list[Record], transcript["entries"])
    for key in ("transcript_entries", "entries", "messages", "transcript_items"):
        value = call.get(key)
        if isinstance(value, list):
            return value
    return []


def analysis_of(call: Record) -> Record:
    nested = call.get("analysis")
    base = {k: call.get(k) for k in ("summary", "sentiment", "sentiment_score", "outcome", "success",
                                      "structured_data", "analysis_status")}
    return {**base, **nested} if isinstance(nested, dict) else base


def costs_of(call: Record) -> Record:
    nested = call.get("costs")
    if isinstance(nested, dict):
        return nested
    costs = {kind: call.get(f"cost_{kind}_micro_usd") for _, kind in COST_KINDS}
    costs["total"] = call.get("cost_total_micro_usd")
    costs["details"] = call.get("cost_details") or {}
    return costs


def _cost_value(costs: Record, kind: str) -> int | None:
    value = costs.get(kind, costs.get(f"{kind}_micro_usd"))
    return int(value) if isinstance(value, int | float) else None


def latency_turns(call: Record) -> list[Record]:
    latency = call.get("latency")
    if isinstance(latency, dict) and isinstance(latency.get("turns"), list):
        return cast(list[Record], latency["turns"])
    return cast(list[Record], call.get("latency_turns") or [])


def latency_summary(call: Record) -> tuple[Any, Any]:
    latency = call.get("latency")
    if isinstance(latency, dict):
        return latency.get("p50_ms"), latency.get("p95_ms")
    return call.get("latency_p50_ms"), call.get("latency_p95_ms")


class LatencyBarDelegate(QStyledItemDelegate):
    """Milliseconds as a small horizontal bar behind the figure."""

    def __init__(self, parent: QWidget, scale_ms: float = 1000.0) -> None:
        super().__init__(parent)
        self.scale_ms = scale_ms

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        text = str(index.data() or "")
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits:
            fraction = min(1.0, int(digits) / self.scale_ms)
            room = max(0, option.rect.width() - option.fontMetrics.horizontalAdvance("0000") - 16)
            bar = QRect(option.rect.left() + 6, option.rect.center().y() - 4, max(2, int(room * fraction)), 8)
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            color = QColor(theme.colors().accent)
            color.setAlpha(150)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(bar, 4, 4)
            painter.restore()
        painter.save()
        painter.setPen(QColor(theme.colors().text))
        painter.drawText(option.rect.adjusted(6, 0, -8, 0),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()


class CallDetail(QWidget):
    """Shows one call. ``show_call(id)`` loads it; ``loaded`` fires when everything is in."""

    loaded = Signal()
    call_updated = Signal(dict)

    def __init__(self, bridge: ApiBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.call: Record | None = None
        self.call_id: str | None = None
        self.agent_names: dict[str, str] = {}
        self._pending = 0
        self._generation = 0
        bridge.event_received.connect(self._event)

        self.stack = QStackedLayout(self)
        self.placeholder = empty_state("Select a call to see its conversation, events and analysis.")
        self.stack.addWidget(self.placeholder)
        body = QFrame()
        body.setObjectName("panel")
        self.stack.addWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(12, 12, 12, 10)
        layout.setSpacing(8)

        self.headline = ElidedLabel()
        self.headline.setObjectName("callHeadline")
        self.meta = QLabel()
        self.meta.setObjectName("viewSubtitle")
        self.meta.setWordWrap(True)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(6)
        layout.addWidget(self.headline)
        layout.addWidget(self.meta)
        layout.addLayout(self.chips)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self.transcript = TranscriptView()
        self.tabs.addTab(self.transcript, "Transcript")
        self.events_model = RecordTableModel([
            Column(fmt.with_zone("Time"), lambda r: fmt.clock(r.get("occurred_at"))),
            Column("Event", lambda r: f"{r.get('provider', '')} · {r.get('event_type', '')}"),
            Column("SIP", lambda r: " ".join(str(v) for v in (r.get("sip_status_code"), r.get("sip_status"))
                                             if v)),
            Column("Status", lambda r: fmt.label(r.get("failure_cause") or r.get("status"))),
        ], self)
        self.events_view = table_view(self.events_model)
        self.tabs.addTab(self.events_view, "Events")
        self.tabs.addTab(_scrolling(self._analysis_tab()), "Analysis")
        self.tabs.addTab(_scrolling(self._costs_tab()), "Metrics")
        # the field names are sized to the tab's width, known once it is shown
        self.tabs.currentChanged.connect(
            lambda _: QTimer.singleShot(0, self, self._size_structured_columns))
        self.tabs.setTabToolTip(3, "Cost breakdown and per-turn latency")
        self.tabs.addTab(self._notes_tab(), "Notes")

    def _size_event_columns(self) -> None:
        """Column widths from the font and the events shown, so times, event names and SIP
        reasons are not cut short while there is room (a cut one shows itself in a tooltip)."""
        header = self.events_view.horizontalHeader()
        cell_width = self.events_view.fontMetrics().horizontalAdvance
        names = [self.events_model.data(self.events_model.index(row, 1)) or ""
                 for row in range(self.events_model.rowCount())]
        widest_name = max((cell_width(str(name)) for name in names),
                          default=cell_width(EVENT_NAME_SAMPLE))
        room = self.events_view.viewport().width() * EVENT_NAME_SHARE // 100
        widths = (cell_width("00:00:00"), min(widest_name, max(room, cell_width(EVENT_NAME_SAMPLE))),
                  cell_width("503 Service Unavail"))
        for column, width in enumerate(widths):
            header.resizeSection(column, width + EVENT_CELL_PADDING)
        fit_header_sections(self.events_view)

    # -- tabs ------------------------------------------------------------------------------------

    def _analysis_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(section("Summary"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        self.sentiment = QLabel()
        self.outcome = QLabel()
        self.success = QLabel()
        self.analysis_status = QLabel()
        form.addRow("Sentiment", self.sentiment)
        form.addRow("Outcome", self.outcome)
        form.addRow("Success", self.success)
        form.addRow("Analysis", self.analysis_status)
        layout.addLayout(form)
        layout.addWidget(section("Structured data"))
        self.structured_model = RecordTableModel([Column.key("Field", "key"), Column.key("Value", "value")],
                                                 self)
        self.structured_view = table_view(self.structured_model)
        self.structured_view.horizontalHeader().resizeSection(0, 180)
        fit_header_sections(self.structured_view)
        layout.addWidget(self.structured_view, 1)
        return page

    def _costs_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(section("Cost"))
        self.cost_model = RecordTableModel([
            Column.key("Item", "item"), Column.key("Cost", "cost", align=RIGHT), Column.key("Usage", "usage"),
        ], self)
        self.cost_view = table_view(self.cost_model)
        self.cost_view.horizontalHeader().resizeSection(0, 124)
        self.cost_view.horizontalHeader().resizeSection(1, 78)
        fit_header_sections(self.cost_view)
        self.cost_view.setFixedHeight(self.cost_view.horizontalHeader().sizeHint().height() + 30 * 5 + 6)
        layout.addWidget(self.cost_view)
        layout.addSpacing(6)
        layout.addWidget(section("Latency per turn"))
        self.latency_summary = QLabel()
        self.latency_summary.setObjectName("viewSubtitle")
        self.latency_summary.setWordWrap(True)
        layout.addWidget(self.latency_summary)
        self.latency_model = RecordTableModel(
            [Column("Turn", lambda r: r.get("turn", ""))]
            + [Column(LATENCY_TOTAL_TITLE if key == "voice_to_voice_ms" else title,
                      _text_of(key), RIGHT,
                      tooltip=f"{title}: {tip}")
               for title, key, tip in LATENCY_FIELDS],
            self,
        )
        self.latency_view = table_view(self.latency_model)
        header = self.latency_view.horizontalHeader()
        header.resizeSection(0, 40)
        for column in range(1, 5):
            header.resizeSection(column, 48)
        fit_header_sections(self.latency_view)
        self.latency_view.setItemDelegateForColumn(5, LatencyBarDelegate(self.latency_view))
        layout.addWidget(self.latency_view, 1)
        return page

    def _notes_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes about this call, kept with it")
        layout.addWidget(self.notes, 1)
        self.notes_state = QLabel()
        self.notes_state.setObjectName("viewSubtitle")
        self.save_notes_button = button("Save notes", self.save_notes, primary=True)
        layout.addLayout(hbox(self.notes_state, None, self.save_notes_button))
        return page

    # -- loading ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self._generation += 1
        self.call = None
        self.call_id = None
        self.stack.setCurrentWidget(self.placeholder)

    def show_call(self, call_id: str) -> None:
        self._generation += 1
        generation = self._generation
        self.call_id = call_id
        self._pending = 2
        self.bridge.call(lambda api: api.get_call(call_id), lambda call: self._got_call(generation, call),
                         lambda exc: self._got_error(generation, exc), context=self)
        self.bridge.call(lambda api: api.call_events(call_id),
                         lambda events: self._got_events(generation, events),
                         lambda exc: self._got_events(generation, []), context=self)

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.loaded.emit()

    def _got_error(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self.placeholder.setText(f"Could not load the call: {exc}")
        self.stack.setCurrentWidget(self.placeholder)
        self._settle()

    def _got_events(self, generation: int, events: list[Record], *, settle: bool = True) -> None:
        if generation != self._generation:
            return
        self.events_model.set_records(events)
        self._size_event_columns()
        if settle:
            self._settle()

    def _got_call(self, generation: int, call: Record) -> None:
        if generation != self._generation:
            return
        self.call = call
        self.stack.setCurrentIndex(1)
        self._fill_header(call)
        self.transcript.transcript().set_entries(transcript_entries(call))
        self.transcript.set_empty_text(no_transcript_text(call))
        self._fill_analysis(call)
        self._fill_costs(call)
        self.notes.setPlainText(call.get("notes") or "")
        self.notes_state.clear()
        self._settle()

    # -- following the engine ---------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        if isinstance(event, AnalysisCompleted) and event.call_id and event.call_id == self.call_id:
            self.refresh_analysis(event.call_id)

    def refresh_analysis(self, call_id: str) -> None:
        """The call's analysis (and what it costs, and its events) again, once it is written;
        the transcript and unsaved notes stay as they are."""
        generation = self._generation
        self.bridge.call(lambda api: api.get_call(call_id),
                         lambda call: self._got_analysis(generation, call),
                         lambda exc: None, context=self)
        self.bridge.call(lambda api: api.call_events(call_id),
                         lambda events: self._got_events(generation, events, settle=False),
                         lambda exc: None, context=self)

    def _got_analysis(self, generation: int, call: Record) -> None:
        if generation != self._generation or self.call is None:
            return
        notes = self.call.get("notes")
        self.call = {**call, "notes": notes}
        self._fill_header(call)
        self._fill_analysis(call)
        self._fill_costs(call)
        self.call_updated.emit(call)

    def _fill_header(self, call: Record) -> None:
        self.headline.setText(f"{call.get('from_number', '')}  →  {call.get('to_number', '')}")
        agent = call.get("agent_name") or self.agent_names.get(call.get("agent_id") or "", "")
        parts = [fmt.label(call.get("direction")), fmt.label(call.get("status")),
                 _started(call), fmt.duration(call.get("duration_seconds")),
                 agent, fmt.label(call.get("disconnect_reason"))]
        self.meta.setText("  ·  ".join(p for p in parts if p))
        while self.chips.count():
            item = self.chips.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        analysis = analysis_of(call)
        costs = costs_of(call)
        for text in (fmt.label(analysis.get("sentiment")), fmt.label(analysis.get("outcome")),
                     fmt.money(_cost_value(costs, "total"))):
            if text:
                chip = QLabel(text)
                chip.setObjectName("chip")
                self.chips.addWidget(chip)
        self.chips.addStretch(1)

    def _fill_analysis(self, call: Record) -> None:
        analysis = analysis_of(call)
        self.summary.setText(analysis.get("summary") or "No summary yet.")
        score = analysis.get("sentiment_score")
        sentiment = fmt.label(analysis.get("sentiment"))
        self.sentiment.setText(f"{sentiment} ({score}/10)" if sentiment and score is not None else sentiment)
        self.outcome.setText(fmt.label(analysis.get("outcome")) or "—")
        success = analysis.get("success")
        self.success.setText("—" if success is None else ("Yes" if success else "No"))
        self.analysis_status.setText(fmt.label(analysis.get("analysis_status") or analysis.get("status")))
        data = analysis.get("structured_data") or {}
        rows = [{"key": key, "value": value if isinstance(value, str) else json.dumps(value)}
                for key, value in data.items()] if isinstance(data, dict) else []
        self.structured_model.set_records(rows)
        self._size_structured_columns()

    def _size_structured_columns(self) -> None:
        """The field names whole (within a share of the width); the values get the rest."""
        cell_width = self.structured_view.fontMetrics().horizontalAdvance
        keys = [str(self.structured_model.data(self.structured_model.index(row, 0)))
                for row in range(self.structured_model.rowCount())]
        widest = max(map(cell_width, keys), default=0) + EVENT_CELL_PADDING
        room = self.structured_view.viewport().width() * FIELD_NAME_SHARE // 100
        self.structured_view.horizontalHeader().resizeSection(0, min(widest, max(room, FIELD_MIN_WIDTH)))
        fit_header_sections(self.structured_view)

    def _fill_costs(self, call: Record) -> None:
        costs = costs_of(call)
        details = costs.get("details") or call.get("cost_details") or {}
        usage = {
            "stt": f"{details.get('stt_audio_duration_seconds', 0):g} s audio"
            if details.get("stt_audio_duration_seconds") is not None else "",
            "llm": f"{details.get('llm_prompt_tokens', 0)} + {details.get('llm_completion_tokens', 0)} tokens"
            if details.get("llm_prompt_tokens") is not None else "",
            "tts": f"{details.get('tts_characters')} characters" if details.get("tts_characters") is not None
            else "",
            "telephony": fmt.duration(call.get("duration_seconds")) if call.get("duration_seconds") else "",
        }
        rows = [{"item": title, "usage": usage[kind], "cost": fmt.money(_cost_value(costs, kind))}
                for title, kind in COST_KINDS]
        rows.append({"item": "Total", "usage": "", "cost": fmt.money(_cost_value(costs, "total"))})
        self.cost_model.set_records(rows)
        turns = latency_turns(call)
        self.latency_model.set_records([{"turn": i + 1, **t} for i, t in enumerate(turns)])
        p50, p95 = latency_summary(call)
        self.latency_summary.setText(f"In milliseconds; total is voice to voice: p50 {p50}, p95 {p95}"
                                     if p50 is not None else "No turns measured")

    # -- notes -----------------------------------------------------------------------------------

    def notes_edited(self) -> bool:
        """True when the notes hold text that is not saved with the call."""
        return self.call is not None and self.notes.toPlainText() != (self.call.get("notes") or "")

    def save_notes(self) -> None:
        call_id = self.call_id
        if call_id is None:
            return
        notes = self.notes.toPlainText()
        self.save_notes_button.setEnabled(False)
        self.notes_state.setText("Saving…")
        self.bridge.call(lambda api: api.update_call(call_id, notes=notes), self._notes_saved,
                         self._notes_failed)

    def _notes_saved(self, call: Record) -> None:
        self.save_notes_button.setEnabled(True)
        self.notes_state.setText("Saved")
        if self.call is not None and self.call.get("id") == call.get("id"):  # still the open call
            self.call["notes"] = call.get("notes", self.call.get("notes"))
        self.call_updated.emit(call)

    def _notes_failed(self, exc: Exception) -> None:
        self.save_notes_button.setEnabled(True)
        self.notes_state.setText(f"Not saved: {exc}")


def _scrolling(page: QWidget) -> QScrollArea:
    """A tab's page that scrolls when the detail is short (under the list in a narrow window)
    instead of holding the detail to the page's full height."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
