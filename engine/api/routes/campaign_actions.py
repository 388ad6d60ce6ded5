"""Campaign actions beyond CRUD: start, pause, resume and cancel (legal moves only; a canceled
campaign's scheduled callbacks are canceled, a paused one's wait until it resumes), a campaign's
figures, removing a lead, and importing many leads at once; and a campaign's record as the API
returns it (:func:`campaign_record`: its columns and the ``actions`` its state allows)."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, func, insert, or_, select, update
from sqlmodel import Session, SQLModel

from engine.api import validators
from engine.api.auth import Principal, principal_from
from engine.api.crud import emit, get_owned
from engine.api.errors import ApiError, invalid, not_found
from engine.api.serialize import to_api
from engine.campaigns import (
    RETRYABLE,
    CallingWindow,
    LifecycleError,
    WindowError,
    campaign_stats,
    check_leads_editable,
    transition,
    zone,
)
from engine.campaigns.callbacks import cancel_campaign_callbacks
from engine.campaigns.lifecycle import with_actions
from engine.events import CallbackChanged, CampaignLeadsImported, CampaignUpdated, record_event
from engine.store import Agent, Campaign, Lead, PhoneNumber, SipTrunk
from engine.store.timeutil import utcnow
from engine.store.types import new_id

router = APIRouter(tags=["campaigns"])

Auth = Annotated[Principal, Depends(principal_from)]

MAX_BULK_LEADS = 10_000
LEAD_FIELDS = ("phone_number", "name", "variables", "timezone")


def campaign_record(row: SQLModel) -> dict[str, Any]:
    """A campaign as the API returns it: its columns, and ``actions`` (start, pause, resume,
    cancel: null when its state allows the action, else the reason it does not)."""
    return with_actions(to_api(row))


def _conflict(message: str, field: str | None = None) -> ApiError:
    return ApiError(409, message, "CONFLICT", field)


def _kick(request: Request) -> None:
    """A dialer pass now (the engine's dialer, when it has one)."""
    dialer = getattr(request.app.state.engine, "dialer", None)
    if dialer is not None:
        dialer.kick()


def _ready_to_dial(session: Session, campaign: Campaign, principal: Principal) -> None:
    """A 4xx naming the field when the campaign cannot place its calls."""
    agent = session.get(Agent, campaign.agent_id) if campaign.agent_id else None
    if agent is None or agent.organization_id != principal.organization_id:
        raise _conflict("the campaign has no agent to place its calls: choose one (agent_id) first",
                        "agent_id")
    leads = session.execute(
        select(func.count()).select_from(Lead).where(Lead.campaign_id == campaign.id)  # type: ignore[arg-type]
    ).scalar_one()
    if not leads:
        raise _conflict("the campaign has no leads to call yet: import or add some first")
    number = session.get(PhoneNumber, campaign.phone_number_id) if campaign.phone_number_id else None
    if number is None or number.organization_id != principal.organization_id:
        raise invalid("phone_number_id", "the campaign has no phone number to call from: choose "
                                         "one (phone_number_id) first")
    trunk = session.get(SipTrunk, number.sip_trunk_id) if number.sip_trunk_id else None
    if trunk is None:
        raise invalid("phone_number_id", f"the campaign's number {number.number} has no SIP trunk "
                                         "to dial through: give the number a trunk (sip_trunk_id)")
    try:
        CallingWindow.of(campaign.calling_hours_start, campaign.calling_hours_end,
                         campaign.calling_days)
        zone("timezone", campaign.timezone)
    except WindowError as exc:
        raise invalid(exc.field, exc.message) from None


def _act(request: Request, campaign_id: str, principal: Principal, action: str) -> dict[str, Any]:
    """Moves the campaign by ``action`` (409 naming its state when it may not)."""
    with Session(request.app.state.db, expire_on_commit=False) as session:
        campaign: Campaign = get_owned(session, Campaign, campaign_id, principal, "campaign")
        now = utcnow()
        try:
            status = transition(action, campaign.status, scheduled_at=campaign.scheduled_at,
                                     now=now)
        except LifecycleError as exc:
            raise _conflict(exc.message, "status") from None
        if status in ("running", "scheduled"):
            _ready_to_dial(session, campaign, principal)
        if status == "running":
            campaign.started_at = campaign.started_at or now
        canceled: list[dict[str, Any]] = []
        if status == "canceled":
            # nobody waiting is called any more; attempts under way end as they end
            session.execute(update(Lead).where(
                Lead.campaign_id == campaign_id,  # type: ignore[arg-type]
                or_(Lead.status == "pending",  # type: ignore[arg-type]
                    and_(Lead.status.in_(RETRYABLE), Lead.next_attempt_at.is_not(None))))  # type: ignore[attr-defined,union-attr]
                .values(status="canceled", next_attempt_at=None, outcome="canceled", updated_at=now))
            canceled = cancel_campaign_callbacks(session, campaign_id, now)  # nor called back
            campaign.completed_at = now
        campaign.status = status
        campaign.updated_at = now
        session.add(campaign)
        session.commit()
        data = campaign_record(campaign)
    emit(request, CampaignUpdated(organization_id=principal.organization_id, record=data))
    for callback in canceled:
        emit(request, CallbackChanged.of(callback))
    _kick(request)
    return data


@router.post("/v1/campaigns/{campaign_id}/start",
             summary="Start a draft campaign (scheduled when its scheduled_at is to come) or a "
                     "scheduled one now")
def start_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    return _act(request, campaign_id, principal, "start")


@router.post("/v1/campaigns/{campaign_id}/pause",
             summary="Pause a running campaign (calls under way go on; nobody new is dialled)")
def pause_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    return _act(request, campaign_id, principal, "pause")


@router.post("/v1/campaigns/{campaign_id}/resume", summary="Resume a paused campaign")
def resume_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    return _act(request, campaign_id, principal, "resume")


@router.post("/v1/campaigns/{campaign_id}/cancel",
             summary="Cancel a campaign: its leads waiting to be called are canceled")
def cancel_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    return _act(request, campaign_id, principal, "cancel")


@router.get("/v1/campaigns/{campaign_id}/stats",
            summary="A campaign's leads by status, attempts, answers (human and machine), "
                    "durations, outcomes, cost and progress")
def get_campaign_stats(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        get_owned(session, Campaign, campaign_id, principal, "campaign")
    return campaign_stats(request.app.state.db, campaign_id)


@router.delete("/v1/campaigns/{campaign_id}/leads/{lead_id}",
               summary="Remove a lead (while the campaign is a draft or paused)")
def delete_lead(request: Request, campaign_id: str, lead_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        campaign: Campaign = get_owned(session, Campaign, campaign_id, principal, "campaign")
        lead = session.get(Lead, lead_id)
        if lead is None or lead.campaign_id != campaign_id:
            raise not_found("lead", lead_id)
        try:
            check_leads_editable(campaign.status, "remove one")
        except LifecycleError as exc:
            raise _conflict(exc.message, "status") from None
        if lead.status == "calling":
            raise _conflict("the lead is being called; remove it once its call has ended", "status")
        session.delete(lead)
        session.commit()
    emit(request, record_event("lead.deleted", organization_id=principal.organization_id,
                               record={"id": lead_id}))
    return {"success": True, "id": lead_id}


class BulkLeads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leads: list[Any]


def _check_lead(item: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(values, None) for a good lead, (None, {"field", "error"}) for a bad one."""
    if not isinstance(item, dict):
        return None, {"field": None, "error": "a lead is an object with phone_number, name, variables"}
    for key in item:
        if key not in LEAD_FIELDS:
            return None, {"field": key, "error": f"unknown field; a lead has {', '.join(LEAD_FIELDS)}"}
    raw = item.get("phone_number")
    if not isinstance(raw, str) or not raw.strip():
        return None, {"field": "phone_number", "error": "required"}
    try:
        number = validators.e164("phone_number", raw)
    except ApiError as exc:
        return None, {"field": "phone_number", "error": exc.message.removeprefix("phone_number: ")}
    name = item.get("name") or ""
    if not isinstance(name, str) or len(name) > 200:
        return None, {"field": "name", "error": "a text of at most 200 characters"}
    variables = item.get("variables") or {}
    if not isinstance(variables, dict):
        return None, {"field": "variables", "error": "an object of names to values"}
    timezone = item.get("timezone") or None
    if timezone is not None:
        try:
            zone("timezone", timezone if isinstance(timezone, str) else repr(timezone))
        except WindowError as exc:
            return None, {"field": "timezone", "error": exc.message}
    return {"phone_number": number, "name": name, "variables": variables, "timezone": timezone}, None


@router.post("/v1/campaigns/{campaign_id}/leads/bulk",
             summary=f"Import up to {MAX_BULK_LEADS} leads; bad ones are reported by index")
def import_leads(request: Request, campaign_id: str, body: BulkLeads, principal: Auth) -> dict[str, Any]:
    if len(body.leads) > MAX_BULK_LEADS:
        raise ApiError(413, f"{len(body.leads)} leads in one request; at most {MAX_BULK_LEADS}",
                       "PAYLOAD_TOO_LARGE", "leads")
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    now = utcnow()
    with Session(request.app.state.db) as session:
        campaign: Campaign = get_owned(session, Campaign, campaign_id, principal, "campaign")
        try:
            check_leads_editable(campaign.status, "add some")
        except LifecycleError as exc:
            raise _conflict(exc.message, "status") from None
        seen: dict[str, int | None] = {number: None for number in session.execute(
            select(Lead.phone_number).where(Lead.campaign_id == campaign_id)).scalars()}  # type: ignore[call-overload]
        for index, item in enumerate(body.leads):
            values, error = _check_lead(item)
            if error is None and values is not None and values["phone_number"] in seen:
                first = seen[values["phone_number"]]
                error = {"field": "phone_number", "error": "already a lead of this campaign" if first is None
                         else f"the same number as lead {first + 1} of this import"}
            if error is not None:
                errors.append({"index": index, **error})
                continue
            assert values is not None
            seen[values["phone_number"]] = index
            rows.append({"id": new_id(), "organization_id": principal.organization_id,
                         "created_at": now, "updated_at": now, "campaign_id": campaign_id,
                         "status": "pending", "attempts": 0, **values})
        if rows:
            session.execute(insert(Lead.__table__), rows)  # type: ignore[attr-defined]
            session.commit()
    if rows:
        emit(request, CampaignLeadsImported(organization_id=principal.organization_id,
                                            campaign_id=campaign_id, imported=len(rows)))
    return {"imported": len(rows), "errors": errors}


__all__ = ["campaign_record", "router"]
