"""Tables of API records (agents, numbers, leads, events...) described by their columns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from console.bridge import ApiBridge
from engine.client import Client, Page, Record

Index = QModelIndex | QPersistentModelIndex
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Column:
    """One column: its header, how a record shows in it, and where the text sits."""

    title: str
    value: Callable[[Record], Any]
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft
    sort_key: str | None = None  # the API's sort_by for this column, when it can sort
    tooltip: str | None = None

    @classmethod
    def key(cls, title: str, key: str, **kwargs: Any) -> Column:
        return cls(title, lambda record: record.get(key) if record.get(key) is not None else "", **kwargs)


class RecordTableModel(QAbstractTableModel):
    """A list of records shown through ``Column``s; ``set_records`` replaces them all."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.records: list[Record] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].title
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(self.columns[section].align | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.columns[section].tooltip
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.records):
            return None
        record = self.records[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:  # a cut cell's tooltip: ElidingDelegate
            value = column.value(record)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        if role == RECORD_ROLE:
            return record
        return None

    def set_records(self, records: list[Record]) -> None:
        self.beginResetModel()
        self.records = list(records)
        self.endResetModel()

    def record(self, row: int) -> Record | None:
        return self.records[row] if 0 <= row < len(self.records) else None

    def row_of(self, ident: str) -> int:
        for row, record in enumerate(self.records):
            if record.get("id") == ident:
                return row
        return -1

    def upsert(self, record: Record) -> None:
        """Replace the record with the same id, or append it."""
        row = self.row_of(str(record.get("id")))
        if row < 0:
            self.beginInsertRows(QModelIndex(), len(self.records), len(self.records))
            self.records.append(record)
            self.endInsertRows()
        else:
            self.records[row] = record
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def remove(self, ident: str) -> None:
        row = self.row_of(ident)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.records[row]
            self.endRemoveRows()


PageFetch = Callable[[Client, int, int], Awaitable[Page]]


class PagedRecordModel(RecordTableModel):
    """Records fetched page by page as the view scrolls (``canFetchMore``/``fetchMore``)."""

    loaded = Signal()
    failed = Signal(str)
    PAGE_SIZE = 100

    def __init__(self, bridge: ApiBridge, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(columns, parent)
        self.bridge = bridge
        self.total = 0
        self._fetch: PageFetch | None = None
        self._next_page: int | None = None
        self._loading = False
        self._generation = 0

    def load(self, fetch: PageFetch | None) -> None:
        """Start over with another source (``None`` empties the table)."""
        self._generation += 1
        self._fetch = fetch
        self._next_page = 1 if fetch else None
        self._loading = False
        self.total = 0
        self.set_records([])
        if fetch is None:
            self.loaded.emit()
        else:
            self._request()

    def reload(self) -> None:
        self.load(self._fetch)

    @property
    def loading(self) -> bool:
        return self._loading

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._next_page is not None and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._request()

    def _request(self) -> None:
        fetch, page, generation = self._fetch, self._next_page, self._generation
        if fetch is None or page is None:
            return
        self._loading = True
        self.bridge.call(lambda api: fetch(api, page, self.PAGE_SIZE),
                         lambda result: self._arrived(generation, page, result),
                         lambda exc: self._failed(generation, exc), context=self)

    def _arrived(self, generation: int, page: int, result: Page) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.total = result.total
        self._next_page = page + 1 if page < result.total_pages and result.items else None
        if result.items:
            first = len(self.records)
            self.beginInsertRows(QModelIndex(), first, first + len(result.items) - 1)
            self.records.extend(result.items)
            self.endInsertRows()
        if page == 1:
            self.loaded.emit()

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._next_page = None
        self.failed.emit(str(exc))
        self.loaded.emit()
