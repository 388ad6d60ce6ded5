"""Calls as the API shows them: light summary rows for lists, the full detail, the report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.calls import transcripts
from engine.calls.costs import AMOUNT_UNIT, CURRENCY, cost_lines, price_unit
from engine.store import Call, CallEvent, TranscriptEntry, Transfer
from engine.store.columns import jsonable
from engine.store.columns import row_dict as record
from engine.store.timeutil import iso

# The columns of a list row: no transcript text, no per-turn latency; of the JSON columns only
# the call's metadata and tags.
SUMMARY_FIELDS: tuple[str, ...] = (
    "id", "type", "transport", "direction", "from_number", "to_number", "agent_id",
    "phone_number_id", "campaign_id", "lead_id", "user_id", "status", "initiated_at",
    "answered_at", "ended_at", "duration_seconds", "disconnect_reason", "recording_status",
    "summary", "sentiment", "sentiment_score", "outcome", "success", "analysis_status",
    "cost_total_micro_usd", "latency_p50_ms", "latency_p95_ms", "is_test", "rating", "tags",
    "metadata", "created_at", "updated_at",
)
# What a list row is read from: its fields, and the recording's path (its URL, when there is one)
SUMMARY_COLUMNS: tuple[str, ...] = (*SUMMARY_FIELDS, "recording_path")
# The keys of a list row, in order
ROW_FIELDS: tuple[str, ...] = (*SUMMARY_FIELDS, "recording_url", "agent_name")


def recording_url(call_id: str, recording_path: str | None) -> str | None:
    return f"/v1/calls/{call_id}/recording" if recording_path else None


def transcript_url(call_id: str) -> str:
    return f"/v1/calls/{call_id}/transcript"


def summary_row(values: Mapping[str, Any], agent_name: str | None) -> dict[str, Any]:
    """A list row from the selected summary columns (``SUMMARY_COLUMNS``)."""
    out = {name: jsonable(values[name]) for name in SUMMARY_FIELDS}
    out["recording_url"] = recording_url(str(values["id"]), values.get("recording_path"))
    out["agent_name"] = agent_name
    return out


def entry(row: TranscriptEntry) -> dict[str, Any]:
    return record(row)


def event(row: CallEvent) -> dict[str, Any]:
    return record(row)


def transfer(row: Transfer) -> dict[str, Any]:
    return record(row)


def costs(call: Call) -> dict[str, Any]:
    amounts = {"stt": call.cost_stt_micro_usd, "llm": call.cost_llm_micro_usd,
               "tts": call.cost_tts_micro_usd, "telephony": call.cost_telephony_micro_usd}
    return {**amounts, "total": call.cost_total_micro_usd, "details": call.cost_details or {},
            "currency": CURRENCY, "unit": AMOUNT_UNIT,
            "lines": cost_lines(amounts, call.cost_details or {})}


def analysis(call: Call) -> dict[str, Any]:
    return {
        "summary": call.summary,
        "sentiment": call.sentiment,
        "sentiment_score": call.sentiment_score,
        "outcome": call.outcome,
        "success": call.success,
        "success_reason": (call.metadata_ or {}).get("success_reason"),
        "structured_data": call.structured_data or {},
        "status": call.analysis_status,
        "error": (call.metadata_ or {}).get("analysis_error"),
    }


def error(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """What failed on the call, ``{code, message}`` (kept in its metadata as ``error_code`` and
    ``error_message``, the vocabulary's names), or None."""
    code, message = metadata.get("error_code"), metadata.get("error_message")
    return {"code": code, "message": message} if code or message else None


def detail(call: Call, agent_name: str | None, entries: Sequence[TranscriptEntry],
           transfers: Iterable[Transfer]) -> dict[str, Any]:
    """The whole call: the summary fields plus transcript, transfers, analysis, costs, latency."""
    values = record(call)
    out = summary_row(values, agent_name)
    for name in ("organization_id", "sip_trunk_id", "sip_call_id", "sip_status_code",
                 "ringing_timeout_seconds", "post_call_webhook_status", "dynamic_variables",
                 "notes", "feedback", "retry_at"):
        out[name] = values[name]
    out["agent"] = {"id": call.agent_id, "name": agent_name} if call.agent_id else None
    out["recording"] = {
        "status": call.recording_status,
        "duration_ms": call.recording_duration_ms,
        "url": recording_url(call.id, call.recording_path),
    }
    out["analysis"] = analysis(call)
    out["success_reason"] = out["analysis"]["success_reason"]
    out["error"] = error(call.metadata_ or {})
    out["costs"] = costs(call)
    out["latency"] = {
        "p50_ms": call.latency_p50_ms,
        "p95_ms": call.latency_p95_ms,
        "turns": call.latency_turns or [],
    }
    out["transcript"] = {"entries": [entry(e) for e in entries]}
    out["transcript_text"] = transcripts.plain_text(entries)
    out["transcript_url"] = transcript_url(call.id)
    out["transfers"] = [transfer(t) for t in transfers]
    return out


def report(call: Call, entries: Sequence[TranscriptEntry]) -> dict[str, Any]:
    """The post-call report: summary, outcome, structured data, transcript, costs, statuses."""
    breakdown = [
        {"kind": kind, "cost_micro_usd": cost, "currency": CURRENCY, "rate_unit": price_unit(kind)}
        for kind, cost in (("stt", call.cost_stt_micro_usd), ("llm", call.cost_llm_micro_usd),
                           ("tts", call.cost_tts_micro_usd),
                           ("telephony", call.cost_telephony_micro_usd))
    ]
    return {
        "call_id": call.id,
        "organization_id": call.organization_id,
        "status": call.status,
        "summary": call.summary,
        "outcome": call.outcome,
        "success": call.success,
        "success_reason": (call.metadata_ or {}).get("success_reason"),
        "sentiment": call.sentiment,
        "sentiment_score": call.sentiment_score,
        "structured_data": call.structured_data or {},
        "transcript": {"entries": [entry(e) for e in entries]},
        "cost_micro_usd": call.cost_total_micro_usd,
        "currency": CURRENCY,
        "cost_breakdown": breakdown,
        "cost_details": call.cost_details or {},
        "metadata": call.metadata_ or {},
        "scheduled_callback": {"retry_at": iso(call.retry_at)} if call.retry_at else None,
        "analysis_status": call.analysis_status,
        "analysis_error": (call.metadata_ or {}).get("analysis_error"),
        "post_call_webhook_status": call.post_call_webhook_status,
        "recording_url": recording_url(call.id, call.recording_path),
        "created_at": iso(call.created_at),
        "updated_at": iso(call.updated_at),
    }


__all__ = [
    "ROW_FIELDS",
    "SUMMARY_COLUMNS",
    "SUMMARY_FIELDS",
    "analysis",
    "costs",
    "detail",
    "entry",
    "error",
    "event",
    "record",
    "recording_url",
    "report",
    "summary_row",
    "transcript_url",
    "transfer",
]
