"""A rehearsal's report as Qt tables: a row per persona (goal reached or why not, turns,
voice-to-voice latency, barge-ins, idle prompts, transfers, words misheard) coloured by what
changed since the previous rehearsal, and that comparison as a table of its own.

The report is the engine's (``GET /v1/rehearsals/{id}``); these models only lay it out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from console import formatting as fmt
from console import theme
from engine.client import Record

Index = QModelIndex | QPersistentModelIndex
BAR_ROLE = Qt.ItemDataRole.UserRole + 10  # 0..1: how much of the cell a painted bar fills
CALL_ID_ROLE = Qt.ItemDataRole.UserRole + 11

# The p95 a latency bar is drawn against: 2 s of voice-to-voice is where a caller starts to ask
# "hello?" (the demo agents on whisper tiny.en answer in 0.6-1.4 s on a 2-core machine); a slower
# rehearsal widens the scale to its own slowest persona.
LATENCY_SCALE_MS = 2000.0
# WER drawn against 50 %: past half the words misheard the bar is full either way.
WER_SCALE = 0.5

STATUS_TEXT = {"queued": "Queued", "running": "Running", "completed": "Completed", "failed": "Failed"}
FIGURES = {"goal_reached": "Goal reached", "voice_to_voice_p95_ms": "Voice-to-voice p95",
           "voice_to_voice_p50_ms": "Voice-to-voice p50", "wer": "Words misheard (WER)",
           "barge_ins": "Barge-ins", "idle_prompts": "Idle prompts", "transfers": "Transfers",
           "turns": "Turns"}


def percent(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.1f} %"


def figure_text(figure: str, value: Any) -> str:
    """One compared figure as it reads: ``1,240 ms``, ``12.5 %``, ``yes``/``no``, ``3``."""
    if value is None:
        return "—"
    if figure == "goal_reached":
        return "yes" if value else "no"
    if figure.endswith("_ms"):
        return f"{round(float(value)):,} ms"
    if figure == "wer":
        return percent(value)
    return str(value)


def wer_of(row: Record) -> float | None:
    misheard = row.get("words_misheard")
    return float(misheard["wer"]) if isinstance(misheard, dict) and misheard.get("wer") is not None \
        else None


def why_text(row: Record) -> str:
    """Why a persona's goal was not reached, a line per reason ("" when it was)."""
    return "\n".join(f"• {reason}" for reason in row.get("why") or [])


def changes_by_persona(report: Record | None) -> dict[str, Record]:
    """The report's comparison with the previous rehearsal, keyed by persona."""
    comparison = (report or {}).get("comparison") or {}
    return {str(p["persona"]): p for p in comparison.get("personas") or []}


def rehearsal_label(rehearsal: Record) -> str:
    """How a rehearsal reads in a list: its time, its status and its goals reached."""
    when = fmt.short_time(rehearsal.get("created_at"))
    status = str(rehearsal.get("status") or "")
    totals = (rehearsal.get("report") or {}).get("totals") or {}
    if status == "completed" and totals:
        return f"{when}  ·  {totals.get('goals_reached', 0)}/{totals.get('personas', 0)} goals"
    return f"{when}  ·  {STATUS_TEXT.get(status, status)}"


@dataclass(frozen=True)
class ReportColumn:
    title: str
    text: Callable[[Record], str]
    figure: str | None = None  # the compared figure this column shows
    bar: Callable[[Record], float | None] | None = None  # its raw value, for a bar
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignRight
    tooltip: str = ""


def _goal(row: Record) -> str:
    return "✓ Reached" if row.get("goal_reached") else "✗ Missed"


def _count(key: str) -> Callable[[Record], str]:
    return lambda row: str(row.get(key) if row.get(key) is not None else "")


def _ms(key: str) -> Callable[[Record], str]:
    return lambda row: figure_text(key, row.get(key)) if row.get(key) is not None else "—"


COLUMNS = (
    ReportColumn("Persona", lambda r: fmt.label(str(r.get("persona") or "")),
                 align=Qt.AlignmentFlag.AlignLeft,
                 tooltip="The simulated caller (GET /v1/personas)"),
    ReportColumn("Goal", _goal, "goal_reached", align=Qt.AlignmentFlag.AlignLeft,
                 tooltip="Whether the persona reached its goal; hover for why not"),
    ReportColumn("Turns", _count("turns"), "turns", tooltip="Lines the persona said"),
    ReportColumn("V2V p50", _ms("voice_to_voice_p50_ms"), "voice_to_voice_p50_ms",
                 tooltip="Voice-to-voice latency, median: the caller stops, the agent starts"),
    ReportColumn("V2V p95", _ms("voice_to_voice_p95_ms"), "voice_to_voice_p95_ms",
                 bar=lambda r: r.get("voice_to_voice_p95_ms"),
                 tooltip="Voice-to-voice latency, 95th percentile"),
    ReportColumn("Barge-ins", _count("barge_ins"), "barge_ins"),
    ReportColumn("Idle prompts", _count("idle_prompts"), "idle_prompts"),
    ReportColumn("Transfers", _count("transfers"), "transfers"),
    ReportColumn("WER", lambda r: percent(wer_of(r)) or "—", "wer", bar=wer_of,
                 tooltip="Words misheard: the persona's lines against the agent's transcript"),
)
GOAL_COLUMN = 1
P95_COLUMN = 4
WER_COLUMN = 8


