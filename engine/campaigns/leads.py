"""The dialer's reads and writes of the store (blocking; the dialer runs them in a thread).

The store is the source of truth: a lead is claimed (``calling``, one more attempt, its call's
id) in the same transaction that makes its queued call row, and only if it is still in the state
it was read in, so no lead is dialled twice at once, and an engine that restarts finds every
attempt under way in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from engine.agents.template import fill
from engine.campaigns.outcomes import (
    ENDED_CALL,
    FINAL,
    RETRYABLE,
    Attempt,
    RetryPolicy,
    attempt_outcome,
    next_attempt,
)
from engine.store import (
    Call,
    CallEvent,
    Campaign,
    DoNotCall,
    Lead,
    PhoneNumber,
    row_dict,
    session_scope,
)
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure

ENGINE_RESTART = words.ENGINE_RESTART  # the disconnect reason of a call its engine died during


@dataclass(frozen=True)
class CampaignPlan:
    """What the dialer needs of a running campaign (read once a pass)."""

    id: str
    organization_id: str
    name: str
    agent_id: str | None
    phone_number_id: str | None
    timezone: str
    calling_hours_start: str
    calling_hours_end: str
    calling_days: tuple[int, ...]
    max_concurrent: int
    calls_per_minute: int
    policy: RetryPolicy
    amd: str
    voicemail_message: str

    @classmethod
    def of(cls, row: Campaign) -> CampaignPlan:
        return cls(row.id, row.organization_id, row.name, row.agent_id, row.phone_number_id,
                   row.timezone, row.calling_hours_start, row.calling_hours_end,
                   tuple(row.calling_days or ()), max(row.max_concurrent, 1),
                   max(row.calls_per_minute, 1),
                   RetryPolicy(row.max_attempts, row.retry_busy_minutes,
                               row.retry_no_answer_minutes, row.retry_delay_minutes,
                               tuple(row.retry_on or ())),
                   row.amd, row.voicemail_message)


@dataclass(frozen=True)
class DueLead:
    id: str
    phone_number: str
    timezone: str | None
    status: str


@dataclass(frozen=True)
class LeadChange:
    """A lead's new state, for the ``campaign.progress`` event."""

    organization_id: str
    campaign_id: str
    lead_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_call_id: str | None


def running_campaigns(db: SqlEngine, now: datetime) -> tuple[list[CampaignPlan], list[str]]:
    """The running campaigns, after starting the scheduled ones that are due; and the ids of
    those just started."""
    started: list[str] = []
    with session_scope(db) as session:
        for row in session.exec(select(Campaign).where(Campaign.status == "scheduled",
                                                       col(Campaign.scheduled_at) <= now)):
            row.status, row.started_at, row.updated_at = "running", row.started_at or now, now
            started.append(row.id)
        session.flush()
        plans = [CampaignPlan.of(row) for row in
                 session.exec(select(Campaign).where(Campaign.status == "running")).all()]
    return plans, started


def _due() -> Any:
    return or_(col(Lead.status) == "pending",
               and_(col(Lead.status).in_(RETRYABLE), col(Lead.next_attempt_at).is_not(None)))


def due_leads(db: SqlEngine, campaign_id: str, now: datetime, limit: int) -> list[DueLead]:
    """Leads that may be dialled now (pending, or a retry whose time has come), first come
    first served."""
    with session_scope(db) as session:
        rows = session.exec(
            select(Lead.id, Lead.phone_number, Lead.timezone, Lead.status)
            .where(Lead.campaign_id == campaign_id, _due(),
                   or_(col(Lead.next_attempt_at).is_(None), col(Lead.next_attempt_at) <= now))
            .order_by(col(Lead.next_attempt_at).is_not(None), col(Lead.next_attempt_at),
                      col(Lead.created_at), col(Lead.id))
            .limit(limit)).all()
    return [DueLead(*row) for row in rows]


def next_due(db: SqlEngine, campaign_id: str) -> datetime | None:
    """The earliest time a lead of the campaign waits for."""
    with session_scope(db) as session:
        return session.exec(select(func.min(Lead.next_attempt_at)).where(
            Lead.campaign_id == campaign_id, _due(),
            col(Lead.next_attempt_at).is_not(None))).one()


