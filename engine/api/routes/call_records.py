"""What a call leaves behind: its event log, report (and re-analysis, one call or many, with the
analysis history), recording, transfers."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import emit
from engine.api.errors import ApiError, invalid, not_found
from engine.api.routes.calls import _statuses as list_statuses
from engine.api.routes.calls import call_summary, owned_call
from engine.api.routes.control import actor_of, require_control
from engine.api.routes.params import known_query, time_param
from engine.calls import listing
from engine.calls.reanalysis import (
    MAX_JOB_CALLS,
    create_job,
    entries_of,
    filter_fields,
    history,
    load_job,
    matching_calls,
    rerun,
    start_job,
)
from engine.calls.serialize import analysis, event, report
from engine.calls.transfers.attempts import transfer_view
from engine.events import AnalysisCompleted, AnalysisJobProgress, CallUpdated
from engine.store import LIVE_STATUSES, AnalysisTemplate, Call, CallEvent, Transfer
from engine.webhooks.reports import resend_report

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]


@router.get("/v1/calls/{call_id}/events", summary="A call's event log, oldest first",
            dependencies=[Depends(known_query)])
def call_events(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    # events queued for the next batch (up to 100 ms) are written first: a console that saw an
    # event on the bus and then asks for the log finds it there
    request.app.state.engine.writer.flush()
    with Session(request.app.state.db) as session:
        owned_call(session, principal, call_id)
        rows = session.execute(
            select(CallEvent).where(CallEvent.call_id == call_id)  # type: ignore[arg-type]
            .order_by(CallEvent.occurred_at, CallEvent.created_at)  # type: ignore[arg-type]
        ).scalars().all()
        return {"events": [event(r) for r in rows]}


@router.get("/v1/calls/{call_id}/transfers", summary="A call's transfers, oldest first",
            dependencies=[Depends(known_query)])
def call_transfers(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        owned_call(session, principal, call_id)
        rows = session.execute(
            select(Transfer).where(Transfer.call_id == call_id)  # type: ignore[arg-type]
            .order_by(Transfer.created_at)  # type: ignore[arg-type]
        ).scalars().all()
        return {"items": [transfer_view(session, r) for r in rows]}


@router.get("/v1/calls/{call_id}/report", summary="The post-call report")
def call_report(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        return report(call, entries_of(session, call_id))


class FinalizeRequest(BaseModel):
    """How to re-run a call's analysis; every field may be left out."""

    model_config = ConfigDict(extra="forbid")

    template_id: str | None = Field(
        default=None, description="an analysis template of the organization to analyse with "
                                  "(default: the call's agent's)")
    resend_webhook: bool = Field(
        default=False, description="send the end-of-call report to the webhooks again")
    force_analysis: bool = Field(
        default=True, description="re-run the analysis (false: only resend the report)")
    retry_webhook: bool = Field(default=False, description="the same as resend_webhook")


def check_template(session: Session, principal: Principal, template_id: str | None) -> None:
    """A 422 naming ``template_id`` when it is not an analysis template of the organization."""
    if template_id is None:
        return
    template = session.get(AnalysisTemplate, template_id)
    if template is None or template.organization_id != principal.organization_id:
        raise invalid("template_id", f"no analysis template {template_id} in this organization")


async def resend(request: Request, call_id: str) -> dict[str, Any]:
    """The call's end-of-call report sent again; how it went."""
    dispatcher = request.app.state.engine.webhooks
    try:
        sender = dispatcher.sender
    except RuntimeError as exc:  # the engine's webhooks are not running
        return {"status": "unavailable", "error": str(exc), "deliveries": []}
    return await resend_report(request.app.state.db, sender, call_id)


@router.post("/v1/calls/{call_id}/report/finalize", summary="Re-run the post-call analysis",
             description="Re-runs the analysis (with `template_id`, an analysis template of the "
                         "organization, instead of the agent's); the analysis it replaces is "
                         "kept in `GET /v1/calls/{id}/analysis/history`, and a value the new "
                         "run finds no evidence of is kept where the template still defines it. "
                         "`resend_webhook` (or `retry_webhook`) sends the end-of-call report "
                         "again; `webhook` says how that went. 409 while the call is live.")
async def finalize_report(request: Request, call_id: str, principal: Auth,
                          body: Annotated[FinalizeRequest | None, Body()] = None
                          ) -> dict[str, Any]:
    asked = body or FinalizeRequest()
    db = request.app.state.db

    def work() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        with Session(db, expire_on_commit=False) as session:
            call = owned_call(session, principal, call_id)
            if call.status in LIVE_STATUSES:
                raise ApiError(409, f"call {call_id} is still {call.status}; its report is "
                                    "written when it ends", "CONFLICT")
            check_template(session, principal, asked.template_id)
            if asked.force_analysis:
                rerun(session, call, template_id=asked.template_id, replaced_by="finalize")
                session.commit()
            return (report(call, entries_of(session, call_id)), call_summary(session, call),
                    analysis(call))

    out, summary, fields = await asyncio.to_thread(work)
    org = principal.organization_id
    emit(request, CallUpdated(organization_id=org, call_id=call_id, call=summary))
    if asked.force_analysis:
        emit(request, AnalysisCompleted(
            organization_id=org, call_id=call_id, status=fields["status"],
            summary=fields["summary"], sentiment=fields["sentiment"],
            sentiment_score=fields["sentiment_score"], outcome=fields["outcome"],
            success=fields["success"], error=fields["error"]))
    out["webhook"] = None
    if asked.resend_webhook or asked.retry_webhook:
        out["webhook"] = await resend(request, call_id)
        out["post_call_webhook_status"] = (out["webhook"]["status"]
                                           if out["webhook"]["status"] != "unavailable"
                                           else out["post_call_webhook_status"])
    return out


