"""``/v1/calls``: the paged, sorted, filtered list; one call's detail and transcript file;
notes and tags; new calls (outbound dials, test calls) and call records."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from engine.api import call_schema, validators
from engine.api.auth import Principal, principal_from
from engine.api.crud import emit, get_owned, page_of
from engine.api.errors import invalid, not_a_field
from engine.api.paging import Cursor
from engine.api.routes.params import known_query, time_param
from engine.calls import listing, transcripts
from engine.calls.amd_gate import AMD_MODES
from engine.calls.serialize import ROW_FIELDS, detail, entry, record, summary_row
from engine.events import CallCreated, CallUpdated
from engine.simulator.personas import PersonaError, load_persona
from engine.simulator.placing import DEFAULT_PERSONA
from engine.store import (
    CALL_SORTS,
    CALL_STATUSES,
    LIVE_STATUSES,
    Agent,
    Call,
    CallEvent,
    Campaign,
    Lead,
    PhoneNumber,
    TranscriptEntry,
    Transfer,
    User,
)
from engine.store.calls import TAG_MAX_LENGTH, TAGS_MAX
from engine.store.timeutil import as_utc, utcnow

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
SortBy = Literal[CALL_SORTS]  # type: ignore[valid-type]
CallType = Literal["phone_call", "web_call", "test_call"]  # engine.store.calls.CALL_TYPES


def owned_call(session: Session, principal: Principal, call_id: str) -> Call:
    """A call of the caller's organization, or 404."""
    call: Call = get_owned(session, Call, call_id, principal, "call")
    return call


def agent_name(session: Session, agent_id: str | None) -> str | None:
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    return agent.name if agent is not None else None


def call_summary(session: Session, call: Call) -> dict[str, Any]:
    """The list row of one call (what ``call.*`` events carry)."""
    return summary_row(record(call), agent_name(session, call.agent_id))


def _entries(session: Session, call_id: str) -> list[TranscriptEntry]:
    """A call's transcript entries in order."""
    return list(session.execute(
        select(TranscriptEntry).where(TranscriptEntry.call_id == call_id)  # type: ignore[arg-type]
        .order_by(TranscriptEntry.index, TranscriptEntry.created_at)  # type: ignore[arg-type]
    ).scalars().all())


def call_detail(session: Session, call: Call) -> dict[str, Any]:
    """One call with its transcript entries, transfers, analysis, costs, latency."""
    entries = _entries(session, call.id)
    transfers = session.execute(
        select(Transfer).where(Transfer.call_id == call.id)  # type: ignore[arg-type]
        .order_by(Transfer.created_at)  # type: ignore[arg-type]
    ).scalars().all()
    return detail(call, agent_name(session, call.agent_id), entries, transfers)


def _statuses(raw: str | None) -> tuple[str, ...]:
    """``status=completed``, ``status=completed,failed`` or ``status=live`` (every live status)."""
    if raw is None or not raw.strip():
        return ()
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name == "live":
            out.extend(LIVE_STATUSES)
        elif name in CALL_STATUSES:
            out.append(name)
        else:
            raise invalid("status", f"unknown status {name!r}; one of {', '.join(CALL_STATUSES)} "
                                    "or live, comma-separated")
    return tuple(dict.fromkeys(out))


def _text(field: str, raw: str | None) -> str | None:
    """A text filter as given (trimmed), None when absent, a 422 when blank."""
    if raw is None:
        return None
    if not raw.strip():
        raise invalid(field, "is empty; leave the parameter out to list every call")
    return raw.strip()


@router.get("/v1/calls", summary="List calls", dependencies=[Depends(known_query)],
            responses=call_schema.LIST_RESPONSES)
