"""The webhook messages (the ``{"message": {"type": ...}}`` envelope of the 001 seed) and the
answers that come back from assistant-request and tool-calls."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from engine.store import Agent, iso, utcnow

log = logging.getLogger(__name__)

FINAL_STATUSES = ("completed", "failed", "busy", "no_answer", "canceled")
PING = "ping"

# Agent fields an assistant-request answer may override (API names).
_NOT_OVERRIDABLE = frozenset({"id", "organization_id", "created_at", "updated_at"})


def envelope(type_: str, **fields: Any) -> dict[str, Any]:
    return {"message": {"type": type_, "timestamp": iso(utcnow()), **fields}}


def status_update(call: Mapping[str, Any], status: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": status, "call": dict(call)}
    if status in FINAL_STATUSES:
        fields["ended_reason"] = call.get("disconnect_reason")
    return envelope("status-update", **fields)


def end_of_call_report(call: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    """The report: summary, analysis, transcript (text and messages), costs, recording."""
    return envelope("end-of-call-report", call=dict(call), **report)


def assistant_request(call: Mapping[str, Any]) -> dict[str, Any]:
    return envelope("assistant-request", call=dict(call))


def tool_calls(call: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``toolCallList``: ``[{"id", "type": "function", "function": {"name", "arguments"}}]``."""
    listed = [{"id": c["id"], "type": "function",
               "function": {"name": c["name"], "arguments": dict(c.get("arguments") or {})}}
              for c in calls]
    return envelope("tool-calls", call=dict(call), toolCallList=listed)


def ping(webhook_id: str) -> dict[str, Any]:
    return envelope(PING, webhook_id=webhook_id)


@cache
def _agent_fields() -> dict[str, TypeAdapter[Any]]:
    out: dict[str, TypeAdapter[Any]] = {}
    for name, info in Agent.model_fields.items():
        if name in _NOT_OVERRIDABLE or info.annotation is None:
            continue
        out[name.rstrip("_")] = TypeAdapter(info.annotation)
    return out


def agent_overrides(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The valid Agent field overrides of an answer (API names); others are dropped."""
    fields = _agent_fields()
    out: dict[str, Any] = {}
    for key, value in raw.items():
        adapter = fields.get(key)
        if adapter is None:
            log.info("assistant-request answer: ignored unknown agent field %r", key)
            continue
        try:
            out[key] = adapter.validate_python(value)
        except ValidationError:
            log.info("assistant-request answer: ignored invalid value for %r", key)
    return out


def assistant_choice(answer: Any) -> dict[str, Any] | None:
    """An assistant-request answer as ``{"agent_id", "overrides", "dynamic_variables"}`` (plus
    ``"error"`` when the receiver refuses the call), or None when it chose nothing.

    Accepted: ``{"agent_id", "overrides" | "agent", "dynamic_variables"}`` and the seed platforms'
    ``{"assistantId", "assistantOverrides" | "assistant", "variableValues"}``."""
    if not isinstance(answer, Mapping):
        return None
    error = answer.get("error")
    agent_id = answer.get("agent_id") or answer.get("assistantId") or answer.get("assistant_id")
    raw = (answer.get("overrides") or answer.get("agent") or answer.get("assistantOverrides")
           or answer.get("assistant") or {})
    variables = answer.get("dynamic_variables") or answer.get("variableValues") or {}
    choice: dict[str, Any] = {
        "agent_id": str(agent_id) if isinstance(agent_id, str) and agent_id else None,
        "overrides": agent_overrides(raw) if isinstance(raw, Mapping) else {},
        "dynamic_variables": dict(variables) if isinstance(variables, Mapping) else {},
    }
    if isinstance(error, str) and error:
        choice["error"] = error
        return choice
    if not (choice["agent_id"] or choice["overrides"] or choice["dynamic_variables"]):
        return None
    return choice


def tool_results(answer: Any, tool_call_id: str) -> dict[str, Any]:
    """``{"results": [{"toolCallId", "result"} | {"toolCallId", "error"}]}`` from an answer.

    An answer without ``results`` is taken as the result itself."""
    if isinstance(answer, Mapping) and isinstance(answer.get("results"), list):
        results = [dict(r) for r in answer["results"] if isinstance(r, Mapping)]
        for r in results:
            r.setdefault("toolCallId", tool_call_id)
        if results:
            return {"results": results}
        return tool_error(tool_call_id, "the answer's results list is empty")
    if answer is None:
        return tool_error(tool_call_id, "the answer is not JSON")
    return {"results": [{"toolCallId": tool_call_id, "result": answer}]}


def tool_error(tool_call_id: str, message: str) -> dict[str, Any]:
    return {"results": [{"toolCallId": tool_call_id, "error": message}]}


__all__ = ["FINAL_STATUSES", "PING", "agent_overrides", "assistant_choice", "assistant_request",
           "end_of_call_report", "envelope", "ping", "status_update", "tool_calls", "tool_error",
           "tool_results"]
