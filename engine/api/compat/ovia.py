"""Ovia's ``POST /api/v1/calls`` under ``/compat/ovia``: its body, its Call object.

Ovia's document names no error body; refusals use Switchboard's ``{error, code, field}``, with
Ovia's field names (they are Switchboard's: ``agent_id``, ``from_number``, ``to_number``...).
"""

# No ``from __future__ import annotations``: FastAPI reads the body model from the signature.

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from engine.api.auth import Principal
from engine.api.compat.create import check_direction, create
from engine.api.compat.fields import transcript_text, usd
from engine.api.compat.platform import COMPAT_KEY, Platform, route_class

OVIA = Platform("ovia", key_header="authorization")

router = APIRouter(prefix="/compat/ovia", tags=["compat: Ovia"], route_class=route_class(OVIA))

Auth = Annotated[Principal, Depends(OVIA.principal)]

# Ovia's cost details, all of which Switchboard meters (engine.calls.costs)
COST_DETAILS = ("tts_characters", "llm_prompt_tokens", "llm_completion_tokens",
                "stt_audio_duration_seconds")


class OviaCallCreate(BaseModel):
    """Ovia's call body. Its document marks ``direction`` required but its own example leaves
    it out: it defaults to outbound."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1)
    agent_id: str
    type: str = Field(description="phone_call or test_call")
    direction: Literal["inbound", "outbound"] = "outbound"
    from_number: str
    to_number: str
    phone_number_id: str


def ovia_call(call: dict[str, Any]) -> dict[str, Any]:
    """Ovia's Call object from a Switchboard call detail (``GET /v1/calls/{id}``)."""
    metadata = dict(call.get("metadata") or {})
    kept = metadata.get(COMPAT_KEY) or {}
    entries = call["transcript"]["entries"]
    costs = call["costs"]
    details = costs.get("details") or {}
    latency = call["latency"]
    return {
        "user_id": call.get("user_id") or kept.get("user_id"),
        "agent_id": call["agent_id"],
        "type": call["type"],
        "direction": call["direction"],
        "from_number": call["from_number"],
        "to_number": call["to_number"],
        "phone_number_id": call["phone_number_id"],
        "id": call["id"],
        "status": call["status"],
        "started_at": call["answered_at"],  # the conversation's start; initiated_at is its request
        "ended_at": call["ended_at"],
        "recording_url": call["recording"]["url"],
        "transcript": transcript_text(entries),
        "duration": call["duration_seconds"],
        "analysis": call["analysis"]["summary"] or None,
        "latency_metrics": json.dumps({"p50_ms": latency["p50_ms"], "p95_ms": latency["p95_ms"],
                                       "turns": len(latency["turns"])}),
        "created_at": call["created_at"],
        "updated_at": call["updated_at"],
        "agent": {"name": call["agent_name"]},
        "metadata": {
            **metadata,
            "rule_id": metadata.get("rule_id"),
            "call_tag": metadata.get("call_tag"),
            "call_id_full": call.get("sip_call_id") or metadata.get("sip_call_id"),
            "sip_trunk_id": call.get("sip_trunk_id"),
        },
        "costs": {
            "llm": usd(costs["llm"]),
            "stt": usd(costs["stt"]),
            "tts": usd(costs["tts"]),
            "telephony": usd(costs["telephony"]),
            "total": usd(costs["total"]),
            "currency": "USD",
            "details": {name: details.get(name, 0) for name in COST_DETAILS},
        },
        "transcript_objects": [
            {"content": e["text"], "timestamp": e["started_at"], "role": e["source"]}
            for e in entries
        ],
    }


@router.post("/api/v1/calls", summary="Ovia: create a call")
def create_ovia_call(request: Request, body: OviaCallCreate, principal: Auth) -> dict[str, Any]:
    check_direction(body.direction, "direction")
    detail = create(request, principal, OVIA, {
        "agent_id": body.agent_id,
        "type": body.type,
        "from_number": body.from_number,
        "to_number": body.to_number,
        "phone_number_id": body.phone_number_id,
    }, {"user_id": body.user_id, "direction": body.direction})
    return ovia_call(detail)


__all__ = ["OVIA", "OviaCallCreate", "ovia_call", "router"]
