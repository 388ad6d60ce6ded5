"""Personas and rehearsals: ``GET /v1/personas`` (the simulated callers there are),
``POST /v1/agents/{id}/rehearsals`` (every persona, or the ones named, calls the agent as test
calls; answered 202 at once, the report fills when the calls are over), the agent's rehearsals
newest first, and one rehearsal with its report and its comparison with the agent's previous."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Table, func, select
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import get_owned, page_of
from engine.api.errors import ApiError, invalid
from engine.api.query import known_query
from engine.simulator.personas import PersonaError, load_persona, persona_names
from engine.store import Agent, Rehearsal, iso, utcnow

router = APIRouter(tags=["rehearsals"])

Auth = Annotated[Principal, Depends(principal_from)]
_TABLE: Table = Rehearsal.__table__  # type: ignore[attr-defined]


def _of_agent(principal: Principal, agent_id: str) -> tuple[ColumnElement[bool], ...]:
    return (_TABLE.c.agent_id == agent_id, _TABLE.c.organization_id == principal.organization_id)


def persona_summary(name: str) -> dict[str, Any]:
    persona = load_persona(name)
    outcome = persona.success.outcome
    return {"name": persona.name, "description": persona.description, "goal": persona.goal,
            "success": {"heard": list(persona.success.heard),
                        "ended_by": persona.success.ended_by,
                        "outcome": {"transfer_requested": outcome.transfer_requested,
                                    "tool_called": outcome.tool_called,
                                    "end_reason": outcome.end_reason,
                                    "transcript": list(outcome.transcript)}}}


@router.get("/v1/personas", summary="The simulated callers' personas: name, goal, success",
            dependencies=[Depends(known_query)])
def list_personas(principal: Auth) -> dict[str, Any]:
    try:
        return {"items": [persona_summary(name) for name in persona_names()]}
    except PersonaError as exc:
        raise ApiError(500, str(exc), "PERSONA_FILE") from None


class RehearsalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personas: list[str] | None = Field(
        default=None, description="persona names (GET /v1/personas); default: every persona")


def rehearsal_body(row: Rehearsal) -> dict[str, Any]:
    return {"id": row.id, "agent_id": row.agent_id, "status": row.status,
            "personas": list(row.personas), "report": row.report or None,
            "previous_id": row.previous_id, "error": row.error,
            "created_at": iso(row.created_at), "started_at": iso(row.started_at),
            "ended_at": iso(row.ended_at)}


def _personas(asked: list[str] | None) -> list[str]:
    """The personas to run, each one checked (a 422 naming the entry at fault)."""
    known = persona_names()
    if asked is None:
        return known
    if not asked:
        raise invalid("personas", "name at least one persona, or leave the field out for all")
    for i, name in enumerate(asked):
        if name not in known:
            raise invalid(f"personas[{i}]", f"unknown persona {name!r}; known: {', '.join(known)}")
        try:
            load_persona(name)
        except PersonaError as exc:
            raise invalid(f"personas[{i}]", str(exc)) from None
    return list(dict.fromkeys(asked))


@router.post("/v1/agents/{agent_id}/rehearsals", status_code=202,
             summary="Rehearse an agent: personas call it as test calls and are scored",
             description="Answered at once (202, status queued); GET the rehearsal for its "
                         "report. Each persona's call is a test call (is_test), linked from its "
                         "row of the report.")
def create_rehearsal(request: Request, agent_id: str, principal: Auth, response: Response,
                     body: RehearsalCreate | None = None) -> dict[str, Any]:
    engine = request.app.state.engine
    runner = engine.rehearsals
    with Session(request.app.state.db, expire_on_commit=False) as session:
        get_owned(session, Agent, agent_id, principal, "agent")
        personas = _personas(body.personas if body is not None else None)
        if runner is None:
            raise ApiError(409, "rehearsals need SIP on (serve --sip-port): the personas call "
                           "the agent over SIP", "CONFLICT")
        previous = session.execute(
            select(_TABLE.c.id).where(*_of_agent(principal, agent_id))
            .order_by(_TABLE.c.created_at.desc()).limit(1)).scalar()
        now = utcnow()
        row = Rehearsal(organization_id=principal.organization_id, agent_id=agent_id,
                        personas=personas, previous_id=previous, created_at=now, updated_at=now)
        session.add(row)
        session.commit()
        data = rehearsal_body(row)
    runner.run_soon(row.id)
    response.status_code = 202
    return data


@router.get("/v1/agents/{agent_id}/rehearsals", summary="An agent's rehearsals, newest first",
            dependencies=[Depends(known_query)])
def list_rehearsals(request: Request, agent_id: str, principal: Auth,
                    page: Annotated[int, Query(ge=1)] = 1,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        get_owned(session, Agent, agent_id, principal, "agent")
        where = _of_agent(principal, agent_id)
        total = session.execute(select(func.count()).select_from(_TABLE).where(*where)).scalar()
        rows = session.execute(
            select(Rehearsal).where(*where).order_by(_TABLE.c.created_at.desc())
            .offset((page - 1) * limit).limit(limit)).scalars().all()
        return page_of([rehearsal_body(r) for r in rows], page, limit, int(total or 0))


@router.get("/v1/rehearsals/{rehearsal_id}",
            summary="A rehearsal: its report per persona, and what changed since the previous")
def get_rehearsal(request: Request, rehearsal_id: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        row = get_owned(session, Rehearsal, rehearsal_id, principal, "rehearsal")
        return rehearsal_body(row)


__all__ = ["router"]