@router.get("/v1/calls/{call_id}/analysis/history",
            summary="A call's analysis now and the ones re-runs replaced, newest first",
            dependencies=[Depends(known_query)])
def analysis_history(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        return history(session, owned_call(session, principal, call_id))


class BulkAnalysisRequest(BaseModel):
    """A template re-run over the calls a list filter matches."""

    model_config = ConfigDict(extra="forbid")

    template_id: str | None = Field(
        default=None, description="an analysis template of the organization (default: each "
                                  "call's agent's)")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="the calls list's filters, as its query parameters: status, direction, "
                    "agent_id, campaign_id, phone_number_id, number, since, until, q, "
                    "include_tests…")
    resend_webhook: bool = Field(default=False,
                                 description="send each call's end-of-call report again")


def _filter_value(key: str, kind: Any, value: Any) -> Any:
    if value is None:
        return None
    text = str(kind)
    if "bool" in text:
        if not isinstance(value, bool):
            raise invalid(f"filters.{key}", "true or false")
        return value
    if "tuple" in text:
        items = value if isinstance(value, list) else str(value).split(",")
        return tuple(str(v).strip() for v in items if str(v).strip())
    if isinstance(value, dict | list):
        raise invalid(f"filters.{key}", "a single value")
    return str(value).strip() or None


def call_filter(principal: Principal, raw: dict[str, Any]) -> listing.CallFilter:
    """The calls list's filter from the list's query parameter names (or the filter's own
    field names); a 422 naming ``filters.<name>`` for one the list does not have."""
    fields = {f.name: f.type for f in dataclasses.fields(listing.CallFilter)
              if f.name != "organization_id"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "status":
            values["statuses"] = list_statuses(None if value is None else
                                               ",".join(value) if isinstance(value, list)
                                               else str(value))
        elif key in ("since", "until"):
            values[key] = time_param(f"filters.{key}", None if value is None else str(value),
                                     end=key == "until")
        elif key in fields:
            values[key] = _filter_value(key, fields[key], value)
        else:
            raise invalid(f"filters.{key}", "not a filter of the calls list; one of "
                                            + ", ".join(sorted({*fields, "status"} - {"statuses"})))
    values = {k: v for k, v in values.items() if v is not None}
    return listing.CallFilter(organization_id=principal.organization_id, **values)


@router.post("/v1/calls/analysis", status_code=202,
             summary="Re-run the analysis of every ended call a list filter matches",
             description="Answers 202 with the job at once; the calls are re-analysed in the "
                         "background (each one's previous analysis kept in its history), with "
                         "`analysis_job.progress` events on `WS /v1/events` and the job's state "
                         f"at `GET /v1/calls/analysis/{{job_id}}`. At most {MAX_JOB_CALLS} calls "
                         "a job: a wider filter is a 422 naming `filters`.")
async def analyse_calls(request: Request, principal: Auth,
                        body: BulkAnalysisRequest) -> dict[str, Any]:
    require_control(principal, "re-analysing calls")
    db = request.app.state.db
    with Session(db) as session:
        check_template(session, principal, body.template_id)
        requested_by = actor_of(session, principal)
    chosen = call_filter(principal, body.filters)
    ids = await asyncio.to_thread(matching_calls, db, chosen)
    if len(ids) > MAX_JOB_CALLS:
        raise invalid("filters", f"more than {MAX_JOB_CALLS} calls match; narrow the filters "
                                 "(e.g. since and until)")
    org = principal.organization_id
    job = await asyncio.to_thread(
        create_job, db, org, ids, template_id=body.template_id,
        filters=filter_fields(chosen), resend_webhook=body.resend_webhook,
        requested_by=requested_by)
    bus = request.app.state.bus
    bus.emit(AnalysisJobProgress(organization_id=org, job_id=job["id"], status=job["status"],
                                 total=job["total"], template_id=job["template_id"]))

    async def send_again(call_id: str) -> None:
        await resend(request, call_id)

    start_job(db, org, job["id"], ids, body.template_id, bus.emit,
              send_again if body.resend_webhook else None)
    return job


@router.get("/v1/calls/analysis/{job_id}", summary="A bulk re-analysis job's state")
def analysis_job(request: Request, job_id: str, principal: Auth) -> dict[str, Any]:
    job = load_job(request.app.state.db, principal.organization_id, job_id)
    if job is None:
        raise not_found("analysis job", job_id)
    return job


def recording_file(request: Request, call: Call) -> Path | None:
    """The recording on disk (a relative path is under the data dir), or None."""
    if not call.recording_path:
        return None
    path = Path(call.recording_path)
    if not path.is_absolute():
        path = request.app.state.engine.settings.data_dir / path
    return path if path.is_file() else None


@router.get("/v1/calls/{call_id}/recording", summary="The call's audio (WAV; Range requests work)",
            response_class=FileResponse)
def call_recording(request: Request, call_id: str, principal: Auth) -> FileResponse:
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
    path = recording_file(request, call)
    if path is None:
        raise ApiError(404, f"call {call_id} has no recording yet", "NOT_FOUND")
    media = "audio/wav" if path.suffix.lower() == ".wav" else "application/octet-stream"
    return FileResponse(path, media_type=media, filename=f"call-{call_id}{path.suffix}")


__all__ = ["router"]
