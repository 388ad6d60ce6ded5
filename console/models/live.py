"""Live calls: the events socket's snapshot, then call changes and final transcript lines, as
table rows. Events are collected as pending changes and applied by ``flush()`` (the board calls it
on a short timer), so a burst of events costs one repaint."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QColor

from console import formatting as fmt
from console import theme
from console.events import typed
from console.models.records import Column, Index, RecordTableModel
from engine.client import Record
from engine.events import CallChange, CallCreated, Event, Snapshot, TranscriptFinal

NEW_CALL_HIGHLIGHT_S = 3.0  # how long a new row stays highlighted
UTTERANCE_CHARS = 160  # the last utterance is cut to this many characters
SNAPSHOT_DETAILS = 50  # live calls of a snapshot whose last utterance is fetched (one request each)


def live_seconds(call: Record, now: datetime | None = None) -> float | None:
    """Seconds since the call was answered (or, before that, since it began)."""
    start = fmt.parse_time(call.get("answered_at")) or fmt.parse_time(call.get("initiated_at")) \
        or fmt.parse_time(call.get("created_at"))
    if start is None:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return max(0.0, ((now or datetime.now(UTC)) - start).total_seconds())


def utterance(entry: Record) -> str:
    """A transcript entry as the board's last utterance: speaker, text cut short."""
    return spoken(entry.get("source"), entry.get("text"))


def spoken(source: Any, text: Any) -> str:
    speaker = fmt.SPEAKER_LABELS.get(str(source), fmt.label(source))
    text = " ".join(str(text or "").split())
    if len(text) > UTTERANCE_CHARS:
        text = text[:UTTERANCE_CHARS - 1] + "…"
    return f"{speaker}: {text}" if text else ""


