"""A call's transcript as a list of utterances (speaker, text, time), final or partial."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from console.models.records import Index
from engine.client import Record

SPEAKER_ROLE = Qt.ItemDataRole.UserRole + 10
TIME_ROLE = Qt.ItemDataRole.UserRole + 11
PARTIAL_ROLE = Qt.ItemDataRole.UserRole + 12
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 13

BRIEFING_TURNS = 6  # the last caller / agent lines a transfer's briefing is made of
BRIEFING_LINE_CHARS = 160
BRIEFING_SPEAKERS = {"user": "Caller", "agent": "Agent", "human_agent": "Agent"}


def briefing(entries: list[Record], turns: int = BRIEFING_TURNS) -> str:
    """A transfer's briefing from the transcript: the last caller and agent lines, each cut short,
    repeated lines and partials left out."""
    lines: list[str] = []
    for entry in entries:
        speaker = BRIEFING_SPEAKERS.get(str(entry.get("source")))
        text = " ".join(str(entry.get("text") or "").split())
        if speaker is None or not text or entry.get("partial"):
            continue
        if len(text) > BRIEFING_LINE_CHARS:
            text = text[:BRIEFING_LINE_CHARS - 1].rsplit(" ", 1)[0] + "…"
        line = f"{speaker}: {text}"
        if not lines or lines[-1] != line:
            lines.append(line)
    return "\n".join(lines[-turns:])


class TranscriptModel(QAbstractListModel):
    """Transcript entries in order. ``set_entries`` for a finished call; ``upsert`` for live text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[Record] = []

    def set_entries(self, entries: list[Record]) -> None:
        self.beginResetModel()
        self.entries = sorted(entries, key=lambda e: e.get("index", 0))
        self.endResetModel()

    def upsert(self, entry: Record) -> None:
        """Add an utterance, or replace the one with the same index (a partial becoming final)."""
        for row, existing in enumerate(self.entries):
            if existing.get("index") == entry.get("index"):
                self.entries[row] = entry
                self.dataChanged.emit(self.index(row), self.index(row))
                return
        self.beginInsertRows(QModelIndex(), len(self.entries), len(self.entries))
        self.entries.append(entry)
        self.endInsertRows()

    def briefing(self) -> str:
        return briefing(self.entries)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.get("text", "")
        if role == SPEAKER_ROLE:
            return entry.get("source", "system")
        if role == TIME_ROLE:
            return entry.get("started_at")
        if role == PARTIAL_ROLE:
            return bool(entry.get("partial"))
        if role == ENTRY_ROLE:
            return entry
        return None
