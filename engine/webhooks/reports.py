"""What the messages say about a call: its list view, and the end-of-call report (with the call's
analysis: the one made as the call ended, waited for while under way, or made here when the call
has none yet; never twice). Blocking: run in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.calls.analyst import analyse_ended
from engine.calls.serialize import analysis, costs, record, recording_url, report, summary_row
from engine.store import Agent, Call, TranscriptEntry, session_scope, utcnow


@dataclass
class CallState:
    """A call as the dispatcher needs it: scope, status, and its list view."""

    organization_id: str
    agent_id: str | None
    status: str
    ended_at: datetime | None
    post_call_webhook_status: str | None
    view: dict[str, Any]


def _state(session: Session, call: Call) -> CallState:
    agent = session.get(Agent, call.agent_id) if call.agent_id else None
    view = summary_row(record(call), agent.name if agent is not None else None)
    view["organization_id"] = call.organization_id
    view["metadata"] = call.metadata_ or {}
    return CallState(call.organization_id, call.agent_id, call.status, call.ended_at,
                     call.post_call_webhook_status, view)


def load_call(db: SqlEngine, call_id: str) -> CallState | None:
    with Session(db) as session:
        call = session.get(Call, call_id)
        return _state(session, call) if call is not None else None


def load_report(db: SqlEngine, call_id: str) -> tuple[CallState, dict[str, Any]] | None:
    """The call and its report fields, with its analysis (see :func:`analyse_ended`)."""
    analyse_ended(db, call_id)
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None:
            return None
        entries = list(session.exec(
            select(TranscriptEntry).where(TranscriptEntry.call_id == call_id)
            .order_by(col(TranscriptEntry.index), col(TranscriptEntry.created_at))
        ).all())
        state = _state(session, call)
        full = report(call, entries)
        transcript = call.transcript or "\n".join(f"{e.source}: {e.text}" for e in entries if e.text)
        fields = {
            "ended_reason": call.disconnect_reason,
            "summary": call.summary,
            "analysis": analysis(call),
            "transcript": transcript,
            "messages": [{"role": e["source"], "content": e["text"], "started_at": e["started_at"],
                          "ended_at": e["ended_at"]} for e in full["transcript"]["entries"]],
            "costs": costs(call),
            "cost_micro_usd": call.cost_total_micro_usd,
            "cost_breakdown": full["cost_breakdown"],
            "duration_seconds": call.duration_seconds,
            "recording": {"status": call.recording_status, "duration_ms": call.recording_duration_ms,
                          "url": recording_url(call.id, call.recording_path)},
            "recording_url": recording_url(call.id, call.recording_path),
            "scheduled_callback": full["scheduled_callback"],
        }
    return state, fields


def set_post_call_status(db: SqlEngine, call_id: str, status: str) -> None:
    with db.begin() as conn:
        conn.execute(update(Call).where(col(Call.id) == call_id)
                     .values(post_call_webhook_status=status, updated_at=utcnow()))


__all__ = ["CallState", "load_call", "load_report", "set_post_call_status"]