class LiveCallsModel(RecordTableModel):
    """The calls that are live now; rows come and go with the events."""

    DURATION_COLUMN = 4  # the one column that moves every second
    changed = Signal()
    detail_wanted = Signal(str)  # a call is known only by id; the board fetches its row

    def __init__(self, parent: QObject | None = None) -> None:
        self.agent_names: dict[str, str] = {}
        self.campaign_names: dict[str, str] = {}  # a campaign's call shows its name by the agent
        super().__init__([
            Column("Direction", lambda r: fmt.direction(r.get("direction"))),
            Column("Caller", lambda r: r.get("from_number") or ""),
            Column("Agent", self._agent),
            Column("Status", lambda r: fmt.label(r.get("status"))),
            Column("Duration", lambda r: fmt.duration(live_seconds(r)),
                   align=Qt.AlignmentFlag.AlignRight),
            Column("Last utterance", lambda r: r.get("last_utterance") or ""),
        ], parent)
        self._pending: dict[str, Record | None] = {}  # call id -> fields to merge, None = gone
        self._first_seen: dict[str, float] = {}
        self._highlighted: set[str] = set()  # rows painted highlighted at the last tick

    def _agent(self, record: Record) -> str:
        """The agent's name, and for a campaign's call the campaign's: ``Reminders · Spring``."""
        agent = record.get("agent_name") or self.agent_names.get(record.get("agent_id") or "", "")
        campaign = self.campaign_names.get(record.get("campaign_id") or "", "")
        return f"{agent} · {campaign}" if agent and campaign else agent or campaign

    def unknown_campaigns(self) -> set[str]:
        """Campaigns of the calls on the board whose names are not known yet."""
        return {str(r["campaign_id"]) for r in self.records
                if r.get("campaign_id") and r["campaign_id"] not in self.campaign_names}

    # -- events -----------------------------------------------------------------------------------

    def apply_event(self, event: Event | Mapping[str, Any]) -> None:
        """Take one event in (typed, or its wire dict); rows change at the next ``flush()`` (a
        snapshot at once)."""
        match typed(event):
            case Snapshot(calls=calls):
                live = [c for c in calls or () if c.get("status") in fmt.LIVE_STATUSES]
                self._pending.clear()
                self.set_records(live)
                self.changed.emit()
                for call in live[:SNAPSHOT_DETAILS]:
                    self.detail_wanted.emit(str(call["id"]))
            case CallChange() as change:
                self._call_changed(change)
            case TranscriptFinal(call_id=ident, source=source, text=text):
                line = spoken(source, text)
                if ident and line and (self.row_of(ident) >= 0 or self._pending.get(ident)):
                    self._merge_pending(ident, {"last_utterance": line})

    def _call_changed(self, change: CallChange) -> None:
        ident = change.ident
        if not ident:
            return
        status = change.status
        if status and status not in fmt.LIVE_STATUSES:
            self._pending[ident] = None
            return
        fields = {k: v for k, v in change.call.items() if not isinstance(v, dict | list)}
        # the engine's own changes carry no times: the event's time stands in until the row is
        # fetched, so the duration runs from the start
        known = {**(self.records[self.row_of(ident)] if self.row_of(ident) >= 0 else {}),
                 **(self._pending.get(ident) or {})}
        if change.at and not known.get("initiated_at"):
            fields.setdefault("initiated_at", change.at)
        if change.at and status == "in_progress" and not known.get("answered_at"):
            fields.setdefault("answered_at", change.at)
        self._merge_pending(ident, fields)
        if isinstance(change, CallCreated) or (self.row_of(ident) < 0 and ident not in self._first_seen):
            self._first_seen.setdefault(ident, time.monotonic())
            if "from_number" not in change.call:
                self.detail_wanted.emit(ident)

    def is_listed(self, ident: str) -> bool:
        """The call is on the board, or about to be."""
        return self.row_of(ident) >= 0 or bool(self._pending.get(ident))

    def merge_detail(self, call: Record) -> None:
        """A call's row as fetched (the board asked for it after ``call.created``)."""
        ident = str(call.get("id") or "")
        if not ident or call.get("status") not in fmt.LIVE_STATUSES:
            return
        fields = {k: v for k, v in call.items() if not isinstance(v, dict | list)}
        entries = [e for e in (call.get("transcript") or {}).get("entries") or []
                   if isinstance(e, dict) and e.get("text")]
        if entries:
            fields["last_utterance"] = utterance(max(entries, key=lambda e: e.get("index", 0)))
        pending = self._pending.get(ident)
        if ident in self._pending and pending is None:
            return  # it ended meanwhile
        # What events already said (applied to the row, or still pending) may be newer than the
        # fetched row, which was read when the call began: the fetch only fills the gaps.
        row = self.row_of(ident)
        known = {**(self.records[row] if row >= 0 else {}), **(pending or {})}
        self._pending[ident] = {**fields, **{k: v for k, v in known.items() if v is not None}}

    def _merge_pending(self, ident: str, fields: Record) -> None:
        current = self._pending.get(ident)
        if ident in self._pending and current is None:
            return
        self._pending[ident] = {**(current or {}), **fields, "id": ident}

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> bool:
        """Apply the pending changes; True when rows changed."""
        if not self._pending:
            return False
        pending, self._pending = self._pending, {}
        for ident, fields in pending.items():
            row = self.row_of(ident)
            if fields is None:
                self.remove(ident)
                self._first_seen.pop(ident, None)
            else:
                self.upsert({**(self.records[row] if row >= 0 else {}), **fields})
        self.changed.emit()
        return True

    # -- time -------------------------------------------------------------------------------------

    def tick(self) -> None:
        """A second went by: durations move on, highlights of new calls fade. Only the duration
        column and the rows highlighted until now repaint, not the whole board."""
        if not self.records:
            return
        last = len(self.records) - 1
        duration = self.DURATION_COLUMN
        self.dataChanged.emit(self.index(0, duration), self.index(last, duration),
                              [Qt.ItemDataRole.DisplayRole])
        fading, self._highlighted = self._highlighted, {
            ident for ident in self._first_seen if self.is_new(ident)}
        for ident in fading - self._highlighted:
            row = self.row_of(ident)
            if row >= 0:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1),
                                      [Qt.ItemDataRole.BackgroundRole])

    def is_new(self, ident: str) -> bool:
        seen = self._first_seen.get(ident)
        return seen is not None and time.monotonic() - seen < NEW_CALL_HIGHLIGHT_S

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            record = self.record(index.row())
            if record is not None and self.is_new(str(record.get("id"))):
                return QColor(theme.colors().selection)
            return None
        return super().data(index, role)

    def call_id(self, index: QModelIndex) -> str | None:
        record = self.record(index.row()) if index.isValid() else None
        return str(record["id"]) if record else None
