"""``/v1/calls``: the paged, sorted, filtered list; one call's detail; notes; new outbound calls."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from engine.api import call_schema, validators
from engine.api.auth import Principal, principal_from
from engine.api.crud import emit, get_owned, page_of
from engine.api.errors import invalid
from engine.api.paging import Cursor
from engine.api.routes.params import time_param
from engine.calls import listing
from engine.calls.amd_gate import AMD_MODES
from engine.calls.serialize import SUMMARY_FIELDS, detail, record, summary_row
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
)
from engine.store.timeutil import utcnow

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
SortBy = Literal[CALL_SORTS]  # type: ignore[valid-type]


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


def call_detail(session: Session, call: Call) -> dict[str, Any]:
    """One call with its transcript entries, transfers, analysis, costs, latency."""
    entries = session.execute(
        select(TranscriptEntry).where(TranscriptEntry.call_id == call.id)  # type: ignore[arg-type]
        .order_by(TranscriptEntry.index, TranscriptEntry.created_at)  # type: ignore[arg-type]
    ).scalars().all()
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


@router.get("/v1/calls", summary="List calls", responses=call_schema.LIST_RESPONSES)
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


class CallUpdate(BaseModel):
    """What a person may change on a call: notes, rating, feedback, custom metadata."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    feedback: str | None = None
    metadata: dict[str, Any] | None = Field(
        default=None, description="merged into the call's metadata; a null value removes a key")


@router.patch("/v1/calls/{call_id}", summary="Update a call's notes, rating, feedback, metadata")
def update_call(request: Request, call_id: str, body: CallUpdate, principal: Auth) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    with Session(request.app.state.db, expire_on_commit=False) as session:
        call = owned_call(session, principal, call_id)
        for name in ("notes", "rating", "feedback"):
            if name in values:
                call.__setattr__(name, values[name])
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
        summary = {name: data[name] for name in (*SUMMARY_FIELDS, "agent_name")}
    emit(request, CallUpdated(organization_id=principal.organization_id, call_id=call_id,
                              call=summary))
    return data