def list_calls(
    request: Request,
    principal: Auth,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    sort_by: SortBy = "initiated_at",
    sort_order: Literal["asc", "desc"] = "desc",
    status: Annotated[str | None, Query(description="a status, several comma-separated, or live")] = None,
    direction: Literal["inbound", "outbound"] | None = None,
    agent_id: str | None = None,
    campaign_id: str | None = None,
    phone_number_id: str | None = None,
    number: Annotated[str | None, Query(description="a substring of the from or to number")] = None,
    since: Annotated[str | None, Query(description="initiated at or after (ISO 8601)")] = None,
    until: Annotated[str | None, Query(description="initiated before (ISO 8601)")] = None,
    q: Annotated[str | None, Query(description="words in the transcript")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    include_tests: Annotated[bool, Query(description="list test calls (is_test) too")] = False,
    is_test: Annotated[bool | None, Query(description="true: test calls only; false: none")] = None,
    transport: Literal["sip", "webrtc"] | None = None,
    call_type: Annotated[CallType | None, Query(alias="type")] = None,
    outcome: Annotated[str | None, Query(description="the analysis outcome, e.g. "
                                         "transferred_to_human")] = None,
    sentiment: Literal["positive", "neutral", "negative"] | None = None,
    tag: Annotated[str | None, Query(description="calls with this tag")] = None,
    disconnect_reason: Annotated[str | None, Query(description="why the call ended")] = None,
    has_recording: Annotated[bool | None, Query(description="true: calls with a recording; "
                                                "false: without")] = None,
) -> dict[str, Any]:
    if q is not None and q.strip() and listing.fts_query(q) is None:
        raise invalid("q", "give at least one word to search for")
    filters = listing.CallFilter(
        organization_id=principal.organization_id,
        statuses=_statuses(status),
        direction=direction,
        agent_id=agent_id or None,
        campaign_id=campaign_id or None,
        phone_number_id=phone_number_id or None,
        number=number.strip() if number and number.strip() else None,
        since=time_param("since", since),
        until=time_param("until", until, end=True),
        q=q.strip() if q and q.strip() else None,
        include_tests=include_tests,
        is_test=is_test,
        transport=transport,
        type=call_type,
        outcome=_text("outcome", outcome),
        sentiment=sentiment,
        tag=_text("tag", tag),
        disconnect_reason=_text("disconnect_reason", disconnect_reason),
        has_recording=has_recording,
    )
    position = None
    if cursor:
        decoded = Cursor.decode(cursor, sort_by, sort_order)
        position = (decoded.value, decoded.id)
    with request.app.state.db.connect() as conn:
        where = listing.conditions(conn, filters)
        generation = listing.generation(conn)
        total = listing.count(conn, filters, where, generation)
        offset = 0
        if position is None:
            offset = (page - 1) * limit
            if offset >= total:
                offset = -1  # past the end: nothing to read
            else:
                position, offset = listing.POSITIONS.locate(conn, filters, where, sort_by, sort_order,
                                                            offset, generation)
        keys = [] if offset < 0 else listing.scan(conn, filters, where, sort_by, sort_order,
                                                  position=position, offset=offset, limit=limit + 1)
        more = len(keys) > limit
        keys = keys[:limit]
        items = listing.summaries(conn, [k[1] for k in keys])
    body = page_of(items, page, limit, total)
    body["next_cursor"] = (
        Cursor(sort_by, sort_order, keys[-1][0], keys[-1][1]).encode() if more and keys else None
    )
    return body


@router.get("/v1/calls/{call_id}", summary="Get a call with its transcript, analysis, costs",
            responses=call_schema.DETAIL_RESPONSES)
def get_call(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        return call_detail(session, owned_call(session, principal, call_id))


@router.get("/v1/calls/{call_id}/transcript",
            summary="A call's transcript as a file: plain text, JSON, WebVTT or SRT (timed)",
            dependencies=[Depends(known_query)],
            responses={200: {"content": {t: {} for t in transcripts.MEDIA_TYPES.values()}}})
def get_transcript(request: Request, call_id: str, principal: Auth,
                   format: Annotated[str, Query(description="text, json, vtt or srt")] = "text",
                   ) -> Response:
    if format not in transcripts.FORMATS:
        raise invalid("format", f"expected one of {', '.join(transcripts.FORMATS)}, got {format!r}")
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        entries = _entries(session, call.id)
        origin = call.answered_at or call.initiated_at
        if format == "json":
            timed = transcripts.cues(entries, origin)
            body = json.dumps({
                "call_id": call.id, "text": transcripts.plain_text(entries),
                "entries": [entry(e) for e in entries],
                "cues": [{"start_ms": c.start_ms, "end_ms": c.end_ms, "speaker": c.speaker,
                          "text": c.text} for c in timed],
            })
        elif format == "vtt":
            body = transcripts.webvtt(transcripts.cues(entries, origin))
        elif format == "srt":
            body = transcripts.srt(transcripts.cues(entries, origin))
        else:
            text = transcripts.plain_text(entries)
            body = text + "\n" if text else ""
    name = f"call-{call_id}.{'txt' if format == 'text' else format}"
    return Response(body, media_type=transcripts.MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def tags_of(field: str, raw: list[str]) -> list[str]:
    """A call's tags: trimmed, each given once, not blank, at most ``TAGS_MAX`` of at most
    ``TAG_MAX_LENGTH`` characters; or a 422 naming the field."""
    out: list[str] = []
    for n, tag in enumerate(raw):
        name = " ".join(tag.split())
        if not name:
            raise invalid(f"{field}.{n}", "a tag is blank")
        if len(name) > TAG_MAX_LENGTH:
            raise invalid(f"{field}.{n}", f"a tag has at most {TAG_MAX_LENGTH} characters")
        if name not in out:
            out.append(name)
    if len(out) > TAGS_MAX:
        raise invalid(field, f"a call has at most {TAGS_MAX} tags, got {len(out)}")
    return out


class CallUpdate(BaseModel):
    """What a person may change on a call: notes, rating, feedback, tags, custom metadata."""

    # other fields are refused by ``refuse_unknown``, with the reason
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    notes: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    feedback: str | None = None
    tags: list[str] | None = Field(default=None, description="replaces the call's tags")
    metadata: dict[str, Any] | None = Field(
        default=None, description="merged into the call's metadata; a null value removes a key")


@router.patch("/v1/calls/{call_id}", summary="Update a call's notes, rating, feedback, tags, metadata")
def update_call(request: Request, call_id: str, body: CallUpdate, principal: Auth) -> dict[str, Any]:
    refuse_unknown(body)
    values = body.model_dump(exclude_unset=True)
    tags = tags_of("tags", body.tags) if body.tags is not None else None
    with Session(request.app.state.db, expire_on_commit=False) as session:
        call = owned_call(session, principal, call_id)
        for name in ("notes", "rating", "feedback"):
            if name in values:
                call.__setattr__(name, values[name])
        if tags is not None:
            call.tags = tags
        if values.get("metadata") is not None:
            merged = dict(call.metadata_ or {})
            for key, value in values["metadata"].items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            call.metadata_ = merged
        call.updated_at = utcnow()
        session.add(call)
        session.commit()
        data = call_detail(session, call)
    emit(request, CallUpdated(organization_id=principal.organization_id, call_id=call_id,
                              call=row_of(data)))
    return data


def row_of(detail: dict[str, Any]) -> dict[str, Any]:
    """A call's list row (what ``call.*`` events carry) from its detail."""
    return {name: detail[name] for name in ROW_FIELDS}


# The statuses a call record may be stored with: a record is of a call that has ended (a live
# status would stay live forever, with no engine leg to end it)
RECORD_STATUSES = ("completed", "failed", "busy", "no_answer", "canceled")


class CallCreate(BaseModel):
    """A call to place or to record.

    - An outbound ``phone_call`` is dialled through its number's trunk (stored ``queued``).
    - A test call (``is_test``, or ``type: test_call``) needs only the agent: a simulated caller
      of ``persona`` calls it.
    - A record (``direction: inbound``, a ``web_call``, or any call given a ``status``) is stored
      as it is, ended, with its numbers and times, and nothing is dialled: a call that happened
      elsewhere, or an inbound call kept by another system.
    """

    # Fields a client sends that are not ours are refused by ``refuse_unknown`` with the reason
    # (another platform's name for one of ours, the organization, ...), not pydantic's words.
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    agent_id: str
    type: CallType | None = Field(default=None, description="phone_call (default), web_call or "
                                  "test_call")
    direction: Literal["inbound", "outbound"] | None = Field(
        default=None, description="outbound (default for a phone_call: dialled) or inbound (a "
        "record of a call the agent took)")
    user_id: str | None = Field(default=None, description="the console user the call belongs to")
    to_number: str | None = None
    from_number: str | None = None
    phone_number_id: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = Field(default=None, description="the campaign contact called")
    tags: list[str] = Field(default_factory=list, description=f"at most {TAGS_MAX} labels of at "
                            f"most {TAG_MAX_LENGTH} characters; the calls list filters by tag")
    persona: str | None = Field(default=None, description="test calls: the simulated caller's "
                                "persona (GET /v1/personas); default quick_question")
    status: str | None = Field(default=None, description="records: how the call ended, one of "
                               f"{', '.join(RECORD_STATUSES)} (default completed)")
    initiated_at: datetime | None = Field(default=None, description="records: when it began")
    answered_at: datetime | None = Field(default=None, description="records: when it was answered")
    ended_at: datetime | None = Field(default=None, description="records: when it ended")
    provider: str | None = Field(default=None, description="records: who carried the call "
                                 "(stored as metadata.provider)")
    metadata: dict[str, Any] = Field(default_factory=dict, description="free-form; an inbound "
                                     "call's routing rule is metadata.rule_id")
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    is_test: bool = False
    notes: str = ""
    ringing_timeout: Annotated[int, Field(ge=5, le=300, description="seconds")] = 30
    amd: str | None = Field(default=None, description="answering-machine detection: off, "
                            "detect (hang up on a machine) or detect_and_leave_message")
    voicemail_message: str | None = Field(default=None, description="what a machine is left "
                                          "(detect_and_leave_message); {name} fills a variable")


# Other platforms' names for fields of a call request, and ours
FIELD_ALIASES = {
    "ai_agent_id": "agent_id", "assistant_id": "agent_id", "voiceAgentId": "agent_id",
    "call_from": "from_number", "from": "from_number", "caller_phone": "from_number",
    "call_to": "to_number", "to": "to_number", "customer_number": "to_number",
    "call_direction": "direction", "call_type": "type",
    "contact_id": "lead_id", "call_provider": "provider",
    "agent_dynamic_variables": "dynamic_variables", "variables": "dynamic_variables",
    "phoneNumberId": "phone_number_id", "number_id": "phone_number_id",
    "call_status": "status", "started_at": "initiated_at", "call_tag": "tags",
    "call_rating": "rating", "call_feedback": "feedback",
}
# Fields naming the tenant: here the API key's organization is the call's
TENANT_FIELDS = ("company_id", "workspace_id", "organization_id", "organizationId")
# Fields the engine sets itself
ENGINE_FIELDS = ("id", "call_sid", "created_at", "updated_at", "duration", "duration_seconds",
                 "recording_url", "transcript", "cost", "analysis")


def refuse_unknown(body: BaseModel) -> None:
    """A field this request (a new call, or a call's update) does not take: a 422 naming it and
    saying why."""
    for name in body.model_extra or {}:
        if name in FIELD_ALIASES:
            raise invalid(name, f"another platform's name; this API calls it "
                                f"{FIELD_ALIASES[name]} (/compat/ serves the platforms' own "
                                "request shapes)")
        if name in TENANT_FIELDS:
            raise invalid(name, "a call belongs to the organization of the API key; it cannot "
                                "name another")
        if name in ENGINE_FIELDS:
            raise invalid(name, "set by the engine, not by a request")
        what = "a call request" if isinstance(body, CallCreate) else "a call's update"
        raise invalid(name, not_a_field(name, what, type(body).model_fields))


def _amd_metadata(body: CallCreate, is_test: bool) -> dict[str, Any]:
    """``amd_mode`` and ``voicemail_message`` for the call's metadata, or a 422 naming the field."""
    out: dict[str, Any] = {}
    if body.amd is not None:
        if body.amd not in AMD_MODES:
            raise invalid("amd", f"expected one of {', '.join(AMD_MODES)}, got {body.amd!r}")
        if is_test and body.amd != "off":
            raise invalid("amd", "only an outbound call detects answering machines")
        out["amd_mode"] = body.amd
    if body.voicemail_message is not None:
        if not body.voicemail_message.strip():
            raise invalid("voicemail_message", "is empty")
        out["voicemail_message"] = body.voicemail_message
    if body.amd == "detect_and_leave_message" and not body.voicemail_message:
        raise invalid("voicemail_message", "detect_and_leave_message needs the message to leave")
    return out


def _test_call(body: CallCreate) -> bool:
    """Whether the request is for a test call (``is_test`` and ``type`` must agree)."""
    if body.type in ("phone_call", "web_call") and body.is_test:
        raise invalid("type", f"{body.type} contradicts is_test: true; a test call is test_call")
    is_test = body.is_test or body.type == "test_call"
    if body.persona is not None:
        if not is_test:
            raise invalid("persona", "only a test call (is_test: true) has a simulated caller")
        try:
            load_persona(body.persona)
        except PersonaError as exc:
            raise invalid("persona", str(exc)) from None
    if is_test and body.direction == "outbound":
        raise invalid("direction", "a test call is a simulated caller calling the agent: inbound")
    return is_test


def _is_record(body: CallCreate, is_test: bool) -> bool:
    """Whether the request stores a call that happened (nothing is placed)."""
    if is_test:
        if body.status is not None:
            raise invalid("status", "a test call is placed and gets its status as it runs; "
                                    "only a call record is given one")
        return False
    return body.direction == "inbound" or body.type == "web_call" or body.status is not None


_RECORD_ONLY = ("initiated_at", "answered_at", "ended_at")
# A record's end may be this far ahead of the engine's clock (another system's clock)
CLOCK_SKEW = timedelta(minutes=5)
_PLACED_ONLY = ("amd", "voicemail_message")


def _record_fields(body: CallCreate, direction: str) -> dict[str, Any]:
    """The status, times and duration of a call record, or a 422 naming the field."""
    for name in _PLACED_ONLY:
        if getattr(body, name) is not None:
            raise invalid(name, "only an outbound call the engine dials detects answering "
                                "machines; this request records a call")
    status = body.status or "completed"
    if status not in RECORD_STATUSES:
        raise invalid("status", f"a call record is of a call that has ended: one of "
                                f"{', '.join(RECORD_STATUSES)}, got {status!r}")
    now = utcnow()
    ended = as_utc(body.ended_at) if body.ended_at else now
    answered = as_utc(body.answered_at) if body.answered_at else None
    initiated = as_utc(body.initiated_at) if body.initiated_at else (answered or ended)
    if answered is not None and status != "completed":
        raise invalid("answered_at", f"a {status} call was not answered")
    if answered is not None and answered < initiated:
        raise invalid("answered_at", "is before initiated_at")
    if ended < (answered or initiated):
        raise invalid("ended_at", f"is before {'answered_at' if answered else 'initiated_at'}")
    if ended > now + CLOCK_SKEW:
        raise invalid("ended_at", "is in the future; a record is of a call that has ended")
    duration = round((ended - answered).total_seconds()) if answered is not None else None
    if status == "completed" and answered is None and body.initiated_at is not None:
        duration = round((ended - initiated).total_seconds())
        answered = initiated
    return {"status": status, "direction": direction, "initiated_at": initiated,
            "answered_at": answered, "ended_at": ended, "duration_seconds": duration}


def _number(field: str, value: str | None, call_type: str) -> str:
    """A phone call's number in E.164; a web call's caller as given (a visitor's name)."""
    if not value:
        return ""
    if call_type == "web_call":
        if len(value) > 255:
            raise invalid(field, "at most 255 characters")
        return value.strip()
    return validators.e164(field, value)


def _validate_new_call(session: Session, principal: Principal, body: CallCreate) -> dict[str, Any]:
    """The Call fields of a valid request, or a 422 naming the field at fault."""
    refuse_unknown(body)
    is_test = _test_call(body)
    record = _is_record(body, is_test)
    call_type = "test_call" if is_test else (body.type or "phone_call")
    direction = "inbound" if is_test else (
        body.direction or ("inbound" if call_type == "web_call" else "outbound"))
    if not record:
        for name in _RECORD_ONLY:
            if getattr(body, name) is not None:
                raise invalid(name, "only a call record (inbound, a web_call, or given a status) "
                                    "takes it; the engine sets a call it places itself")
    if body.to_number is None and not is_test and not record:
        raise invalid("to_number", "an outbound call needs the number to dial")
    to_number = _number("to_number", body.to_number, call_type)
    validators.reference(session, principal, Agent, "agent_id", body.agent_id)
    validators.reference(session, principal, User, "user_id", body.user_id)
    from_number = _number("from_number", body.from_number, call_type)
    ours = "to_number" if direction == "inbound" and not is_test else "from_number"
    phone_number_id: str | None = None
    sip_trunk_id: str | None = None
    if body.phone_number_id is not None:
        validators.reference(session, principal, PhoneNumber, "phone_number_id", body.phone_number_id)
        number = session.get(PhoneNumber, body.phone_number_id)
        assert number is not None
        given = to_number if ours == "to_number" else from_number
        if given and given != number.number:
            raise invalid(ours, f"differs from phone number {number.number}; give one of them")
        if ours == "to_number":
            to_number = number.number
        else:
            from_number = number.number
        phone_number_id, sip_trunk_id = number.id, number.sip_trunk_id
    elif (to_number if ours == "to_number" else from_number) and call_type != "web_call":
        owned = session.execute(
            select(PhoneNumber).where(
                PhoneNumber.organization_id == principal.organization_id,  # type: ignore[arg-type]
                PhoneNumber.number == (to_number if ours == "to_number" else from_number),  # type: ignore[arg-type]
            )
        ).scalars().first()
        if owned is not None:
            phone_number_id, sip_trunk_id = owned.id, owned.sip_trunk_id
    elif not is_test and not record:
        raise invalid("from_number", "an outbound call needs from_number or phone_number_id")
    validators.reference(session, principal, Campaign, "campaign_id", body.campaign_id)
    if body.lead_id is not None:
        validators.reference(session, principal, Lead, "lead_id", body.lead_id)
        lead = session.get(Lead, body.lead_id)
        assert lead is not None
        if body.campaign_id is not None and lead.campaign_id != body.campaign_id:
            raise invalid("lead_id", f"lead {lead.id} belongs to another campaign")
    metadata = dict(body.metadata)
    fields: dict[str, Any] = {"status": "queued"}
    if record:
        fields = _record_fields(body, direction)
        if body.provider is not None:
            if not body.provider.strip() or len(body.provider) > 100:
                raise invalid("provider", "a name of 1 to 100 characters")
            metadata["provider"] = body.provider.strip()
    else:
        if body.provider is not None:
            raise invalid("provider", "the engine places calls itself, through the SIP trunk of "
                                      "the phone number (phone_number_id); there is no provider "
                                      "to choose")
        metadata.update(_amd_metadata(body, is_test))
    if is_test:
        metadata["persona"] = body.persona or DEFAULT_PERSONA
    return {
        **fields,
        "type": call_type,
        "transport": "webrtc" if call_type == "web_call" else "sip",
        "direction": direction,  # a test call: the agent answers
        "from_number": from_number,
        "to_number": to_number,
        "agent_id": body.agent_id,
        "user_id": body.user_id,
        "phone_number_id": phone_number_id,
        "sip_trunk_id": sip_trunk_id,
        "campaign_id": body.campaign_id,
        "lead_id": body.lead_id,
        "tags": tags_of("tags", body.tags),
        "metadata_": metadata,
        "dynamic_variables": body.dynamic_variables,
        "is_test": is_test,
        "notes": body.notes,
        "ringing_timeout_seconds": body.ringing_timeout,
    }


def create_call(request: Request, principal: Principal, body: CallCreate) -> dict[str, Any]:
    """Validate, store and place (or record) a call; answers its detail. An outbound phone call
    is dialled through its number's trunk, a test call's simulated caller calls the agent, a
    record is only stored. Raises ``ApiError`` (422 naming the field) on a bad request."""
    with Session(request.app.state.db, expire_on_commit=False) as session:
        fields = _validate_new_call(session, principal, body)
        now = utcnow()
        if "initiated_at" not in fields:
            fields["initiated_at"] = now
        call = Call(organization_id=principal.organization_id, created_at=now, updated_at=now,
                    **fields)
        session.add(call)
        record = call.status != "queued"
        engine = request.app.state.engine
        live = engine.live
        dials = live.dials
        placer = engine.test_calls if call.is_test else None
        payload: dict[str, Any] = {"to_number": call.to_number, "from_number": call.from_number,
                                   "is_test": call.is_test}
        if call.is_test:
            payload["persona"] = call.metadata_["persona"]
        if record:
            payload["type"], payload["direction"] = call.type, call.direction
        elif (not dials and not call.is_test) or (call.is_test and placer is None):
            payload["not_dialled"] = ("SIP is off in this engine: the call stays queued "
                                      "(start the engine with --sip-port to dial)")
        session.add(CallEvent(organization_id=principal.organization_id, call_id=call.id,
                              provider="engine",
                              event_type="call.recorded" if record else "call.queued",
                              status=call.status, occurred_at=now,
                              actor=f"api_key:{principal.key_id}", payload=payload))
        session.commit()
        data = call_detail(session, call)
    emit(request, CallCreated(organization_id=principal.organization_id, call_id=call.id,
                              call=row_of(data)))
    if record:
        return data
    if dials and not call.is_test:
        live.dial(call.id)  # dial the queued call through its number's SIP trunk
    elif placer is not None:  # a simulated caller calls the agent
        placer.place_soon(call.id, principal.organization_id, call.metadata_["persona"])
    return data


@router.post("/v1/calls", status_code=201,
             summary="Place a call (an outbound dial, or a test call a simulated caller places) "
                     "or store a call record (inbound, web, or one given its status)")
def post_call(request: Request, body: CallCreate, principal: Auth) -> dict[str, Any]:
    return create_call(request, principal, body)


__all__ = ["RECORD_STATUSES", "CallCreate", "call_detail", "call_summary", "create_call",
           "owned_call", "router", "row_of", "tags_of"]
