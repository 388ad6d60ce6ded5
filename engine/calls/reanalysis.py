"""Re-analysis of a call on request (``POST /v1/calls/{id}/report/finalize``) and of every call a
list filter matches (``POST /v1/calls/analysis``), in the background, with its progress on the
bus (``analysis_job.progress``) and in its :class:`~engine.store.AnalysisJob` row.

The calls a job covers are the ones the calls list shows for the same filter
(:func:`engine.calls.listing.conditions`), but for live calls, whose analysis is made when they
end. Each call is re-run in a worker thread (:func:`engine.calls.analysis.reanalyse`), its previous
analysis kept in its history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from engine.calls import listing
from engine.calls.analysis import analysed, reanalyse
from engine.calls.costs import Rates
from engine.events import AnalysisJobProgress, Event
from engine.store import LIVE_STATUSES, AnalysisJob, AnalysisRun, Call, TranscriptEntry, session_scope
from engine.store.timeutil import iso, utcnow

log = logging.getLogger(__name__)

# A job covers at most this many calls: a month of the demo's busy contact centre (5,000 calls)
# fits twice over; a wider filter is refused with the count, to be narrowed.
MAX_JOB_CALLS = 10_000
CHUNK = 25  # calls re-run per worker-thread hop; progress is told after each chunk
HISTORY_LIMIT = 50  # previous analyses a call's history shows, newest first

Emit = Callable[[Event], None]
Resend = Callable[[str], Awaitable[Any]]

_RUNNING: set[asyncio.Task[None]] = set()  # jobs under way (kept from the garbage collector)


def entries_of(session: Session, call_id: str) -> list[TranscriptEntry]:
    return list(session.exec(
        select(TranscriptEntry).where(col(TranscriptEntry.call_id) == call_id)
        .order_by(col(TranscriptEntry.index), col(TranscriptEntry.created_at))).all())


def rerun(session: Session, call: Call, *, template_id: str | None, replaced_by: str,
          client: httpx.Client | None = None, rates: Rates | None = None) -> None:
    """Re-runs the ended call's analysis (with ``template_id``, when given), keeping the one it
    replaces in the call's history. Blocking: run it in a worker thread."""
    reanalyse(session, call, entries_of(session, call.id), client=client, rates=rates,
              template_id=template_id, replaced_by=replaced_by)


def history(session: Session, call: Call, limit: int = HISTORY_LIMIT) -> dict[str, Any]:
    """The call's analysis now and the ones re-runs replaced, newest first."""
    rows = session.exec(
        select(AnalysisRun).where(col(AnalysisRun.call_id) == call.id)
        .order_by(col(AnalysisRun.created_at).desc(), col(AnalysisRun.id).desc())
        .limit(limit)).all()
    return {"call_id": call.id, "current": analysed(call),
            "items": [{"id": r.id, "template_id": r.template_id, "analysis": r.result,
                       "analysed_at": iso(r.analysed_at), "replaced_at": iso(r.created_at),
                       "replaced_by": r.replaced_by} for r in rows]}


