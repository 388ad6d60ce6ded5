"""Campaign actions beyond CRUD: start, pause, and importing many leads at once."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, select
from sqlmodel import Session

from engine.api import validators
from engine.api.auth import Principal, principal_from
from engine.api.crud import emit, get_owned
from engine.api.errors import ApiError
from engine.api.serialize import to_api
from engine.events import CampaignLeadsImported, CampaignUpdated
from engine.store import Agent, Campaign, Lead
from engine.store.timeutil import utcnow
from engine.store.types import new_id

router = APIRouter(tags=["campaigns"])

Auth = Annotated[Principal, Depends(principal_from)]

MAX_BULK_LEADS = 10_000
LEAD_FIELDS = ("phone_number", "name", "variables")
STARTABLE = ("draft", "scheduled", "paused")
PAUSABLE = ("running", "scheduled")


def _conflict(message: str) -> ApiError:
    return ApiError(409, message, "CONFLICT")


@router.post("/v1/campaigns/{campaign_id}/start", summary="Start (or resume) a campaign")
def start_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db, expire_on_commit=False) as session:
        campaign: Campaign = get_owned(session, Campaign, campaign_id, principal, "campaign")
        if campaign.status not in STARTABLE:
            raise _conflict(f"the campaign is {campaign.status.replace('_', ' ')}; only a draft, "
                            "scheduled or paused campaign can start")
        agent = session.get(Agent, campaign.agent_id) if campaign.agent_id else None
        if agent is None or agent.organization_id != principal.organization_id:
            raise _conflict("the campaign has no agent to place its calls: choose one (agent_id) first")
        leads = session.execute(
            select(func.count()).select_from(Lead).where(Lead.campaign_id == campaign_id)  # type: ignore[arg-type]
        ).scalar_one()
        if not leads:
            raise _conflict("the campaign has no leads to call yet: import or add some first")
        now = utcnow()
        campaign.status = "running"
        campaign.started_at = campaign.started_at or now
        campaign.updated_at = now
        session.add(campaign)
        session.commit()
        data = to_api(campaign)
    emit(request, CampaignUpdated(organization_id=principal.organization_id, record=data))
    return data


@router.post("/v1/campaigns/{campaign_id}/pause", summary="Pause a running campaign")
def pause_campaign(request: Request, campaign_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db, expire_on_commit=False) as session:
        campaign: Campaign = get_owned(session, Campaign, campaign_id, principal, "campaign")
        if campaign.status not in PAUSABLE:
            raise _conflict(f"the campaign is {campaign.status.replace('_', ' ')}; only a running "
                            "or scheduled campaign can pause")
        campaign.status = "paused"
        campaign.updated_at = utcnow()
        session.add(campaign)
        session.commit()
        data = to_api(campaign)
    emit(request, CampaignUpdated(organization_id=principal.organization_id, record=data))
    return data


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
    return {"phone_number": number, "name": name, "variables": variables}, None


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
        get_owned(session, Campaign, campaign_id, principal, "campaign")
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


__all__ = ["router"]