def defer(db: SqlEngine, until: dict[str, datetime]) -> None:
    """Leads outside their calling hours wait until their window opens."""
    if not until:
        return
    with session_scope(db) as session:
        for lead_id, at in until.items():
            session.execute(update(Lead).where(col(Lead.id) == lead_id,
                                               col(Lead.status).in_(("pending", *RETRYABLE)))
                            .values(next_attempt_at=at))


def variables_of(lead: Lead) -> dict[str, Any]:
    """A lead's dynamic variables: its own, with its name (and first and last name) and
    number filled in unless it has them."""
    parts = lead.name.split()
    found: dict[str, Any] = {"name": lead.name, "phone_number": lead.phone_number,
                             "first_name": parts[0] if parts else "",
                             "last_name": " ".join(parts[1:])}
    return {**found, **dict(lead.variables or {})}


def blocked_numbers(session: Session, organization_id: str, numbers: Iterable[str]) -> set[str]:
    wanted = list(set(numbers))
    if not wanted:
        return set()
    return set(session.exec(select(DoNotCall.number).where(
        DoNotCall.organization_id == organization_id, col(DoNotCall.number).in_(wanted))).all())


def claim(db: SqlEngine, plan: CampaignPlan, lead: DueLead, call_id: str, now: datetime,
          ringing_timeout_s: int) -> tuple[bool, LeadChange | None]:
    """Marks the lead ``calling`` and writes its queued call row, in one transaction:
    (True, change) when the call is to be dialled; (False, change) when the lead's number is on
    the do-not-call list (the lead is then do_not_call); (False, None) when the lead has moved
    on since it was read."""
    with session_scope(db) as session:
        row = session.get(Lead, lead.id)
        if row is None or row.status != lead.status or row.status in ("calling", *FINAL):
            return False, None
        campaign = session.get(Campaign, plan.id)
        if campaign is None or campaign.status != "running":  # paused since the pass read it
            return False, None
        if blocked_numbers(session, plan.organization_id, [row.phone_number]):
            row.status, row.next_attempt_at, row.updated_at = "do_not_call", None, now
            row.outcome = "do_not_call"
            return False, _change(row)
        number = session.get(PhoneNumber, plan.phone_number_id) if plan.phone_number_id else None
        claimed = session.execute(
            update(Lead).where(col(Lead.id) == row.id, col(Lead.status) == row.status)
            .values(status="calling", attempts=Lead.attempts + 1, last_call_id=call_id,
                    next_attempt_at=None, updated_at=now))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False, None
        variables = variables_of(row)
        metadata = {"amd_mode": plan.amd, "campaign_name": plan.name,
                    "voicemail_message": fill(plan.voicemail_message, variables)
                    if plan.voicemail_message else ""}
        session.add(Call(
            id=call_id, organization_id=plan.organization_id, type="phone_call", transport="sip",
            direction="outbound", from_number=number.number if number is not None else "",
            to_number=row.phone_number, agent_id=plan.agent_id, phone_number_id=plan.phone_number_id,
            sip_trunk_id=number.sip_trunk_id if number is not None else None,
            campaign_id=plan.id, lead_id=row.id, status="queued", initiated_at=now,
            created_at=now, updated_at=now, ringing_timeout_seconds=ringing_timeout_s,
            metadata_=metadata, dynamic_variables=variables))
        session.add(CallEvent(organization_id=plan.organization_id, call_id=call_id,
                              provider="engine", event_type="call.queued", status="queued",
                              occurred_at=now, actor=f"campaign:{plan.id}",
                              payload={"to_number": row.phone_number, "lead_id": row.id,
                                       "attempt": row.attempts + 1}))
        session.flush()
        session.refresh(row)
        return True, _change(row)


def _change(row: Lead) -> LeadChange:
    return LeadChange(row.organization_id, row.campaign_id, row.id, row.status, row.attempts,
                      row.next_attempt_at, row.last_call_id)


