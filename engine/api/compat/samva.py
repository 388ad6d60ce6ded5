"""Samva's ``GET /api/v1/voice/calls`` under ``/compat/samva``: its ``X-API-Key`` header, its
camelCase query and items, and its ``{items, pagination}`` page.

The list is Switchboard's own (``GET /v1/calls``'s ``list_calls``), called with Samva's query
mapped to it. Samva's document leaves ``filters`` untyped; Switchboard reads it as a JSON object
(``filters={"status":"completed"}``) or as deep-object parameters (``filters[status]=completed``),
keyed by the items' own field names. A filter Switchboard cannot apply is refused, naming it,
and so is any query parameter Samva does not define: nothing is silently ignored.
"""

# No ``from __future__ import annotations``: FastAPI reads the query parameters from the signature.

import json
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from engine.api.auth import Principal
from engine.api.compat.fields import final_selection, menu_match
from engine.api.compat.platform import Platform, refuse, route_class
from engine.api.routes.calls import list_calls
from engine.calls.serialize import transcript_url

# Switchboard's list parameters by Samva's names for them
SAMVA = Platform("samva", key_header="x-api-key", aliases={
    "status": "filters.status",
    "direction": "filters.direction",
    "transport": "filters.transport",
    "agent_id": "filters.voiceAgentId",
    "phone_number_id": "filters.phoneNumberId",
    "number": "filters.from",
    "since": "filters.initiatedAfter",
    "until": "filters.initiatedBefore",
    "sort_by": "sortBy",
    "sort_order": "sortOrder",
})

router = APIRouter(prefix="/compat/samva", tags=["compat: Samva"], route_class=route_class(SAMVA))

Auth = Annotated[Principal, Depends(SAMVA.principal)]

MAX_PAGE = 9_007_199_254_740_991  # Samva's bound: JavaScript's Number.MAX_SAFE_INTEGER
SORTS = {"initiatedAt": "initiated_at", "endedAt": "ended_at", "durationSeconds": "duration_seconds"}
PARAMETERS = frozenset({"page", "limit", "filters", "sortBy", "sortOrder"})
DEEP_FILTER = re.compile(r"^filters\[([A-Za-z]+)\]$")

# Samva's filters Switchboard applies, by the list parameter each becomes
FILTERS = {
    "status": "status",  # one status, several comma-separated (or a JSON list), or "live"
    "direction": "direction",
    "transport": "transport",  # telephony or webrtc (Switchboard's sip or webrtc)
    "voiceAgentId": "agent_id",
    "phoneNumberId": "phone_number_id",
    "from": "number",  # either one: Switchboard matches the number on both sides of a call
    "to": "number",
    "initiatedAfter": "since",
    "initiatedBefore": "until",
}
# Samva's item fields Switchboard cannot filter on, and why
UNFILTERED = {
    "organizationId": "the API key decides the organization",
    "telnyxCallControlId": "Switchboard has no Telnyx call control ids",
    "cfSessionId": "Switchboard has no Cloudflare sessions",
    "conversationId": "Switchboard has no conversation ids",
    "endedAt": "use initiatedAfter / initiatedBefore",
    "durationSeconds": "Switchboard's list cannot filter on duration",
    "summary": "Switchboard's list cannot filter on the summary",
}
TRANSPORTS = {"sip": "telephony", "webrtc": "webrtc"}  # Switchboard's transport -> Samva's
CORE_TRANSPORTS: dict[str, Literal["sip", "webrtc"]] = {"telephony": "sip", "webrtc": "webrtc"}
DIRECTIONS: dict[str, Literal["inbound", "outbound"]] = {"inbound": "inbound", "outbound": "outbound"}


def _given_filters(request: Request, raw: str | None) -> dict[str, Any]:
    """The filters of the query, from ``filters=<JSON object>`` and ``filters[name]=value``; any
    other parameter Samva does not define is refused."""
    out: dict[str, Any] = {}
    if raw is not None and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise refuse("filters", "expected a JSON object, e.g. {\"status\": \"completed\"}") from None
        if not isinstance(parsed, dict):
            raise refuse("filters", "expected a JSON object, e.g. {\"status\": \"completed\"}")
        out.update(parsed)
    for name in request.query_params:
        deep = DEEP_FILTER.match(name)
        if deep is not None:
            key = deep.group(1)
            if key in out:
                raise refuse(f"filters.{key}", "given twice")
            values = request.query_params.getlist(name)
            out[key] = values[0] if len(values) == 1 else values
        elif name not in PARAMETERS:
            raise refuse(name, f"unknown query parameter; Samva's are {', '.join(sorted(PARAMETERS))}")
    return out


