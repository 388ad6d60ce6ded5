"""Scheduled callbacks as the dialer places them (blocking store work; the dialer runs it in a
thread).

A callback is due at its ``dial_at`` (first its ``scheduled_at``). One of a campaign is placed
only inside the campaign's calling hours in the lead's zone (the lead's own, its number's region's,
the campaign's): outside them its ``dial_at`` moves to the window's next opening. One without a
campaign is placed at its time. A callback is claimed (``scheduled`` -> ``dialing``, its queued
call row written) in one transaction before its call is placed, so a restarted engine never
places it twice: a ``dialing`` callback whose call did not end is settled as the lead's attempts
are (answered: completed, else failed). Its call carries the reason and instructions as dynamic
variables (``callback_reason``, ``callback_instructions``), which the agent is told at the start
(:func:`engine.agents.call_tools.callback_note`).

A callback of a paused campaign is held (not due) until the campaign resumes; canceling a
campaign cancels its scheduled callbacks (:func:`cancel_campaign_callbacks`), and one of a
canceled campaign found due is canceled rather than placed. Each change answers the callback's
row, which the dialer sends as a ``callback.changed`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from engine.campaigns.hours import CallingWindow, WindowError
from engine.campaigns.leads import ENGINE_RESTART, blocked_numbers, variables_of
from engine.campaigns.outcomes import ENDED_CALL
from engine.campaigns.zones import lead_zone
from engine.store import (
    Call,
    CallEvent,
    Campaign,
    Lead,
    PhoneNumber,
    ScheduledCallback,
    row_dict,
    session_scope,
)
from engine.store.vocabulary import CallFailure

CALLBACKS_READ = 100  # due callbacks read in one pass
HELD_BY = ("paused",)  # a callback of a campaign in one of these waits until it leaves it
CAMPAIGN_CANCELED = "campaign canceled"  # the status reason of a callback its campaign's cancel ended

Row = dict[str, Any]  # a callback's row as a dict (times as ISO text), for its event


@dataclass(frozen=True)
class Placement:
    """A claimed callback: its queued call is to be placed."""

    callback_id: str
    call_id: str
    campaign_id: str | None


def _not_held() -> Any:
    """A callback without a campaign, or of a campaign that does not hold its callbacks."""
    held = select(Campaign.id).where(col(Campaign.status).in_(HELD_BY))
    return or_(col(ScheduledCallback.campaign_id).is_(None),
               col(ScheduledCallback.campaign_id).not_in(held))


def due(db: SqlEngine, now: datetime, limit: int = CALLBACKS_READ) -> list[str]:
    """Ids of the scheduled callbacks whose time has come, earliest first (those of a paused
    campaign wait)."""
    with session_scope(db) as session:
        return list(session.exec(
            select(ScheduledCallback.id).where(ScheduledCallback.status == "scheduled",
                                               col(ScheduledCallback.dial_at) <= now, _not_held())
            .order_by(col(ScheduledCallback.dial_at), col(ScheduledCallback.id)).limit(limit)).all())


def next_due(db: SqlEngine) -> datetime | None:
    """When the earliest scheduled callback is due (one of a paused campaign is not: its
    campaign's resume wakes the dialer)."""
    with session_scope(db) as session:
        return session.exec(select(func.min(ScheduledCallback.dial_at)).where(
            ScheduledCallback.status == "scheduled", _not_held())).one()


def _window_opens(callback: ScheduledCallback, campaign: Campaign | None,
                  lead: Lead | None, now: datetime) -> datetime:
    """``now`` when the callback may be placed now, else when its campaign's hours open."""
    if campaign is None:
        return now
    try:
        window = CallingWindow.of(campaign.calling_hours_start, campaign.calling_hours_end,
                                  campaign.calling_days or ())
    except WindowError:
        return now  # a campaign whose hours never open does not hold a callback back
    tz = lead_zone(lead.timezone if lead is not None else None, callback.to_number, campaign.timezone)
    return window.next_open(now, tz)


@dataclass(frozen=True)
class Claim:
    """What claiming a due callback did: its placement (None: not placed now), and its row
    when it changed (dialling, moved to its campaign's next opening, failed, canceled)."""

    placement: Placement | None = None
    changed: Row | None = None


def claim(db: SqlEngine, callback_id: str, call_id: str, now: datetime,
          ringing_timeout_s: int) -> Claim:
    """Claims a due callback and writes its queued call, in one transaction. It is not placed
    now when it was canceled meanwhile, its campaign is paused (held), its time moved to its
    campaign's next opening, or it ends here: failed (its number is on the do-not-call list, it
    has no agent to call with) or canceled (its campaign was)."""
    with session_scope(db) as session:
        callback = session.get(ScheduledCallback, callback_id)
        if callback is None or callback.status != "scheduled" or callback.dial_at > now:
            return Claim()
        campaign = session.get(Campaign, callback.campaign_id) if callback.campaign_id else None
        if campaign is not None and campaign.status in HELD_BY:
            return Claim()
        if campaign is not None and campaign.status == "canceled":
            _finish(callback, "canceled", CAMPAIGN_CANCELED, now)
            return Claim(changed=row_dict(callback))
        lead = session.get(Lead, callback.lead_id) if callback.lead_id else None
        opens = _window_opens(callback, campaign, lead, now)
        if opens > now:
            callback.dial_at, callback.updated_at = opens, now
            return Claim(changed=row_dict(callback))
        if blocked_numbers(session, callback.organization_id, [callback.to_number]):
            _finish(callback, "failed", "do_not_call", now)
            return Claim(changed=row_dict(callback))
        source = session.get(Call, callback.call_id) if callback.call_id else None
        agent_id = (campaign.agent_id if campaign is not None else None) or (
            source.agent_id if source is not None else None)
        if agent_id is None:
            _finish(callback, "failed", "no agent to call back with", now)
            return Claim(changed=row_dict(callback))
        number_id = (campaign.phone_number_id if campaign is not None else None) or (
            source.phone_number_id if source is not None else None)
        number = session.get(PhoneNumber, number_id) if number_id else None
        from_number = number.number if number is not None else (
            (source.from_number if source.direction == "outbound" else source.to_number)
            if source is not None else "")
        claimed = session.execute(
            update(ScheduledCallback).where(col(ScheduledCallback.id) == callback.id,
                                            col(ScheduledCallback.status) == "scheduled")
            .values(status="dialing", callback_call_id=call_id, updated_at=now))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return Claim()
        before = dict(source.dynamic_variables or {}) if source is not None else {}
        variables = {**(variables_of(lead) if lead is not None else {}), **before,
                     "callback_id": callback.id, "callback_reason": callback.reason,
                     "callback_instructions": callback.instructions}
        session.add(Call(
            id=call_id, organization_id=callback.organization_id, type="phone_call",
            transport="sip", direction="outbound", from_number=from_number,
            to_number=callback.to_number, agent_id=agent_id, phone_number_id=number_id,
            sip_trunk_id=number.sip_trunk_id if number is not None else (
                source.sip_trunk_id if source is not None else None),
            campaign_id=callback.campaign_id, lead_id=callback.lead_id, status="queued",
            initiated_at=now, created_at=now, updated_at=now,
            ringing_timeout_seconds=ringing_timeout_s,
            metadata_={"callback_id": callback.id, "callback_of_call_id": callback.call_id,
                       **({"campaign_name": campaign.name} if campaign is not None else {})},
            dynamic_variables=variables))
        session.add(CallEvent(organization_id=callback.organization_id, call_id=call_id,
                              provider="engine", event_type="call.queued", status="queued",
                              occurred_at=now, actor=f"callback:{callback.id}",
                              payload={"to_number": callback.to_number, "callback_id": callback.id,
                                       "scheduled_at": callback.scheduled_at.isoformat()}))
        session.refresh(callback)
        return Claim(Placement(callback.id, call_id, callback.campaign_id), row_dict(callback))


def _finish(callback: ScheduledCallback, status: str, reason: str | None, now: datetime) -> None:
    callback.status, callback.status_reason, callback.updated_at = status, reason, now


def settle(db: SqlEngine, call_id: str, now: datetime, *, dead: bool = False) -> Row | None:
    """The callback placed by this call takes how the call ended (answered: completed, else
    failed); its row, or None (no such callback, or the call has not ended). With ``dead``
    (its engine died during it) a call that has not ended is ended here."""
    with session_scope(db) as session:
        callback = session.exec(select(ScheduledCallback).where(
            ScheduledCallback.callback_call_id == call_id,
            ScheduledCallback.status == "dialing")).first()
        if callback is None:
            return None
        call = session.get(Call, call_id)
        if call is not None and call.status not in ENDED_CALL:
            if not dead:
                return None
            call.status = "completed" if call.answered_at is not None else "failed"
            call.disconnect_reason, call.ended_at, call.updated_at = ENGINE_RESTART, now, now
            call.metadata_ = {**(call.metadata_ or {}), **CallFailure.of(ENGINE_RESTART).metadata()}
        answered = call is not None and call.answered_at is not None
        reason = None if answered else (call.disconnect_reason or call.status if call is not None
                                        else "call missing")
        _finish(callback, "completed" if answered else "failed", reason, now)
        return row_dict(callback)


def dialing(db: SqlEngine) -> list[str]:
    """The call ids of the callbacks being dialled (by this engine or one that died)."""
    with session_scope(db) as session:
        return [c for c in session.exec(select(ScheduledCallback.callback_call_id).where(
            ScheduledCallback.status == "dialing")).all() if c is not None]


def cancel(db: SqlEngine, organization_id: str, callback_id: str,
           now: datetime) -> ScheduledCallback | None:
    """Cancels a scheduled callback: the canceled row, None when the organization has no such
    callback; ValueError (naming its status) for one that is no longer scheduled."""
    with session_scope(db) as session:
        row = session.get(ScheduledCallback, callback_id)
        if row is None or row.organization_id != organization_id:
            return None
        if row.status != "scheduled":
            raise ValueError(f"the callback is {row.status}; only a scheduled one can be canceled")
        _finish(row, "canceled", "canceled", now)
        return row


def cancel_campaign_callbacks(session: Session, campaign_id: str, now: datetime) -> list[Row]:
    """Cancels the campaign's scheduled callbacks (its cancel, in the caller's transaction);
    their rows."""
    rows = list(session.exec(select(ScheduledCallback).where(
        ScheduledCallback.campaign_id == campaign_id, ScheduledCallback.status == "scheduled")).all())
    for row in rows:
        _finish(row, "canceled", CAMPAIGN_CANCELED, now)
        session.add(row)
    return [row_dict(row) for row in rows]


__all__ = ["CALLBACKS_READ", "CAMPAIGN_CANCELED", "HELD_BY", "Claim", "Placement", "Row", "cancel",
           "cancel_campaign_callbacks", "claim", "dialing", "due", "next_due", "settle"]
