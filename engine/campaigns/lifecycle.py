"""A campaign's states and the actions that move it between them (pure).

    draft ──start──▶ scheduled ──(its time)──▶ running ◀──resume── paused
      │                 │  start (now) ──────────▲  └──pause──▶ ──┘
      └──── cancel ─────┴──────── cancel ───────────────────────────▶ canceled
                                                running ──(no lead left)──▶ completed

``start`` on a draft schedules it when its ``scheduled_at`` is still to come, else runs it;
``start`` on a scheduled campaign runs it now. Completed and canceled are final.

A person sets a lead's status only to :data:`SETTABLE_LEAD_STATUSES` (:func:`check_lead_status`):
``pending`` queues it again (a failed or unanswered lead, say), ``do_not_call`` stops its calls.
The others (``calling``, ``completed``, ``busy``, ...) say what the dialer did and are its own.

A campaign's record, as the API and its events show it, carries ``actions`` (:func:`with_actions`):
each action with null when the campaign's state allows it, else the reason it does not (the
refusal the action would meet), so a client enables its buttons from the engine's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

ACTIONS: dict[str, tuple[str, ...]] = {
    "start": ("draft", "scheduled"),
    "pause": ("running",),
    "resume": ("paused",),
    "cancel": ("draft", "scheduled", "running", "paused"),
}
LEADS_EDITABLE = ("draft", "paused")  # leads are added and removed only while nobody is dialled
# the lead statuses a person may set (PATCH of a lead); the rest are the dialer's
SETTABLE_LEAD_STATUSES = ("pending", "do_not_call")
FINAL_CAMPAIGN = ("completed", "canceled")  # a campaign that dials nobody again


class LifecycleError(Exception):
    """An action the campaign's state does not allow; the message names the state."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _listed(states: tuple[str, ...]) -> str:
    words = [f"a {s}" if s != "scheduled" else "a scheduled" for s in states]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def blocker(action: str, status: str) -> str | None:
    """Why a campaign in ``status`` cannot ``action`` (what :func:`transition` refuses with), or
    None when it can."""
    allowed = ACTIONS[action]
    if status in allowed:
        return None
    return f"the campaign is {status}; only {_listed(allowed)} campaign can {action}"


def actions(status: str) -> dict[str, str | None]:
    """Each action of :data:`ACTIONS` with its :func:`blocker` for a campaign in ``status``."""
    return {action: blocker(action, status) for action in ACTIONS}


def with_actions(record: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign's record (the API's JSON) with ``actions`` for its ``status``."""
    return {**record, "actions": actions(str(record["status"]))}


def transition(action: str, status: str, *, scheduled_at: datetime | None = None,
          now: datetime | None = None) -> str:
    """The state ``action`` moves a campaign in ``status`` to; LifecycleError when it may not."""
    refusal = blocker(action, status)
    if refusal is not None:
        raise LifecycleError(status, refusal)
    if action == "start":
        future = scheduled_at is not None and now is not None and scheduled_at > now
        return "scheduled" if status == "draft" and future else "running"
    return {"pause": "paused", "resume": "running", "cancel": "canceled"}[action]


def check_leads_editable(status: str, change: str = "change its leads") -> None:
    """LifecycleError unless leads may be added or removed in ``status``."""
    if status not in LEADS_EDITABLE:
        raise LifecycleError(status, f"the campaign is {status}; leads are added and removed "
                                     f"only while it is a draft or paused (pause it to {change})")


def check_lead_status(wanted: str, current: str, campaign_status: str) -> None:
    """LifecycleError unless a person may set a lead in ``current`` to ``wanted`` now: a lead
    being called keeps its call's outcome, and a lead of a campaign that is over is not queued
    again. ``wanted`` is one of :data:`SETTABLE_LEAD_STATUSES` (the API's schema checks it)."""
    if wanted == current:
        return
    if current == "calling":
        raise LifecycleError(campaign_status, "the lead is being called; its status is set by how "
                                              "the call ends")
    if wanted == "pending" and campaign_status in FINAL_CAMPAIGN:
        raise LifecycleError(campaign_status, f"the campaign is {campaign_status}; it calls nobody "
                                              "again, so a lead cannot be queued")


__all__ = ["ACTIONS", "FINAL_CAMPAIGN", "LEADS_EDITABLE", "SETTABLE_LEAD_STATUSES", "LifecycleError",
           "actions", "blocker", "check_lead_status", "check_leads_editable", "transition",
           "with_actions"]
