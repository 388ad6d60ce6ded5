"""A campaign's figures: its leads by status, its calls' attempts, answers, human and machine
answers, durations, outcomes and cost, and its progress (blocking reads)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from engine.campaigns.outcomes import FINAL, RETRYABLE
from engine.store import Call, Lead, session_scope
from engine.store.campaigns import LEAD_STATUSES

MICRO = 1_000_000


def campaign_stats(db: SqlEngine, campaign_id: str) -> dict[str, Any]:
    with session_scope(db) as session:
        by_status = dict.fromkeys(LEAD_STATUSES, 0)
        waiting = 0
        for status, retry, count in session.exec(
                select(Lead.status, col(Lead.next_attempt_at).is_not(None), func.count())
                .where(Lead.campaign_id == campaign_id)
                .group_by(Lead.status, col(Lead.next_attempt_at).is_not(None))).all():
            by_status[status] = by_status.get(status, 0) + count
            if status in RETRYABLE and retry:
                waiting += count
        attempts = session.exec(select(func.coalesce(func.sum(Lead.attempts), 0)).where(
            Lead.campaign_id == campaign_id)).one()
        calls = session.execute(core_select(  # type: ignore[call-overload]
            Call.status, Call.answered_at, Call.duration_seconds, Call.outcome,
            Call.cost_total_micro_usd, Call.metadata_)
                                .where(col(Call.campaign_id) == campaign_id)).all()
    total = sum(by_status.values())
    done = sum(by_status[s] for s in FINAL) + sum(by_status[s] for s in RETRYABLE) - waiting
    answered = [c for c in calls if c[1] is not None]
    durations = [c[2] for c in answered if c[2] is not None]
    decisions: Counter[str] = Counter()
    for c in answered:
        amd = (c[5] or {}).get("amd_result")
        decisions[amd.get("decision", "unknown") if isinstance(amd, dict) else "unknown"] += 1
    outcomes = Counter(c[3] for c in calls if c[3])
    cost = sum(c[4] or 0 for c in calls)
    return {
        "campaign_id": campaign_id,
        "leads": {"total": total, "by_status": by_status, "waiting_for_retry": waiting},
        "attempts": int(attempts),
        "calls": len(calls),
        "answered": len(answered),
        "answer_rate": round(len(answered) / len(calls), 4) if calls else None,
        "human": decisions.get("human", 0),
        "machine": decisions.get("machine", 0),
        "amd_unknown": decisions.get("unknown", 0),
        "average_duration_seconds": round(sum(durations) / len(durations), 1) if durations else None,
        "outcomes": dict(sorted(outcomes.items())),
        "cost_usd": round(cost / MICRO, 6),
        "progress": {"done": done, "total": total,
                     "fraction": round(done / total, 4) if total else None},
    }


__all__ = ["campaign_stats"]
