"""A campaign's leads as a table: number, name, status, attempts, next attempt (local time with
its zone), last call (a link: a click opens it in the Calls view) and variables; rows follow the
``campaign.progress`` events."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.call_links import CallLinkModel, call_link_text
from console.models.campaign_progress import merge_progress
from console.models.records import Column
from engine.client import Record
from engine.events import CampaignProgress


def last_call(record: Record) -> str:
    return call_link_text(record, "last_call_id")


class CampaignLeadsModel(CallLinkModel):
    """The leads of one campaign, page by page."""

    LAST_CALL_COLUMN = LINK_COLUMN = 5
    LINK_KEY = "last_call_id"

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

    def apply_progress(self, event: CampaignProgress) -> bool:
        """The lead's row as the event says it is now; False when the lead is not shown."""
        row = self.row_of(event.lead_id)
        if row < 0:
            return False
        self.upsert(merge_progress(self.records[row], event))
        return True


__all__ = ["CampaignLeadsModel", "last_call"]
