"""A campaign's progress: a lead's state changed as the dialer called it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.events.base import Event, Record, registered


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


__all__ = ["CampaignProgress"]
