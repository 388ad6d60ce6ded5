"""Campaign events: a lead's state changed as the dialer called it (``campaign.progress``), and
a scheduled callback was made or moved on (``callback.changed``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.events.base import Event, Record, iso, registered, wire_name


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignProgress(Event):
    """A lead of a campaign changed state (claimed for a call, its attempt ended, found on the
    do-not-call list), with the campaign's progress: ``done`` of ``total`` leads are done with."""

    type: ClassVar[str] = "campaign.progress"
    derived: ClassVar[tuple[str, ...]] = ("id",)

    campaign_id: str
    lead_id: str
    lead_status: str
    attempts: int
    done: int
    total: int
    next_attempt_at: str | None = None
    last_call_id: str | None = None

    def payload(self) -> Record:
        return {"id": self.campaign_id, **Event.payload(self)}


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackChanged(Event):
    """A scheduled callback was made (by a supervisor, the API or an agent's tool) or moved on:
    its time moved to its campaign's next opening, its call is being placed (``dialing``), it
    ended (``completed`` / ``failed``), it was canceled. ``call_id`` is the call it was asked
    for in; ``callback_call_id`` the call that places it; ``dial_at`` when it is due."""

    type: ClassVar[str] = "callback.changed"
    call_id_in_data: ClassVar[bool] = True

    callback_id: str = field(metadata=wire_name("id"))
    status: str
    number: str
    dial_at: str | None
    scheduled_at: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    status_reason: str | None = None
    reason: str = ""
    instructions: str = ""
    requested_by: str | None = None
    callback_call_id: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> CallbackChanged:
        """The event of a callback's row (``engine.store.ScheduledCallback`` as a dict: times as
        datetimes or ISO text)."""
        return cls(organization_id=str(row.get("organization_id") or ""),
                   call_id=row.get("call_id"), callback_id=str(row["id"]),
                   status=str(row["status"]), number=str(row.get("to_number") or ""),
                   dial_at=iso(row.get("dial_at")), scheduled_at=iso(row.get("scheduled_at")),
                   campaign_id=row.get("campaign_id"), lead_id=row.get("lead_id"),
                   status_reason=row.get("status_reason"), reason=str(row.get("reason") or ""),
                   instructions=str(row.get("instructions") or ""),
                   requested_by=row.get("requested_by"),
                   callback_call_id=row.get("callback_call_id"))

    def record(self) -> Record:
        """The callback's fields as ``GET /v1/callbacks/{id}`` names them."""
        return {"id": self.callback_id, "organization_id": self.organization_id,
                "call_id": self.call_id, "campaign_id": self.campaign_id,
                "lead_id": self.lead_id, "to_number": self.number,
                "scheduled_at": self.scheduled_at, "dial_at": self.dial_at,
                "status": self.status, "status_reason": self.status_reason,
                "reason": self.reason, "instructions": self.instructions,
                "requested_by": self.requested_by, "callback_call_id": self.callback_call_id}


__all__ = ["CallbackChanged", "CampaignProgress"]
