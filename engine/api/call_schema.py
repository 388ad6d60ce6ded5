"""The call vocabulary in the OpenAPI document: the shape of ``/v1/calls`` list rows and the call
detail as far as the vocabulary goes (status, disconnect reason, SIP code, the metadata's speech
facts, menu matches and error), and the enums of the list's ``status`` and ``disconnect_reason``
query parameters. The words come from :mod:`engine.store.vocabulary`; nothing here validates a
response (the routes return plain dicts), it documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from engine.store import vocabulary as words

LIVE = "live"  # the list's status filter: every live status

CallStatus = Annotated[str, WithJsonSchema({
    "type": "string", "enum": list(words.CALL_STATUSES),
    "description": "Where the call stands; live: " + ", ".join(words.LIVE_STATUSES)})]
DisconnectReason = Annotated[str | None, WithJsonSchema({
    "anyOf": [{"type": "string", "enum": list(words.DISCONNECT_REASONS)}, {"type": "null"}],
    "description": "Who or what ended the call (null while it is live). Normal ends: "
                   + ", ".join(words.HANGUP_REASONS) + "; never connected: "
                   + ", ".join(words.NOT_CONNECTED_REASONS) + "; failures (with an error): "
                   + ", ".join(words.FAILURE_REASONS) + "."})]
ErrorCode = Annotated[str | None, WithJsonSchema({
    "anyOf": [{"type": "string", "enum": list(words.ERROR_CODES)},
              {"type": "string", "pattern": words.SIP_ERROR_CODE.pattern}, {"type": "null"}],
    "description": "What failed: the final SIP status as text when a SIP response ended the "
                   "call (also in sip_status_code), else a named code."})]


class MenuMatch(BaseModel):
    """One choice the caller made in an IVR menu (Samva's menuMatches item)."""

    menu: str = Field(description="the menu item chosen (its label)")
    digit: str | None = Field(description="the DTMF key pressed (null when spoken)")
    phrase: str | None = Field(description="the caller's words (null when keyed)")
    matched_text: str = Field(description="what in the digit or phrase matched the item")
    confidence: float | None = Field(ge=0.0, le=1.0, description=(
        "how sure the match is: 1 for a keyed digit, the recogniser's for a phrase"))
    at: str = Field(description="when (ISO 8601, UTC)", json_schema_extra={"format": "date-time"})


class CallMetadata(BaseModel):
    """The call's metadata fields the vocabulary defines (it holds others too)."""

    model_config = ConfigDict(extra="allow")

    stt_engine: str | None = Field(None, description="the speech recogniser (whisper, vosk)")
    stt_model: str | None = Field(None, description="its model (tiny.en, …)")
    stt_language: str | None = Field(None, description="the language recognised (en-US)")
    tts_voice: str | None = Field(None, description="the agent's voice")
    barge_in_count: int | None = Field(None, description="how often the caller spoke over the agent")
    menu_matches: list[MenuMatch] | None = None
    menu_final_selection: MenuMatch | None = None
    error_code: ErrorCode = None
    error_message: str | None = Field(None, description="what failed, in words")


class CallError(BaseModel):
    """What failed on a call (the detail's ``error``; ``metadata.error_code``/``error_message``)."""

    code: ErrorCode = None
    message: str | None = Field(None, description="what failed, in words")


class Call(BaseModel):
    """A call as ``/v1/calls`` lists it and ``/v1/calls/{id}`` details it: the vocabulary's
    fields (every other field of the row is there too)."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: CallStatus
    disconnect_reason: DisconnectReason = None
    sip_status_code: int | None = Field(None, description="the call's final SIP status")
    metadata: CallMetadata | None = None
    error: CallError | None = Field(None, description="the detail's: what failed, or null")


class CallPage(BaseModel):
    """A page of calls."""

    items: list[Call]
    pagination: dict[str, int]
    next_cursor: str | None = None


LIST_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": CallPage}}
DETAIL_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": Call}}

# The list's filters that take words of the vocabulary, several comma-separated
# (OpenAPI: an array in form style, not exploded).
QUERY_ENUMS: dict[str, list[str]] = {
    "status": [*words.CALL_STATUSES, LIVE],
    "disconnect_reason": list(words.DISCONNECT_REASONS),
}


def document_query_enums(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an OpenAPI document) with the vocabulary's enums on ``GET /v1/calls``'s
    ``status`` and ``disconnect_reason`` parameters."""
    operation = schema.get("paths", {}).get("/v1/calls", {}).get("get", {})
    for param in operation.get("parameters", ()):
        values = QUERY_ENUMS.get(param.get("name"))
        if values is None or param.get("in") != "query":
            continue
        param["style"], param["explode"] = "form", False
        param["schema"] = {"type": "array", "items": {"type": "string", "enum": values},
                           "title": param.get("schema", {}).get("title", param["name"])}
        param.setdefault("description", "one or several, comma-separated")
    return schema


def install(app: FastAPI) -> None:
    """The app's OpenAPI document carries the query enums."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_query_enums(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["DETAIL_RESPONSES", "LIST_RESPONSES", "QUERY_ENUMS", "Call", "CallError", "CallMetadata",
           "CallPage", "MenuMatch", "document_query_enums", "install"]
