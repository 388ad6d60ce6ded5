"""What the messages say about a call: its list view, and the end-of-call report (with the call's
analysis: the one made as the call ended, waited for while under way, or made here when the call
has none yet; never twice). Blocking: run in a worker thread. :func:`resend_report` sends the
report again when asked (a re-analysis's ``resend_webhook``), on the event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.calls.analyst import analyse_ended
from engine.calls.serialize import analysis, costs, record, recording_url, report, summary_row
from engine.store import Agent, Call, TranscriptEntry, session_scope, utcnow
from engine.webhooks import messages
from engine.webhooks.deliveries import DELIVERED, FAILED, PENDING, Delivery
from engine.webhooks.sender import Sender
from engine.webhooks.targets import targets_for

REPORT_EVENT = "end-of-call-report"
NO_WEBHOOKS = "no_webhooks"  # a resend's status when no webhook takes the call's report
# One attempt per webhook, each given this long: the API answers with how the resend went
# rather than waiting out the retries of a report sent as the call ends.
RESEND_DEADLINE_S = 10.0


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


def _delivered(delivery: Delivery) -> dict[str, Any]:
    return {"id": delivery.id, "webhook_id": delivery.webhook_id, "status": delivery.status,
            "response_code": delivery.response_code, "error": delivery.last_error}


async def resend_report(db: SqlEngine, sender: Sender, call_id: str) -> dict[str, Any]:
    """The ended call's end-of-call report sent again to its webhooks (one attempt each);
    ``post_call_webhook_status`` follows. Answers ``{"status", "deliveries"}``: ``delivered``,
    ``failed`` (one or more failed), or ``no_webhooks``."""
    state = await asyncio.to_thread(load_call, db, call_id)
    if state is None:
        return {"status": NO_WEBHOOKS, "deliveries": []}
    targets = await targets_for(db, state.organization_id, REPORT_EVENT, state.agent_id)
    if not targets:
        return {"status": NO_WEBHOOKS, "deliveries": []}
    await asyncio.to_thread(set_post_call_status, db, call_id, PENDING)
    loaded = await asyncio.to_thread(load_report, db, call_id)
    if loaded is None:
        return {"status": NO_WEBHOOKS, "deliveries": []}
    state, fields = loaded
    message = messages.end_of_call_report(state.view, fields)
    status = FAILED
    try:
        results = await asyncio.gather(*(
            sender.deliver(t, REPORT_EVENT, message, call_id=call_id, retry=False,
                           deadline_s=RESEND_DEADLINE_S) for t in targets))
        status = DELIVERED if all(d.ok for d in results) else FAILED
    finally:
        await asyncio.to_thread(set_post_call_status, db, call_id, status)
    return {"status": status, "deliveries": [_delivered(d) for d in results]}


__all__ = ["NO_WEBHOOKS", "REPORT_EVENT", "CallState", "load_call", "load_report",
           "resend_report", "set_post_call_status"]
