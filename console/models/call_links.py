"""A table column that links to a call: the call's short id drawn as a link (the theme's accent,
underlined), and the call a click on the cell opens in the Calls view."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from console import theme
from console.models.records import Index, PagedRecordModel
from engine.client import Record

CALL_ID_SHOWN = 6  # characters of a call's id shown in a link cell


def call_link_text(record: Record, key: str) -> str:
    """``Call 1a2b3c…`` for the call id under ``key``, or nothing."""
    ident = str(record.get(key) or "")
    return f"Call {ident[:CALL_ID_SHOWN]}…" if ident else ""


class CallLinkModel(PagedRecordModel):
    """A paged model with one column (``LINK_COLUMN``) linking to the call whose id is under
    ``LINK_KEY`` in each record."""

    LINK_COLUMN = -1
    LINK_KEY = "call_id"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == self.LINK_COLUMN:
            record = self.record(index.row())
            linked = record is not None and bool(record.get(self.LINK_KEY))
            if linked and role == Qt.ItemDataRole.ForegroundRole:
                return QColor(theme.colors().accent)
            if linked and role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setUnderline(True)
                return font
            if linked and role == Qt.ItemDataRole.ToolTipRole:
                return "Open this call in the Calls view"
        return super().data(index, role)

    def call_at(self, index: Index) -> str | None:
        """The call a click on this cell opens (the link column of a record with one)."""
        if not index.isValid() or index.column() != self.LINK_COLUMN:
            return None
        record = self.record(index.row())
        return str(record[self.LINK_KEY]) if record and record.get(self.LINK_KEY) else None


__all__ = ["CALL_ID_SHOWN", "CallLinkModel", "call_link_text"]
