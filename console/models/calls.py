"""The calls table: pages of ``GET /v1/calls`` fetched as the view scrolls, keyset cursor.

Only the pages the user scrolls to are ever fetched, so the table opens as fast over a million
calls as over a hundred. Sorting and filtering start over from the first page of a new query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.records import RECORD_ROLE, Column, Index
from engine.client import Client, Page, Record

PAGE_SIZE = 100  # the API's maximum page
RIGHT = Qt.AlignmentFlag.AlignRight


@dataclass(frozen=True)
class CallQuery:
    """The filters and sort of the calls list, as ``list_calls`` parameters."""

    status: str | None = None
    direction: str | None = None
    agent_id: str | None = None
    campaign_id: str | None = None
    since: str | None = None
    until: str | None = None
    q: str | None = None
    sort_by: str = "initiated_at"
    sort_order: str = "desc"

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    def with_(self, **changes: Any) -> CallQuery:
        return replace(self, **changes)


AGENT_COLUMN = 4
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
RECORD = int(RECORD_ROLE)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FAILED_STATUSES = frozenset({"failed", "busy", "no_answer", "canceled"})


def _agent_column(record: Record) -> str:
    return record.get("agent_name") or ""


def _status_tone(record: Record) -> str:
    status = record.get("status")
    if status in FAILED_STATUSES:
        return "danger"
    return "accent" if status in fmt.LIVE_STATUSES else ""


def _sentiment_tone(record: Record) -> str:
    return {"positive": "success", "negative": "danger"}.get(record.get("sentiment") or "", "")


COLUMNS = (
    Column(fmt.with_zone("Time"), lambda r: fmt.short_time(r.get("initiated_at")),
           sort_key="initiated_at"),
    Column("Dir", lambda r: fmt.direction(r.get("direction")), sort_key="direction"),
    Column.key("From", "from_number", sort_key="from_number"),
    Column.key("To", "to_number"),
    Column("Agent", _agent_column, sort_key="agent_id"),
    Column("Status", lambda r: fmt.label(r.get("status")), sort_key="status"),
    Column("Duration", lambda r: fmt.duration(r.get("duration_seconds")), RIGHT,
           sort_key="duration_seconds"),
    Column("Sentiment", lambda r: fmt.label(r.get("sentiment"))),
    Column("Cost", lambda r: fmt.money(r.get("cost_total_micro_usd")), RIGHT,
           sort_key="cost_total_micro_usd"),
)
# The order a column sorts in on its first click: newest, longest and dearest first; text A to Z.
FIRST_ORDERS = {"initiated_at": "desc", "duration_seconds": "desc", "cost_total_micro_usd": "desc"}
# What a header's tooltip says about sorting by it.
SORT_TIPS = {"agent_id": "Click to sort: each agent's calls together; click again to reverse"}
SORT_TIP = "Click to sort; click again to reverse"
NO_SORT_TIP = "The calls list cannot be sorted by this column"
# Columns whose text may be longer than the cell: the whole text is the cell's tooltip.
TOOLTIP_COLUMNS = frozenset({2, 3, AGENT_COLUMN})
# the tone of a column's text (a ``theme.ThemeColors`` field name, "" for the plain text colour)
TONES: dict[int, Callable[[Record], str]] = {5: _status_tone, 7: _sentiment_tone}
ALIGNMENTS = tuple(int(c.align | Qt.AlignmentFlag.AlignVCenter) for c in COLUMNS)


class CallRow:
    """One call as the table shows it: the text and the tone of each cell, formatted once."""

    __slots__ = ("texts", "tones")

    def __init__(self, texts: list[str], tones: list[str]) -> None:
        self.texts = texts
        self.tones = tones


def format_row(record: Record, agent_names: Mapping[str, str]) -> CallRow:
    """A call's cells; pure Python, so pages are formatted on the API worker thread."""
    texts = []
    for column in COLUMNS:
        value = column.value(record)
        texts.append("" if value is None else str(value))
    if not texts[AGENT_COLUMN]:
        texts[AGENT_COLUMN] = agent_names.get(record.get("agent_id") or "", "")
    tones = [""] * len(COLUMNS)
    for index, tone in TONES.items():
        tones[index] = tone(record)
    return CallRow(texts, tones)


def _tone_colors() -> dict[str, QColor]:
    colors = theme.colors()
    return {"danger": QColor(colors.danger), "accent": QColor(colors.accent),
            "success": QColor(colors.success)}