class CallCreate(BaseModel):
    """An outbound or test call request; it is stored ``queued``. A test call (``is_test``, or
    ``type: test_call``) needs only the agent: a simulated caller of ``persona`` calls it."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str
    to_number: str | None = None
    type: Literal["phone_call", "test_call"] | None = None
    persona: str | None = Field(default=None, description="test calls: the simulated caller's "
                                "persona (GET /v1/personas); default quick_question")
    from_number: str | None = None
    phone_number_id: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    is_test: bool = False
    notes: str = ""
    ringing_timeout: Annotated[int, Field(ge=5, le=300, description="seconds")] = 30
    amd: str | None = Field(default=None, description="answering-machine detection: off, "
                            "detect (hang up on a machine) or detect_and_leave_message")
    voicemail_message: str | None = Field(default=None, description="what a machine is left "
                                          "(detect_and_leave_message); {name} fills a variable")


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
    if body.type == "phone_call" and body.is_test:
        raise invalid("type", "phone_call contradicts is_test: true; a test call is test_call")
    is_test = body.is_test or body.type == "test_call"
    if body.persona is not None:
        if not is_test:
            raise invalid("persona", "only a test call (is_test: true) has a simulated caller")
        try:
            load_persona(body.persona)
        except PersonaError as exc:
            raise invalid("persona", str(exc)) from None
    return is_test


def _validate_new_call(session: Session, principal: Principal, body: CallCreate) -> dict[str, Any]:
    """The Call fields of a valid request, or a 422 naming the field at fault."""
    is_test = _test_call(body)
    if body.to_number is None and not is_test:
        raise invalid("to_number", "an outbound call needs the number to dial")
    to_number = validators.e164("to_number", body.to_number) if body.to_number else ""
    validators.reference(session, principal, Agent, "agent_id", body.agent_id)
    from_number = validators.e164("from_number", body.from_number) if body.from_number else None
    phone_number_id: str | None = None
    sip_trunk_id: str | None = None
    if body.phone_number_id is not None:
        validators.reference(session, principal, PhoneNumber, "phone_number_id", body.phone_number_id)
        number = session.get(PhoneNumber, body.phone_number_id)
        assert number is not None
        if from_number is not None and from_number != number.number:
            raise invalid("from_number", f"differs from phone number {number.number}; give one of them")
        from_number, phone_number_id, sip_trunk_id = number.number, number.id, number.sip_trunk_id
    elif from_number is not None:
        owned = session.execute(
            select(PhoneNumber).where(
                PhoneNumber.organization_id == principal.organization_id,  # type: ignore[arg-type]
                PhoneNumber.number == from_number,  # type: ignore[arg-type]
            )
        ).scalars().first()
        if owned is not None:
            phone_number_id, sip_trunk_id = owned.id, owned.sip_trunk_id
    elif not is_test:
        raise invalid("from_number", "an outbound call needs from_number or phone_number_id")
    validators.reference(session, principal, Campaign, "campaign_id", body.campaign_id)
    if body.lead_id is not None:
        validators.reference(session, principal, Lead, "lead_id", body.lead_id)
        lead = session.get(Lead, body.lead_id)
        assert lead is not None
        if body.campaign_id is not None and lead.campaign_id != body.campaign_id:
            raise invalid("lead_id", f"lead {lead.id} belongs to another campaign")
    metadata = {**body.metadata, **_amd_metadata(body, is_test)}
    if is_test:
        metadata["persona"] = body.persona or DEFAULT_PERSONA
    return {
        "type": "test_call" if is_test else "phone_call",
        "transport": "sip",
        "direction": "inbound" if is_test else "outbound",  # a test call: the agent answers
        "from_number": from_number or "",
        "to_number": to_number,
        "agent_id": body.agent_id,
        "phone_number_id": phone_number_id,
        "sip_trunk_id": sip_trunk_id,
        "campaign_id": body.campaign_id,
        "lead_id": body.lead_id,
        "metadata_": metadata,
        "dynamic_variables": body.dynamic_variables,
        "is_test": is_test,
        "notes": body.notes,
        "ringing_timeout_seconds": body.ringing_timeout,
    }


@router.post("/v1/calls", status_code=201,
             summary="Request an outbound call (dialled through its number's trunk) or a test call "
                     "(a simulated caller calls the agent)")
def create_call(request: Request, body: CallCreate, principal: Auth, response: Response) -> dict[str, Any]:
    with Session(request.app.state.db, expire_on_commit=False) as session:
        fields = _validate_new_call(session, principal, body)
        now = utcnow()
        call = Call(organization_id=principal.organization_id, status="queued", initiated_at=now,
                    created_at=now, updated_at=now, **fields)
        session.add(call)
        engine = request.app.state.engine
        live = engine.live
        dials = live.dials
        placer = engine.test_calls if call.is_test else None
        payload: dict[str, Any] = {"to_number": call.to_number, "from_number": call.from_number,
                                   "is_test": call.is_test}
        if call.is_test:
            payload["persona"] = call.metadata_["persona"]
        if (not dials and not call.is_test) or (call.is_test and placer is None):
            payload["not_dialled"] = ("SIP is off in this engine: the call stays queued "
                                      "(start the engine with --sip-port to dial)")
        session.add(CallEvent(organization_id=principal.organization_id, call_id=call.id,
                              provider="engine", event_type="call.queued", status="queued",
                              occurred_at=now, actor=f"api_key:{principal.key_id}",
                              payload=payload))
        session.commit()
        data = call_detail(session, call)
        summary = {name: data[name] for name in (*SUMMARY_FIELDS, "agent_name")}
    response.status_code = 201
    emit(request, CallCreated(organization_id=principal.organization_id, call_id=call.id,
                              call=summary))
    if dials and not call.is_test:
        live.dial(call.id)  # dial the queued call through its number's SIP trunk
    elif placer is not None:  # a simulated caller calls the agent
        placer.place_soon(call.id, principal.organization_id, call.metadata_["persona"])
    return data


__all__ = ["call_detail", "call_summary", "owned_call", "router"]
