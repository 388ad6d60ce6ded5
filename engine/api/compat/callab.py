"""Callab's ``POST /v1/calls`` under ``/compat/callab``: its body and its ``{status, message,
data}`` envelope, refusals included (``status: "error"``, ``data: null``, and the field).

An outbound call is dialled; ``call_direction: inbound`` stores a record of a call that
happened (the core's call records), with ``call_provider`` as the carrier that took it."""

# No ``from __future__ import annotations``: FastAPI reads the body model from the signature.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from engine.api.auth import Principal
from engine.api.compat.create import create
from engine.api.compat.fields import CURRENCY, usd
from engine.api.compat.platform import COMPAT_KEY, Platform, refuse, route_class


def callab_error(status: int, message: str, code: str, field: str | None) -> dict[str, Any]:
    """Callab's envelope around a refusal."""
    return {"status": "error", "message": message, "data": None, "code": code, "field": field}


# Switchboard's call fields by Callab's names for them
CALLAB = Platform("callab", key_header="authorization", error_shape=callab_error, aliases={
    "agent_id": "ai_agent_id",
    "lead_id": "contact_id",
    "direction": "call_direction",
    "provider": "call_provider",
    "from_number": "call_from",
    "to_number": "call_to",
    "dynamic_variables": "agent_dynamic_variables",
})

router = APIRouter(prefix="/compat/callab", tags=["compat: Callab"], route_class=route_class(CALLAB))

Auth = Annotated[Principal, Depends(CALLAB.principal)]

# agent_task_status from the analysis' ``success``
TASK_STATUS = {True: "success", False: "failure"}


class CallabCallCreate(BaseModel):
    """Callab's call body; its document marks no field required. Switchboard needs the agent
    (``ai_agent_id``); an outbound call also the number to call (``call_to``) and the caller id
    (``call_from``), a test call neither. ``call_provider`` is for a record (an inbound call):
    Switchboard dials through its own SIP trunks."""

    model_config = ConfigDict(extra="forbid")

    company_id: str | None = None
    campaign_id: str | None = None
    ai_agent_id: str | None = None
    contact_id: str | None = None
    call_provider: str | None = None
    call_from: str | None = None
    call_to: str | None = None
    call_direction: Literal["inbound", "outbound"] | None = None
    is_test: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    agent_dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = None
    workspace_id: str | None = None


def callab_call(call: dict[str, Any]) -> dict[str, Any]:
    """Callab's call (the envelope's ``data``) from a Switchboard call detail."""
    metadata = dict(call.get("metadata") or {})
    kept = metadata.get(COMPAT_KEY) or {}
    analysis = call["analysis"]
    return {
        "id": call["id"],
        "call_sid": call.get("sip_call_id") or metadata.get("sip_call_id"),
        "company_id": call["organization_id"],
        "campaign_id": call["campaign_id"],
        "ai_agent_id": call["agent_id"],
        "contact_id": call["lead_id"],
        "call_provider": metadata.get("provider") or call["transport"],
        "call_from": call["from_number"],
        "call_to": call["to_number"],
        "call_duration": call["duration_seconds"],
        "call_status": call["status"],
        "call_direction": call["direction"],
        "is_test": call["is_test"],
        "call_rating": call["rating"],
        "call_feedback": call["feedback"],
        "record_url": call["recording"]["url"],
        "transcript": call["transcript_text"],
        "transcript_object": {"entries": call["transcript"]["entries"]},
        "transcript_language": metadata.get("stt_language"),
        "cost": usd(call["costs"]["total"]),
        "price_unit": CURRENCY,
        "latency": call["latency"]["p50_ms"],
        "disconnect_reason": call["disconnect_reason"],
        "analysis_sentiment": analysis["sentiment"],
        "agent_task_status": TASK_STATUS.get(analysis["success"]),
        "agent_task_feedback": analysis.get("success_reason") or analysis["outcome"],
        "metadata": metadata,
        "agent_dynamic_variables": call.get("dynamic_variables") or {},
        "agent_post_call_outcomes": analysis["structured_data"],
        "notes": call.get("notes") or "",
        "created_at": call["created_at"],
        "updated_at": call["updated_at"],
        "deleted_at": None,  # Switchboard deletes no call
        "started_at": call["answered_at"],
        "ended_at": call["ended_at"],
        "retry_at": call.get("retry_at"),
        "workspace_id": kept.get("workspace_id"),
    }


@router.post("/v1/calls", summary="Callab: create a call")
def create_callab_call(request: Request, body: CallabCallCreate, principal: Auth) -> dict[str, Any]:
    if body.call_provider is not None and body.call_direction != "inbound":
        raise refuse("call_provider", "Switchboard places calls itself, through the SIP trunk of "
                                      "the call_from number; a provider is kept only on the "
                                      "record of an inbound call (call_direction: inbound)")
    values: dict[str, Any] = {
        "to_number": body.call_to,
        "from_number": body.call_from,
        "campaign_id": body.campaign_id,
        "lead_id": body.contact_id,
        "is_test": body.is_test,
        "metadata": body.metadata,
        "dynamic_variables": body.agent_dynamic_variables,
        "notes": body.notes or "",
        "direction": body.call_direction,
        "provider": body.call_provider,
    }
    if body.ai_agent_id is not None:
        values["agent_id"] = body.ai_agent_id
    detail = create(request, principal, CALLAB, values, {
        "company_id": body.company_id,
        "workspace_id": body.workspace_id,
    })
    return {"status": "success", "message": "call created", "data": callab_call(detail)}


__all__ = ["CALLAB", "CallabCallCreate", "callab_call", "router"]