class RehearsalReportModel(QAbstractTableModel):
    """A rehearsal report's personas, a row each; cells the comparison says got better are
    green, worse red (the tooltip says before → after)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Record] = []
        self.totals: Record = {}
        self.changes: dict[str, Record] = {}
        self._latency_scale = LATENCY_SCALE_MS

    def set_report(self, report: Record | None) -> None:
        self.beginResetModel()
        self.rows = list((report or {}).get("personas") or [])
        self.totals = dict((report or {}).get("totals") or {})
        self.changes = changes_by_persona(report)
        slowest = max((float(r["voice_to_voice_p95_ms"]) for r in self.rows
                       if r.get("voice_to_voice_p95_ms") is not None), default=0.0)
        self._latency_scale = max(LATENCY_SCALE_MS, slowest)
        self.endResetModel()

    def row(self, index: int) -> Record | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        return None

    def change(self, row: Record, figure: str | None) -> Record | None:
        if figure is None:
            return None
        persona = self.changes.get(str(row.get("persona")))
        for change in (persona or {}).get("changes") or []:
            if change.get("figure") == figure:
                return change  # type: ignore[no-any-return]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row(index.row()) if index.isValid() else None
        if row is None:
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        if role == CALL_ID_ROLE:
            return row.get("call_id")
        if role == BAR_ROLE and column.bar is not None:
            value = column.bar(row)
            if value is None:
                return None
            scale = self._latency_scale if index.column() == P95_COLUMN else WER_SCALE
            return min(1.0, float(value) / scale)
        change = self.change(row, column.figure)
        if role == Qt.ItemDataRole.ForegroundRole:
            if index.column() == GOAL_COLUMN:
                colors = theme.colors()
                return QColor(colors.success if row.get("goal_reached") else colors.danger)
            if change is not None and change.get("verdict") in ("better", "worse"):
                colors = theme.colors()
                return QColor(colors.success if change["verdict"] == "better" else colors.danger)
            return None
        if role == Qt.ItemDataRole.FontRole and (change is not None or index.column() == GOAL_COLUMN):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, index.column(), change)
        return None

    def _tooltip(self, row: Record, column: int, change: Record | None) -> str | None:
        lines: list[str] = []
        if column == 0:
            lines.append(str(row.get("goal") or ""))
        if column == GOAL_COLUMN:
            lines.append(f"Goal: {row.get('goal') or ''}")
            lines.append("Reached." if row.get("goal_reached") else f"Not reached:\n{why_text(row)}")
        if column == WER_COLUMN:
            misheard = row.get("words_misheard")
            if isinstance(misheard, dict):
                lines.append(f"{misheard.get('errors')} of {misheard.get('words')} words misheard "
                             f"({misheard.get('substitutions')} substituted, "
                             f"{misheard.get('deletions')} missed, "
                             f"{misheard.get('insertions')} added)")
        if change is not None:
            figure = str(change.get("figure"))
            lines.append(f"Since the previous rehearsal: {figure_text(figure, change.get('before'))}"
                         f" → {figure_text(figure, change.get('after'))} ({change.get('verdict')})")
        text = "\n".join(line for line in lines if line)
        return text or None


@dataclass(frozen=True)
class ComparisonLine:
    persona: str
    figure: str  # "" for a persona with nothing to list
    before: str
    after: str
    verdict: str  # better, worse, changed, same, new


def comparison_lines(report: Record | None) -> list[ComparisonLine]:
    """The comparison as lines: a line per changed figure, one per persona new or unchanged."""
    lines: list[ComparisonLine] = []
    for name, persona in changes_by_persona(report).items():
        if persona.get("new"):
            lines.append(ComparisonLine(fmt.label(name), "", "", "", "new"))
            continue
        changes = persona.get("changes") or []
        if not changes:
            lines.append(ComparisonLine(fmt.label(name), "", "", "", "same"))
        for change in changes:
            figure = str(change.get("figure"))
            lines.append(ComparisonLine(fmt.label(name), FIGURES.get(figure, figure),
                                        figure_text(figure, change.get("before")),
                                        figure_text(figure, change.get("after")),
                                        str(change.get("verdict"))))
    return lines


VERDICT_TEXT = {"better": "▲ better", "worse": "▼ worse", "changed": "changed",
                "same": "no change", "new": "new in this rehearsal"}


class ComparisonModel(QAbstractTableModel):
    """What changed since the previous rehearsal: persona, figure, before → after, verdict."""

    HEADERS = ("Persona", "Figure", "Before", "After", "")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.lines: list[ComparisonLine] = []

    def set_report(self, report: Record | None) -> None:
        self.beginResetModel()
        self.lines = comparison_lines(report)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.lines):
            return None
        line = self.lines[index.row()]
        first = index.row() == 0 or self.lines[index.row() - 1].persona != line.persona
        if role == Qt.ItemDataRole.DisplayRole:
            return (line.persona if first else "", line.figure, line.before,
                    line.after, VERDICT_TEXT.get(line.verdict, line.verdict))[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() >= 2:
            colors = theme.colors()
            color = {"better": colors.success, "worse": colors.danger}.get(line.verdict)
            if index.column() == 2 and color is not None:
                color = colors.muted
            return QColor(color or colors.muted)
        if role == Qt.ItemDataRole.FontRole and index.column() == 0:
            font = QFont()
            font.setBold(True)
            return font
        return None


__all__ = ["BAR_ROLE", "CALL_ID_ROLE", "COLUMNS", "ComparisonLine", "ComparisonModel",
           "RehearsalReportModel", "changes_by_persona", "comparison_lines", "figure_text",
           "rehearsal_label", "why_text"]
