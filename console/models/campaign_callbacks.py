"""A campaign's scheduled callbacks as a table: when each is due (local time with its zone),
the number, the lead's name, its status, the instructions for the agent, and the call it was
asked for in (a link: a click opens it in the Calls view); rows follow the engine's
``callback.changed`` events."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.campaign_leads import CALL_ID_SHOWN
from console.models.records import Column, Index, PagedRecordModel
from engine.client import Record
from engine.events import CallbackChanged

CANCELABLE = "scheduled"  # only a callback still waiting for its time can be canceled


def status_text(record: Record) -> str:
    """``Failed (do not call)``: the status, with why it failed or was canceled when that says
    more than the status itself."""
    status = str(record.get("status") or "")
    why = str(record.get("status_reason") or "").replace("_", " ")
    shown = fmt.label(status)
    return f"{shown} ({why})" if why and why != status and status in ("failed", "canceled") else shown


def source_call(record: Record) -> str:
    ident = str(record.get("call_id") or "")
    return f"Call {ident[:CALL_ID_SHOWN]}…" if ident else ""


def merge_change(callback: Record, event: CallbackChanged) -> Record:
    """A callback's row with what a ``callback.changed`` event says of it now (the lead's name,
    which the event does not carry, stays)."""
    return {**callback, **event.record()}


class CampaignCallbacksModel(PagedRecordModel):
    """The scheduled callbacks of one campaign, soonest first, page by page."""

    FROM_CALL_COLUMN = 6

    def __init__(self, bridge: ApiBridge, parent: Any = None) -> None:
        super().__init__(bridge, [
            Column(fmt.with_zone("Due"), lambda r: fmt.local_time(r.get("dial_at"), zone=True),
                   tooltip="When the callback is placed: the time asked for, or its campaign's "
                           "next calling hours"),
            Column.key("Number", "to_number"),
            Column.key("Lead", "lead_name"),
            Column("Status", status_text),
            Column.key("Reason", "reason"),
            Column.key("Instructions", "instructions"),
            Column("From call", source_call, tooltip="Click to open the call it was asked for in"),
        ], parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == self.FROM_CALL_COLUMN:
            record = self.record(index.row())
            linked = record is not None and bool(record.get("call_id"))
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
        """The call a click on this cell opens (the From call column of a callback with one)."""
        if not index.isValid() or index.column() != self.FROM_CALL_COLUMN:
            return None
        record = self.record(index.row())
        return str(record["call_id"]) if record and record.get("call_id") else None

    def apply_change(self, event: CallbackChanged) -> bool:
        """The callback's row as the event says it is now; False when it is not shown."""
        row = self.row_of(event.callback_id)
        if row < 0:
            return False
        self.upsert(merge_change(self.records[row], event))
        return True


def cancelable(record: Record | None) -> bool:
    return record is not None and record.get("status") == CANCELABLE


__all__ = ["CANCELABLE", "CampaignCallbacksModel", "cancelable", "merge_change", "source_call",
           "status_text"]