def _text(name: str, value: Any) -> str:
    if isinstance(value, list) and name == "status" and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if not isinstance(value, str):
        raise refuse(f"filters.{name}", f"expected a string, got {json.dumps(value)}")
    return value


def list_parameters(filters: dict[str, Any]) -> dict[str, str]:
    """Samva's filters as ``list_calls`` parameters, or a 422 naming the filter."""
    out: dict[str, str] = {}
    for name, value in filters.items():
        if name in UNFILTERED:
            raise refuse(f"filters.{name}", UNFILTERED[name])
        target = FILTERS.get(name)
        if target is None:
            known = ", ".join(sorted(FILTERS))
            raise refuse(f"filters.{name}", f"unknown filter; Switchboard applies {known}")
        if value is None:
            continue
        text = _text(name, value)
        if target in out:
            raise refuse(f"filters.{name}", "give from or to, not both: either matches the "
                                             "number on both sides of a call")
        if target == "direction" and text not in DIRECTIONS:
            raise refuse("filters.direction", f"expected inbound or outbound, got {text!r}")
        if target == "transport":
            if text not in CORE_TRANSPORTS:
                raise refuse("filters.transport", f"expected telephony or webrtc, got {text!r}")
        out[target] = text
    return out


def samva_item(row: dict[str, Any], organization_id: str) -> dict[str, Any]:
    """One Samva call from a Switchboard list row (its metadata and recording URL included)."""
    metadata: dict[str, Any] = dict(row.get("metadata") or {})
    matches = [menu_match(m) for m in metadata.get("menu_matches") or []]
    error_code = metadata.get("error_code")
    return {
        "id": row["id"],
        "organizationId": organization_id,
        "transport": TRANSPORTS.get(row["transport"], row["transport"]),
        "telnyxCallControlId": None,
        "cfSessionId": None,
        "direction": row["direction"],
        "from": row["from_number"],
        "to": row["to_number"],
        "phoneNumberId": row["phone_number_id"],
        "voiceAgentId": row["agent_id"],
        "status": row["status"],
        "initiatedAt": row["initiated_at"],
        "answeredAt": row["answered_at"],
        "endedAt": row["ended_at"],
        "durationSeconds": row["duration_seconds"],
        "transcriptUrl": transcript_url(row["id"]),
        "recordingUrl": row["recording_url"],
        "summary": row["summary"],
        "conversationId": None,
        "metadata": {
            "cfTrackIds": None,
            "sttLanguage": metadata.get("stt_language"),
            "ttsVoice": metadata.get("tts_voice"),
            "menuMatches": matches,
            "menuFinalSelection": final_selection(metadata.get("menu_final_selection"), matches),
            "bargeInCount": metadata.get("barge_in_count"),
            "errorCode": None if error_code is None else str(error_code),
            "errorMessage": metadata.get("error_message"),
            "customFields": dict(metadata.get("custom") or {}),
        },
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


@router.get("/api/v1/voice/calls", summary="Samva: list voice calls")
def list_voice_calls(
    request: Request,
    principal: Auth,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    filters: Annotated[str | None, Query(description="a JSON object of filters, or "
                                         "filters[name]=value parameters")] = None,
    sort_by: Annotated[Literal["initiatedAt", "endedAt", "durationSeconds"],
                       Query(alias="sortBy")] = "initiatedAt",
    sort_order: Annotated[Literal["asc", "desc"], Query(alias="sortOrder")] = "desc",
) -> dict[str, Any]:
    given = list_parameters(_given_filters(request, filters))
    body = list_calls(request, principal, page=page, limit=limit, sort_by=SORTS[sort_by],
                      sort_order=sort_order, status=given.get("status"),
                      direction=DIRECTIONS.get(given.get("direction", "")),
                      agent_id=given.get("agent_id"), phone_number_id=given.get("phone_number_id"),
                      number=given.get("number"), since=given.get("since"),
                      until=given.get("until"),
                      transport=CORE_TRANSPORTS.get(given.get("transport", "")))
    items = [samva_item(row, principal.organization_id) for row in body["items"]]
    pagination = body["pagination"]
    return {"items": items, "pagination": {"page": pagination["page"], "limit": pagination["limit"],
                                           "total": pagination["total"],
                                           "totalPages": pagination["total_pages"]}}


__all__ = ["SAMVA", "list_parameters", "router", "samva_item"]
