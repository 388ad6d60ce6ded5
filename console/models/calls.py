"""The calls table: pages of ``GET /v1/calls`` fetched as the view scrolls, keyset cursor.

Only the pages the user scrolls to are ever fetched, so the table opens as fast over a million
calls as over a hundred. Sorting and filtering start over from the first page of a new query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.records import RECORD_ROLE, Column, Index
from engine.client import Page, Record

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


def _sentiment(record: Record) -> str:
    return fmt.label(record.get("sentiment"))


class CallsTableModel(QAbstractTableModel):
    """Calls of one ``CallQuery``; ``loaded`` fires when its first page is in."""

    loaded = Signal()
    failed = Signal(str)
    total_changed = Signal(int)

    def __init__(self, bridge: ApiBridge, parent: Any = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.agent_names: dict[str, str] = {}
        self.columns = [
            Column("Time", lambda r: fmt.short_time(r.get("initiated_at")), sort_key="initiated_at"),
            Column("Dir", lambda r: fmt.direction(r.get("direction"))),
            Column.key("From", "from_number"),
            Column.key("To", "to_number"),
            Column("Agent", self._agent_name),
            Column("Status", lambda r: fmt.label(r.get("status"))),
            Column("Duration", lambda r: fmt.duration(r.get("duration_seconds")), RIGHT,
                   sort_key="duration_seconds"),
            Column("Sentiment", _sentiment),
            Column("Cost", lambda r: fmt.money(r.get("cost_total_micro_usd")), RIGHT),
        ]
        self.query = CallQuery()
        self.records: list[Record] = []
        self.total = 0
        self.pages_fetched = 0
        self._rows_by_id: dict[str, int] = {}
        self._cursor: str | None = None
        self._next_page: int | None = None
        self._more = False
        self._loading = False
        self._generation = 0

    def _agent_name(self, record: Record) -> str:
        return record.get("agent_name") or self.agent_names.get(record.get("agent_id") or "", "")

    # -- query -----------------------------------------------------------------------------------

    def set_query(self, query: CallQuery) -> None:
        """Start over with another filter or sort: the table empties and page one is fetched."""
        self._generation += 1
        self.beginResetModel()
        self.query = query
        self.records = []
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

    def set_agent_names(self, names: dict[str, str]) -> None:
        self.agent_names = dict(names)
        if self.records:
            self.dataChanged.emit(self.index(0, 4), self.index(len(self.records) - 1, 4))

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
        self._loading = True
        self.bridge.call(lambda api: api.list_calls(**params),
                         lambda page: self._arrived(generation, page),
                         lambda exc: self._failed(generation, exc), context=self)

    def _arrived(self, generation: int, page: Page) -> None:
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
        items = [r for r in page.items if str(r.get("id")) not in self._rows_by_id]
        if items:
            start = len(self.records)
            self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
            for offset, record in enumerate(items):
                self._rows_by_id[str(record.get("id"))] = start + offset
            self.records.extend(items)
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

    def row_of(self, call_id: str) -> int | None:
        return self._rows_by_id.get(call_id)

    def update_call(self, record: Record) -> None:
        """Refresh a row in place when the call changed (an edit, or an event)."""
        row = self._rows_by_id.get(str(record.get("id")))
        if row is not None:
            self.records[row] = {**self.records[row], **record}
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
            return "Click to sort" if column.sort_key else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.records):
            return None
        record = self.records[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = column.value(record)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _status_color(record, column.title)
        if role == RECORD_ROLE:
            return record
        return None


def _status_color(record: Record, title: str) -> QColor | None:
    colors = theme.colors()
    if title == "Status":
        status = record.get("status")
        if status in ("failed", "busy", "no_answer", "canceled"):
            return QColor(colors.danger)
        if status in fmt.LIVE_STATUSES:
            return QColor(colors.accent)
    if title == "Sentiment":
        sentiment = record.get("sentiment")
        if sentiment == "positive":
            return QColor(colors.success)
        if sentiment == "negative":
            return QColor(colors.danger)
    return None
