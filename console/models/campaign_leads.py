"""A campaign's leads as a table: number, name, status, attempts, next attempt (local time with
its zone), last call (a link: a click opens it in the Calls view) and variables; rows follow the
``campaign.progress`` events."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.campaign_progress import merge_progress
from console.models.records import Column, Index, PagedRecordModel
from engine.client import Record
from engine.events import CampaignProgress

CALL_ID_SHOWN = 6  # characters of a call's id in the Last call column


def last_call(record: Record) -> str:
    ident = str(record.get("last_call_id") or "")
    return f"Call {ident[:CALL_ID_SHOWN]}…" if ident else ""


class CampaignLeadsModel(PagedRecordModel):
    """The leads of one campaign, page by page."""

    LAST_CALL_COLUMN = 5

    def __init__(self, bridge: ApiBridge, parent: Any = None) -> None:
        super().__init__(bridge, [
            Column.key("Phone number", "phone_number"), Column.key("Name", "name"),
            Column("Status", lambda r: fmt.label(r.get("status"))),
            Column.key("Attempts", "attempts", align=Qt.AlignmentFlag.AlignRight),
            Column(fmt.with_zone("Next attempt"),
                   lambda r: fmt.local_time(r.get("next_attempt_at"), zone=True)),
            Column("Last call", last_call, tooltip="Click to open the lead's last call"),
            Column("Variables", lambda r: ", ".join(
                f"{k}={v}" for k, v in (r.get("variables") or {}).items())),
        ], parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == self.LAST_CALL_COLUMN:
            record = self.record(index.row())
            linked = record is not None and bool(record.get("last_call_id"))
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
        """The call a click on this cell opens (the Last call column of a lead with one)."""
        if not index.isValid() or index.column() != self.LAST_CALL_COLUMN:
            return None
        record = self.record(index.row())
        return str(record["last_call_id"]) if record and record.get("last_call_id") else None

    def apply_progress(self, event: CampaignProgress) -> bool:
        """The lead's row as the event says it is now; False when the lead is not shown."""
        row = self.row_of(event.lead_id)
        if row < 0:
            return False
        self.upsert(merge_progress(self.records[row], event))
        return True


__all__ = ["CampaignLeadsModel", "last_call"]