def settle(db: SqlEngine, call_id: str, now: datetime, *, dead: bool = False) -> LeadChange | None:
    """The lead of an ended call takes the attempt's outcome and its next attempt (and the call
    row its retry_at). None while the call has not ended, or when its lead has moved on (one
    that opted out during the call stays ``do_not_call``, and is answered as it is). With
    ``dead`` (its engine died during it) a call that has not ended is ended here: answered, it
    counts as completed; else as a failure that is tried again. A campaign that is no longer
    running or paused tries nobody again."""
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None or call.lead_id is None:
            return None
        if call.status not in ENDED_CALL:
            if not dead:
                return None
            call.status = "completed" if call.answered_at is not None else "failed"
            call.disconnect_reason, call.ended_at, call.updated_at = ENGINE_RESTART, now, now
            call.metadata_ = {**(call.metadata_ or {}), **CallFailure.of(ENGINE_RESTART).metadata()}
        lead = session.get(Lead, call.lead_id)
        if lead is None or lead.last_call_id != call_id:
            return None
        if lead.status == "do_not_call":  # the person opted out during the call: that stays
            return _change(lead)
        if lead.status != "calling":
            return None
        campaign = session.get(Campaign, lead.campaign_id)
        metadata = call.metadata_ or {}
        code = call.sip_status_code or metadata.get("sip_status_code")  # the leg writes metadata's
        attempt = attempt_outcome(call.status, call.disconnect_reason,
                                  code if isinstance(code, int) else None, metadata)
        if call.disconnect_reason == ENGINE_RESTART and attempt.status == "failed":
            attempt = Attempt("failed", None)
        retry = None
        if campaign is not None and campaign.status in ("running", "paused", "scheduled"):
            retry = next_attempt(attempt, lead.attempts, CampaignPlan.of(campaign).policy, now)
        lead.status, lead.next_attempt_at, lead.outcome = attempt.status, retry, attempt.status
        lead.updated_at = now
        call.retry_at = retry
        return _change(lead)


def calling_leads(db: SqlEngine) -> list[tuple[str, str]]:
    """(campaign id, call id) of every lead with an attempt under way, in any campaign."""
    with session_scope(db) as session:
        return [(c, i) for c, i in session.exec(
            select(Lead.campaign_id, Lead.last_call_id).where(Lead.status == "calling")).all()
            if i is not None]


def finish_if_done(db: SqlEngine, campaign_id: str, now: datetime) -> Campaign | None:
    """Completes a running campaign whose every lead is done (no lead pending, under way, or
    waiting for a retry); the completed campaign, or None."""
    with session_scope(db) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "running":
            return None
        left = session.exec(select(func.count()).select_from(Lead).where(
            Lead.campaign_id == campaign_id,
            or_(col(Lead.status).in_(("pending", "calling")),
                and_(col(Lead.status).in_(RETRYABLE), col(Lead.next_attempt_at).is_not(None))))).one()
        if left:
            return None
        campaign.status, campaign.completed_at, campaign.updated_at = "completed", now, now
        return campaign


def progress(db: SqlEngine, campaign_id: str) -> tuple[int, int]:
    """(leads done with, leads) of a campaign."""
    with session_scope(db) as session:
        total = session.exec(select(func.count()).select_from(Lead).where(
            Lead.campaign_id == campaign_id)).one()
        done = session.exec(select(func.count()).select_from(Lead).where(
            Lead.campaign_id == campaign_id,
            or_(col(Lead.status).in_(FINAL),
                and_(col(Lead.status).in_(RETRYABLE), col(Lead.next_attempt_at).is_(None))))).one()
    return int(done), int(total)


def campaign_row(db: SqlEngine, campaign_id: str) -> dict[str, Any] | None:
    """A campaign as the API shows it."""
    with session_scope(db) as session:
        row = session.get(Campaign, campaign_id)
        return None if row is None else row_dict(row)


__all__ = [
    "ENGINE_RESTART",
    "CampaignPlan",
    "DueLead",
    "LeadChange",
    "blocked_numbers",
    "calling_leads",
    "campaign_row",
    "claim",
    "defer",
    "due_leads",
    "finish_if_done",
    "next_due",
    "progress",
    "running_campaigns",
    "settle",
    "variables_of",
]
