"""A campaign's scheduled callbacks as a table: when each is due (local time with its zone),
the number, the lead's name, its status, the instructions for the agent, and the call it was
asked for in (a link: a click opens it in the Calls view); rows follow the engine's
``callback.changed`` events."""

from __future__ import annotations

from typing import Any

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.call_links import CallLinkModel, call_link_text
from console.models.records import Column
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
    return call_link_text(record, "call_id")


def merge_change(callback: Record, event: CallbackChanged) -> Record:
    """A callback's row with what a ``callback.changed`` event says of it now (the lead's name,
    which the event does not carry, stays)."""
    return {**callback, **event.record()}


class CampaignCallbacksModel(CallLinkModel):
    """The scheduled callbacks of one campaign, soonest first, page by page."""

    FROM_CALL_COLUMN = LINK_COLUMN = 6

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