class CallsTableModel(QAbstractTableModel):
    """Calls of one ``CallQuery``; ``loaded`` fires when its first page is in.

    Each page is formatted into ``CallRow``s as it arrives, so painting a cell is a lookup;
    ``CallCellDelegate`` paints straight from them.
    """

    loaded = Signal()
    failed = Signal(str)
    total_changed = Signal(int)

    def __init__(self, bridge: ApiBridge, parent: Any = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.agent_names: dict[str, str] = {}
        self.columns = list(COLUMNS)
        self.query = CallQuery()
        self.records: list[Record] = []
        self.rows: list[CallRow] = []
        self.total = 0
        self.pages_fetched = 0
        self._rows_by_id: dict[str, int] = {}
        self._cursor: str | None = None
        self._next_page: int | None = None
        self._more = False
        self._loading = False
        self._generation = 0
        self._tone_theme = ""
        self._tone_colors: dict[str, QColor] = {}

    @property
    def loading(self) -> bool:
        """True while a page is being fetched."""
        return self._loading

    # -- query -----------------------------------------------------------------------------------

    def set_query(self, query: CallQuery) -> None:
        """Start over with another filter or sort: the table empties and page one is fetched."""
        self._generation += 1
        self.beginResetModel()
        self.query = query
        self.records = []
        self.rows = []
        self._rows_by_id = {}
        self._cursor = None
        self._next_page = 1
        self._more = True
        self._loading = False
        self.pages_fetched = 0
        self.endResetModel()
        self._request()

    def reload(self) -> None:
        self.set_query(self.query)

    def sort_column(self, column: int) -> str | None:
        return self.columns[column].sort_key if 0 <= column < len(self.columns) else None

    def column_of_sort(self, sort_key: str) -> int | None:
        """The column that sorts by ``sort_key``."""
        return next((i for i, c in enumerate(self.columns) if c.sort_key == sort_key), None)

    def set_agent_names(self, names: dict[str, str]) -> None:
        self.agent_names = dict(names)
        for record, row in zip(self.records, self.rows, strict=True):
            row.texts[AGENT_COLUMN] = _agent_column(record) or names.get(record.get("agent_id") or "", "")
        if self.records:
            self.dataChanged.emit(self.index(0, AGENT_COLUMN),
                                  self.index(len(self.records) - 1, AGENT_COLUMN))

    # -- paging ----------------------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._request()

    def _request(self) -> None:
        generation = self._generation
        params = self.query.params() | {"limit": PAGE_SIZE}
        if self._cursor:
            params["cursor"] = self._cursor
        elif self._next_page and self._next_page > 1:
            params["page"] = self._next_page
        names = dict(self.agent_names)

        async def fetch(api: Client) -> tuple[Page, list[CallRow]]:
            page = await api.list_calls(**params)
            return page, [format_row(record, names) for record in page.items]

        self._loading = True
        self.bridge.call(fetch, lambda answer: self._arrived(generation, *answer),
                         lambda exc: self._failed(generation, exc), context=self)

    def _arrived(self, generation: int, page: Page, rows: list[CallRow]) -> None:
        if generation != self._generation:
            return
        self._loading = False
        first_page = self.pages_fetched == 0
        self.pages_fetched += 1
        if page.total != self.total or first_page:
            self.total = page.total
            self.total_changed.emit(page.total)
        self._cursor = page.next_cursor
        if page.next_cursor:
            self._more = bool(page.items)
        else:
            self._next_page = page.page + 1
            self._more = bool(page.items) and page.page < page.total_pages
        fresh = [(record, row) for record, row in zip(page.items, rows, strict=True)
                 if str(record.get("id")) not in self._rows_by_id]
        if fresh:
            start = len(self.records)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            for offset, (record, row) in enumerate(fresh):
                self._rows_by_id[str(record.get("id"))] = start + offset
                self.records.append(record)
                self.rows.append(row)
            self.endInsertRows()
        if first_page:
            self.loaded.emit()

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = False
        self.failed.emit(str(exc))
        if self.pages_fetched == 0:
            self.pages_fetched = 1
            self.loaded.emit()

    # -- rows ------------------------------------------------------------------------------------

    def record(self, row: int) -> Record | None:
        return self.records[row] if 0 <= row < len(self.records) else None

    def formatted(self, row: int) -> CallRow | None:
        """The row's cells as the table shows them."""
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def row_of(self, call_id: str) -> int | None:
        return self._rows_by_id.get(call_id)

    def merge_first_page(self, page: Page) -> None:
        """Calls of a fresh first page that the table lacks go where that page has them (new
        calls at the top of the newest-first list); those it has are refreshed in place."""
        for position, record in enumerate(page.items):
            ident = str(record.get("id"))
            if ident in self._rows_by_id:
                self.update_call(record)
                continue
            at = min(position, len(self.records))
            self.beginInsertRows(QModelIndex(), at, at)
            self.records.insert(at, record)
            self.rows.insert(at, format_row(record, self.agent_names))
            self.endInsertRows()
            self._rows_by_id = {str(r.get("id")): i for i, r in enumerate(self.records)}
        if page.total != self.total:
            self.total = page.total
            self.total_changed.emit(page.total)

    def refresh_top(self) -> None:
        """Fetch the query's first page again and merge it (a call began or changed)."""
        generation = self._generation
        params = self.query.params() | {"limit": PAGE_SIZE}
        self.bridge.call(lambda api: api.list_calls(**params),
                         lambda page: self.merge_first_page(page) if generation == self._generation else None,
                         lambda exc: None, context=self)

    def update_call(self, record: Record) -> None:
        """Refresh a row in place when the call changed (an edit, or an event)."""
        row = self._rows_by_id.get(str(record.get("id")))
        if row is not None:
            self.records[row] = {**self.records[row], **record}
            self.rows[row] = format_row(self.records[row], self.agent_names)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.sort_key is None:
                return NO_SORT_TIP
            return SORT_TIPS.get(column.sort_key, SORT_TIP)
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        row = index.row()
        if not 0 <= row < len(self.rows):
            return None
        if role == DISPLAY:
            return self.rows[row].texts[index.column()]
        if role == ALIGNMENT:
            return ALIGNMENTS[index.column()]
        if role == FOREGROUND:
            tone = self.rows[row].tones[index.column()]
            return self.tone_color(tone) if tone else None
        if role == RECORD:
            return self.records[row]
        if role == TOOLTIP and index.column() in TOOLTIP_COLUMNS:
            return self.rows[row].texts[index.column()] or None
        return None

    def tone_color(self, tone: str) -> QColor:
        """The colour of a tone in the current theme."""
        if self._tone_theme != theme.current():
            self._tone_theme, self._tone_colors = theme.current(), _tone_colors()
        return self._tone_colors[tone]
