"""Ovia's ``POST /api/v1/calls`` under ``/compat/ovia``: its body, its Call object.

Ovia's document calls its body "a call to add to the store": an outbound ``phone_call`` is
dialled; an ``inbound`` call or a ``web_call`` is stored as a record of a call that happened
(the core's call records); a ``test_call`` is placed by a simulated caller. Ovia's ``user_id``
(required) is the user the call belongs to: here a console user of the API key's organization.

Ovia's document names no error body; refusals use Switchboard's ``{error, code, field}``, with
Ovia's field names (they are Switchboard's: ``user_id``, ``from_number``, ``to_number``...).
"""

# No ``from __future__ import annotations``: FastAPI reads the body model from the signature.

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from engine.api.auth import Principal
from engine.api.compat.create import create
from engine.api.compat.fields import CURRENCY, usd
from engine.api.compat.platform import Platform, refuse, route_class
from engine.api.errors import ApiError

OVIA = Platform("ovia", key_header="authorization")

router = APIRouter(prefix="/compat/ovia", tags=["compat: Ovia"], route_class=route_class(OVIA))

Auth = Annotated[Principal, Depends(OVIA.principal)]

# Ovia's cost details, all of which Switchboard meters (engine.calls.costs)
COST_DETAILS = ("tts_characters", "llm_prompt_tokens", "llm_completion_tokens",
                "stt_audio_duration_seconds")


class OviaCallCreate(BaseModel):
    """Ovia's call body. Its document marks ``direction`` required but its own example leaves
    it out: left out, the core decides (an outbound dial for a phone_call, inbound for a
    web_call or a test call)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, description="the console user the call belongs to "
                         "(GET /v1/users)")
    agent_id: str
    type: str = Field(description="phone_call, web_call or test_call")
    direction: Literal["inbound", "outbound"] | None = None
    from_number: str
    to_number: str
    phone_number_id: str


def call_tag(metadata: dict[str, Any], tags: list[str]) -> str | None:
    """Ovia's one ``call_tag``: the call's own ``metadata.call_tag``, else its tags (comma-
    separated when it has several)."""
    tag = metadata.get("call_tag")
    if tag is not None:
        return str(tag)
    return ", ".join(tags) or None


def ovia_call(call: dict[str, Any]) -> dict[str, Any]:
    """Ovia's Call object from a Switchboard call detail (``GET /v1/calls/{id}``)."""
    metadata = dict(call.get("metadata") or {})
    entries = call["transcript"]["entries"]
    costs = call["costs"]
    details = costs.get("details") or {}
    latency = call["latency"]
    return {
        "user_id": call["user_id"],
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
        "transcript": call["transcript_text"],
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
            "call_tag": call_tag(metadata, call.get("tags") or []),
            "call_id_full": call.get("sip_call_id") or metadata.get("sip_call_id"),
            "sip_trunk_id": call.get("sip_trunk_id"),
        },
        "costs": {
            "llm": usd(costs["llm"]),
            "stt": usd(costs["stt"]),
            "tts": usd(costs["tts"]),
            "telephony": usd(costs["telephony"]),
            "total": usd(costs["total"]),
            "currency": CURRENCY,
            "details": {name: details.get(name, 0) for name in COST_DETAILS},
        },
        "transcript_objects": [
            {"content": e["text"], "timestamp": e["started_at"], "role": e["source"]}
            for e in entries
        ],
    }


@router.post("/api/v1/calls", summary="Ovia: create a call (dialled) or add a call record")
def create_ovia_call(request: Request, body: OviaCallCreate, principal: Auth) -> dict[str, Any]:
    try:
        detail = create(request, principal, OVIA, {
            "agent_id": body.agent_id,
            "type": body.type,
            "direction": body.direction,
            "user_id": body.user_id,
            "from_number": body.from_number,
            "to_number": body.to_number,
            "phone_number_id": body.phone_number_id,
        }, {})
    except ApiError as exc:
        if exc.field == "user_id":
            raise refuse("user_id", f"no user {body.user_id} in this organization: Ovia's "
                                    "user_id is the user the call belongs to, here a console "
                                    "user of the API key's organization (GET /v1/users)") from None
        raise
    return ovia_call(detail)


__all__ = ["OVIA", "OviaCallCreate", "call_tag", "ovia_call", "router"]