def filter_fields(f: listing.CallFilter) -> dict[str, Any]:
    """A filter as JSON, to keep with its job."""
    values = asdict(f) if is_dataclass(f) else {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "organization_id" or value in (None, (), [], False, ""):
            continue
        out[key] = iso(value) if isinstance(value, datetime) else (
            list(value) if isinstance(value, tuple) else value)
    return out


def matching_calls(db: SqlEngine, f: listing.CallFilter) -> list[str]:
    """The ids of the ended calls the filter matches, oldest first (the list's own WHERE)."""
    c = listing.CALL.c
    with db.connect() as conn:
        where = listing.conditions(conn, f)
        stmt = (sa_select(c.id).where(*where, *listing.time_conditions(f),
                                   c.status.not_in(LIVE_STATUSES))
                .order_by(c.initiated_at, c.id).limit(MAX_JOB_CALLS + 1))
        return [str(row[0]) for row in conn.execute(stmt)]


def job_view(job: AnalysisJob) -> dict[str, Any]:
    return {"id": job.id, "job_id": job.id, "status": job.status, "template_id": job.template_id,
            "filters": job.filters, "resend_webhook": job.resend_webhook, "total": job.total,
            "done": job.done, "failed": job.failed, "error": job.error,
            "requested_by": job.requested_by, "created_at": iso(job.created_at),
            "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
            "url": f"/v1/calls/analysis/{job.id}"}


def create_job(db: SqlEngine, organization_id: str, ids: Sequence[str], *,
               template_id: str | None, filters: dict[str, Any], resend_webhook: bool,
               requested_by: str | None) -> dict[str, Any]:
    with Session(db, expire_on_commit=False) as session:
        job = AnalysisJob(organization_id=organization_id, template_id=template_id,
                          filters=filters, resend_webhook=resend_webhook, total=len(ids),
                          requested_by=requested_by)
        session.add(job)
        session.commit()
        return job_view(job)


def load_job(db: SqlEngine, organization_id: str, job_id: str) -> dict[str, Any] | None:
    with Session(db) as session:
        job = session.get(AnalysisJob, job_id)
        if job is None or job.organization_id != organization_id:
            return None
        return job_view(job)


def _update_job(db: SqlEngine, job_id: str, **values: Any) -> dict[str, Any]:
    with session_scope(db) as session:
        job = session.get(AnalysisJob, job_id)
        if job is None:
            return {}
        for name, value in values.items():
            setattr(job, name, value)
        job.updated_at = utcnow()
        session.add(job)
        session.flush()
        return job_view(job)


def _run_chunk(db: SqlEngine, organization_id: str, ids: Sequence[str], template_id: str | None,
               replaced_by: str) -> tuple[list[str], int]:
    """Re-runs a chunk of calls, each in a transaction of its own; the ids done and the count
    that failed (a call gone, live again, or an analysis that broke: logged)."""
    done: list[str] = []
    failed = 0
    for call_id in ids:
        try:
            with session_scope(db) as session:
                call = session.get(Call, call_id)
                if call is None or call.organization_id != organization_id \
                        or call.status in LIVE_STATUSES:
                    failed += 1
                    continue
                rerun(session, call, template_id=template_id, replaced_by=replaced_by)
            done.append(call_id)
        except Exception:
            log.exception("call %s: the re-analysis failed", call_id)
            failed += 1
    return done, failed


def _progress(organization_id: str, view: dict[str, Any]) -> AnalysisJobProgress:
    return AnalysisJobProgress(organization_id=organization_id, job_id=view["id"],
                               status=view["status"], total=view["total"], done=view["done"],
                               failed=view["failed"], template_id=view["template_id"],
                               error=view["error"])


async def run_job(db: SqlEngine, organization_id: str, job_id: str, ids: Sequence[str],
                  template_id: str | None, emit: Emit, resend: Resend | None = None) -> None:
    """The job, chunk by chunk in worker threads, telling its progress after each."""
    view = await asyncio.to_thread(_update_job, db, job_id, status="running",
                                   started_at=utcnow())
    emit(_progress(organization_id, view))
    done = failed = 0
    try:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            made, missed = await asyncio.to_thread(_run_chunk, db, organization_id, chunk,
                                                   template_id, f"job:{job_id}")
            if resend is not None:
                for call_id in made:
                    await resend(call_id)
            done += len(made)
            failed += missed
            view = await asyncio.to_thread(_update_job, db, job_id, done=done, failed=failed)
            emit(_progress(organization_id, view))
    except BaseException as exc:  # cancelled as the engine stops, or a store failure
        stopped = "the engine stopped" if isinstance(exc, asyncio.CancelledError) else str(exc)
        view = await asyncio.shield(asyncio.to_thread(
            _update_job, db, job_id, status="failed", error=stopped[:500], finished_at=utcnow()))
        emit(_progress(organization_id, view))
        raise
    view = await asyncio.to_thread(_update_job, db, job_id, status="completed",
                                   finished_at=utcnow())
    emit(_progress(organization_id, view))


def start_job(db: SqlEngine, organization_id: str, job_id: str, ids: Sequence[str],
              template_id: str | None, emit: Emit, resend: Resend | None = None) -> None:
    """Runs the job in the background on the running loop."""
    task = asyncio.get_running_loop().create_task(
        run_job(db, organization_id, job_id, list(ids), template_id, emit, resend),
        name=f"analysis-job-{job_id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


__all__ = ["CHUNK", "HISTORY_LIMIT", "MAX_JOB_CALLS", "create_job", "entries_of", "filter_fields",
           "history", "job_view", "load_job", "matching_calls", "rerun", "run_job", "start_job"]
