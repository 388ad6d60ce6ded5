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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, update
from sqlmodel import col, select

from engine.campaigns.hours import CallingWindow, WindowError
from engine.campaigns.leads import ENGINE_RESTART, blocked_numbers, variables_of
from engine.campaigns.outcomes import ENDED_CALL
from engine.campaigns.zones import lead_zone
from engine.store import Call, CallEvent, Campaign, Lead, PhoneNumber, ScheduledCallback, session_scope
from engine.store.vocabulary import CallFailure

CALLBACKS_READ = 100  # due callbacks read in one pass


@dataclass(frozen=True)
class Placement:
    """A claimed callback: its queued call is to be placed."""

    callback_id: str
    call_id: str
    campaign_id: str | None


def due(db: SqlEngine, now: datetime, limit: int = CALLBACKS_READ) -> list[str]:
    """Ids of the scheduled callbacks whose time has come, earliest first."""
    with session_scope(db) as session:
        return list(session.exec(
            select(ScheduledCallback.id).where(ScheduledCallback.status == "scheduled",
                                               col(ScheduledCallback.dial_at) <= now)
            .order_by(col(ScheduledCallback.dial_at), col(ScheduledCallback.id)).limit(limit)).all())


def next_due(db: SqlEngine) -> datetime | None:
    """When the earliest scheduled callback is due."""
    with session_scope(db) as session:
        return session.exec(select(func.min(ScheduledCallback.dial_at)).where(
            ScheduledCallback.status == "scheduled")).one()


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


def claim(db: SqlEngine, callback_id: str, call_id: str, now: datetime,
          ringing_timeout_s: int) -> Placement | None:
    """Claims a due callback and writes its queued call, in one transaction: the placement, or
    None when it is not to be placed now (moved to its campaign's next opening, canceled meanwhile,
    or failed: its number is on the do-not-call list, or it has no agent to call with)."""
    with session_scope(db) as session:
        callback = session.get(ScheduledCallback, callback_id)
        if callback is None or callback.status != "scheduled" or callback.dial_at > now:
            return None
        campaign = session.get(Campaign, callback.campaign_id) if callback.campaign_id else None
        lead = session.get(Lead, callback.lead_id) if callback.lead_id else None
        opens = _window_opens(callback, campaign, lead, now)
        if opens > now:
            callback.dial_at, callback.updated_at = opens, now
            return None
        if blocked_numbers(session, callback.organization_id, [callback.to_number]):
            _finish(callback, "failed", "do_not_call", now)
            return None
        source = session.get(Call, callback.call_id) if callback.call_id else None
        agent_id = (campaign.agent_id if campaign is not None else None) or (
            source.agent_id if source is not None else None)
        if agent_id is None:
            _finish(callback, "failed", "no agent to call back with", now)
            return None
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
            return None
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
        return Placement(callback.id, call_id, callback.campaign_id)


def _finish(callback: ScheduledCallback, status: str, reason: str | None, now: datetime) -> None:
    callback.status, callback.status_reason, callback.updated_at = status, reason, now


def settle(db: SqlEngine, call_id: str, now: datetime, *, dead: bool = False) -> str | None:
    """The callback placed by this call takes how the call ended (answered: completed, else
    failed); its new status, or None (no such callback, or the call has not ended). With ``dead``
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
        return callback.status


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


__all__ = ["CALLBACKS_READ", "Placement", "cancel", "claim", "dialing", "due", "next_due", "settle"]
