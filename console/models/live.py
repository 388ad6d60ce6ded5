"""Live calls: the events socket's snapshot, then ``call.*`` events, as table rows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal

from console import formatting as fmt
from console.models.records import Column, RecordTableModel
from engine.client import Record


def _calls_of_snapshot(data: Any) -> list[Record]:
    if isinstance(data, list):
        return [c for c in data if isinstance(c, dict)]
    if isinstance(data, dict):
        for key in ("calls", "live_calls", "items"):
            if isinstance(data.get(key), list):
                return [c for c in data[key] if isinstance(c, dict)]
    return []


def _call_of_event(event: Record) -> Record | None:
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    call = data.get("call") if isinstance(data.get("call"), dict) else data
    if "id" not in call and event.get("call_id"):
        call = {**call, "id": event["call_id"]}
    return call if call.get("id") else None


class LiveCallsModel(RecordTableModel):
    """The calls that are live now; rows come and go with the events."""

    changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        self.agent_names: dict[str, str] = {}
        super().__init__([
            Column("Started", lambda r: fmt.clock(r.get("initiated_at"))),
            Column("Direction", lambda r: fmt.label(r.get("direction"))),
            Column.key("From", "from_number"),
            Column.key("To", "to_number"),
            Column("Agent", lambda r: self.agent_names.get(r.get("agent_id") or "", "")),
            Column("Status", lambda r: fmt.label(r.get("status"))),
        ], parent)

    def apply_event(self, event: Record) -> None:
        kind = str(event.get("type", ""))
        if kind == "snapshot":
            calls = _calls_of_snapshot(event.get("data"))
            self.set_records([c for c in calls if c.get("status") in fmt.LIVE_STATUSES])
            self.changed.emit()
        elif kind.startswith("call."):
            call = _call_of_event(event)
            if call is None:
                return
            row = self.row_of(str(call["id"]))
            merged = {**(self.records[row] if row >= 0 else {}), **call}
            if merged.get("status") in fmt.LIVE_STATUSES and kind != "call.ended":
                self.upsert(merged)
            else:
                self.remove(str(call["id"]))
            self.changed.emit()
