"""What a call leaves behind: its event log, report (and re-analysis), recording, transfers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import emit
from engine.api.errors import ApiError
from engine.api.query import known_query
from engine.api.routes.calls import call_summary, owned_call
from engine.calls.analysis import reanalyse
from engine.calls.serialize import event, report, transfer
from engine.events import CallUpdated
from engine.store import LIVE_STATUSES, Call, CallEvent, TranscriptEntry, Transfer

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]


def _entries(session: Session, call_id: str) -> list[TranscriptEntry]:
    return list(session.execute(
        select(TranscriptEntry).where(TranscriptEntry.call_id == call_id)  # type: ignore[arg-type]
        .order_by(TranscriptEntry.index, TranscriptEntry.created_at)  # type: ignore[arg-type]
    ).scalars())


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
        return {"items": [transfer(r) for r in rows]}


@router.get("/v1/calls/{call_id}/report", summary="The post-call report")
def call_report(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        return report(call, _entries(session, call_id))


@router.post("/v1/calls/{call_id}/report/finalize", summary="Re-run the post-call analysis")
def finalize_report(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db, expire_on_commit=False) as session:
        call = owned_call(session, principal, call_id)
        if call.status in LIVE_STATUSES:
            raise ApiError(409, f"call {call_id} is still {call.status}; its report is written "
                                "when it ends", "CONFLICT")
        entries = _entries(session, call_id)
        reanalyse(session, call, entries)
        session.commit()
        body = report(call, entries)
        summary = call_summary(session, call)
    emit(request, CallUpdated(organization_id=principal.organization_id, call_id=call_id,
                              call=summary))
    return body


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
