"""Scheduled callbacks: a supervisor schedules one for a call's other party
(``POST /v1/calls/{id}/callback``), the organization's callbacks are listed (all, or a
campaign's, each with its lead's name) and a scheduled one can be canceled. The brains schedule
theirs with the ``schedule_callback`` tool (:mod:`engine.agents.call_tools`); the dialer places them
(:mod:`engine.campaigns.callbacks`). Each change is sent as a ``callback.changed`` event."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from engine.agents.call_tools import (
    MAX_INSTRUCTIONS,
    MAX_REASON,
    CallbackError,
    CallbackRequest,
    schedule_callback,
)
from engine.api.auth import Principal, principal_from
from engine.api.crud import MAX_LIMIT, emit, get_owned, page_of
from engine.api.errors import ApiError, invalid, not_found
from engine.api.query import known_query
from engine.api.serialize import to_api
from engine.campaigns.callbacks import cancel
from engine.events import CallbackChanged
from engine.store import CALLBACK_STATUSES, Campaign, Lead, ScheduledCallback
from engine.store.timeutil import utcnow

router = APIRouter(tags=["callbacks"])

Auth = Annotated[Principal, Depends(principal_from)]


class CallbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: str = Field(description="ISO 8601 (without an offset: in the callee's time "
                                          "zone), or words such as 'tomorrow at 3 pm'")
    reason: str = Field(default="", max_length=MAX_REASON)
    instructions: str = Field(default="", max_length=MAX_INSTRUCTIONS,
                              description="What the agent placing the callback is told")
    to_number: str | None = Field(default=None, description="E.164; the call's other party when "
                                                            "not given")


def _kick(request: Request) -> None:
    """A dialer pass now: it waits for the earliest callback."""
    dialer = getattr(request.app.state.engine, "dialer", None)
    if dialer is not None:
        dialer.kick()


@router.post("/v1/calls/{call_id}/callback", status_code=201,
             summary="Schedule a callback to the call's other party (a supervisor's); 422 naming "
                     "the field for a time in the past or a bad number")
async def create_callback(request: Request, call_id: str, body: CallbackCreate,
                          principal: Auth) -> dict[str, Any]:
    callback = CallbackRequest(principal.organization_id, call_id, body.scheduled_at,
                               reason=body.reason, instructions=body.instructions,
                               to_number=body.to_number, requested_by="supervisor")
    try:
        row = await run_in_threadpool(schedule_callback, request.app.state.db, callback,
                                      when_field="scheduled_at")
    except LookupError:
        raise not_found("call", call_id) from None
    except CallbackError as exc:
        raise invalid(exc.field, exc.message) from None
    emit(request, CallbackChanged.of(row))
    _kick(request)
    return row


def _page(db: Any, principal: Principal, page: int, limit: int, **filters: str | None) -> dict[str, Any]:
    status = filters.pop("status", None)
    where = [ScheduledCallback.organization_id == principal.organization_id]
    if status is not None:
        if status not in CALLBACK_STATUSES:
            raise invalid("status", f"{status!r} is not one of {', '.join(CALLBACK_STATUSES)}")
        where.append(ScheduledCallback.status == status)
    for name, value in filters.items():
        if value:
            where.append(getattr(ScheduledCallback, name) == value)
    with Session(db) as session:
        total = session.execute(select(func.count()).select_from(ScheduledCallback)
                                .where(*where)).scalar_one()  # type: ignore[arg-type]
        rows = session.execute(select(ScheduledCallback).where(*where)  # type: ignore[arg-type]
                               .order_by(ScheduledCallback.dial_at, ScheduledCallback.id)  # type: ignore[arg-type]
                               .offset((page - 1) * limit).limit(limit)).scalars().all()
        lead_ids = {r.lead_id for r in rows if r.lead_id}
        names = {lead.id: lead.name for lead in session.execute(
            select(Lead).where(col(Lead.id).in_(lead_ids))).scalars()} if lead_ids else {}
        return page_of([{**to_api(r), "lead_name": names.get(r.lead_id or "")} for r in rows],
                       page, limit, total)


@router.get("/v1/callbacks", summary="The organization's scheduled callbacks, soonest first, "
                                     "each with its lead's name (lead_name)",
            dependencies=[Depends(known_query)])
def list_callbacks(request: Request, principal: Auth,
                   page: Annotated[int, Query(ge=1)] = 1,
                   limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
                   campaign_id: str | None = None, status: str | None = None,
                   call_id: str | None = None) -> dict[str, Any]:
    return _page(request.app.state.db, principal, page, limit, campaign_id=campaign_id,
                 status=status, call_id=call_id)


@router.get("/v1/campaigns/{campaign_id}/callbacks",
            summary="A campaign's scheduled callbacks, soonest first, each with its lead's name "
                    "(lead_name)", dependencies=[Depends(known_query)])
def campaign_callbacks(request: Request, campaign_id: str, principal: Auth,
                       page: Annotated[int, Query(ge=1)] = 1,
                       limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
                       status: str | None = None) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        get_owned(session, Campaign, campaign_id, principal, "campaign")
    return _page(request.app.state.db, principal, page, limit, campaign_id=campaign_id,
                 status=status)


@router.get("/v1/callbacks/{callback_id}", summary="One scheduled callback")
def get_callback(request: Request, callback_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        return to_api(get_owned(session, ScheduledCallback, callback_id, principal, "callback"))


@router.delete("/v1/callbacks/{callback_id}",
               summary="Cancel a scheduled callback (409 naming its status once it is dialling or "
                       "done)")
def cancel_callback(request: Request, callback_id: str, principal: Auth) -> dict[str, Any]:
    try:
        row = cancel(request.app.state.db, principal.organization_id, callback_id, utcnow())
    except ValueError as exc:
        raise ApiError(409, str(exc), "CONFLICT", "status") from None
    if row is None:
        raise not_found("callback", callback_id)
    data = to_api(row)
    emit(request, CallbackChanged.of(data))
    _kick(request)
    return data


__all__ = ["CallbackCreate", "router"]
