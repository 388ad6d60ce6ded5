"""Joining live calls over WebRTC, and web calls to agents.

- ``POST /v1/calls/{id}/join`` answers a peer's SDP offer and adds it to the call's mixer in a
  role (listen, whisper, barge, takeover, agent).
- ``GET /v1/calls/{id}/participants`` lists the joined peers; ``DELETE …/participants/{pid}``
  takes one out (a takeover hands the call back to the AI).
- ``POST /v1/web-calls`` starts a web call to an agent from a peer's offer.

The handlers run in the server's thread pool for the store look-ups; the engine's live calls
(:class:`~engine.calls.facade.LiveCalls`) do the rest on the calls' loop, where the calls and
their peer connections live.
"""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from engine.api import validators
from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError, offer_errors
from engine.api.query import known_query
from engine.api.routes.calls import owned_call
from engine.api.routes.control import actor_of, require_control
from engine.calls.errors import CallError
from engine.calls.facade import UNAVAILABLE, LiveCalls
from engine.calls.live_call import LiveCall
from engine.calls.routing import Route, agent_route
from engine.store import LIVE_STATUSES, Agent

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
Role = Literal["listen", "whisper", "barge", "takeover", "agent"]
MAX_SDP = 64_000


class JoinRequest(BaseModel):
    """A peer's SDP offer and the role it joins in."""

    model_config = ConfigDict(extra="forbid")

    sdp: Annotated[str, Field(min_length=1, max_length=MAX_SDP)]
    type: Literal["offer"] = "offer"
    role: Role


class WebCallRequest(BaseModel):
    """A web call to an agent: the peer's SDP offer and the agent's dynamic variables."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str
    sdp: Annotated[str, Field(min_length=1, max_length=MAX_SDP)]
    type: Literal["offer"] = "offer"
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)


def _live(request: Request) -> LiveCalls:
    """The live calls (503 when the telephony service does not run)."""
    live: LiveCalls = request.app.state.engine.live
    if not live.running:
        raise CallError("UNAVAILABLE", UNAVAILABLE)
    return live


def _check_scope(principal: Principal) -> None:
    require_control(principal, "joining calls")


def _live_call(request: Request, principal: Principal, call_id: str) -> tuple[LiveCall, str]:
    """The live call and the actor asking; 404 for an unknown call, 400 when over."""
    with Session(request.app.state.db) as session:
        actor = actor_of(session, principal)
        live = request.app.state.engine.live.find(call_id, principal.organization_id)
        if live is not None:
            return live, actor
        call = owned_call(session, principal, call_id)
        status = call.status
    if status in LIVE_STATUSES:
        status = "not answered by this engine"
    raise ApiError(400, f"call {call_id} is not live (status {status})", "CALL_NOT_LIVE")


@router.post("/v1/calls/{call_id}/join", summary="Join a live call over WebRTC",
             description="Answers an SDP offer. Roles: listen (hears all, heard by none), whisper "
                         "(heard only by the human agent), barge (heard by all), takeover (the AI "
                         "agent is muted and paused until the joiner leaves), agent (a human "
                         "agent). 400 CALL_NOT_LIVE when the call is over.")
def join_call(request: Request, call_id: str, body: JoinRequest, principal: Auth) -> dict[str, Any]:
    _check_scope(principal)
    live = _live(request)
    call, actor = _live_call(request, principal, call_id)
    with offer_errors():
        answer, pid = live.join(call, body.sdp, body.role, actor)
    return {"sdp": answer, "type": "answer", "participant_id": pid, "role": body.role,
            "call_id": call_id}


@router.get("/v1/calls/{call_id}/participants", summary="The peers joined to a live call",
            dependencies=[Depends(known_query)])
def list_participants(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    live = _live(request)
    call, _ = _live_call(request, principal, call_id)
    return {"items": live.participants(call)}


@router.delete("/v1/calls/{call_id}/participants/{participant_id}",
               summary="Take a joined peer out of a live call (a takeover hands back to the AI)")
def leave_call(request: Request, call_id: str, participant_id: str, principal: Auth) -> dict[str, Any]:
    _check_scope(principal)
    live = _live(request)
    call, actor = _live_call(request, principal, call_id)
    if not live.leave(call, participant_id, actor):
        raise ApiError(404, f"participant {participant_id} not found on call {call_id}", "NOT_FOUND")
    return {"call_id": call_id, "participant_id": participant_id, "left": True}


def _route(request: Request, principal: Principal, agent_id: str,
           variables: dict[str, Any]) -> Route:
    """A web call's route to the agent (422 on ``agent_id`` for an agent of no organization of
    the caller's)."""
    with Session(request.app.state.db) as session:
        validators.reference(session, principal, Agent, "agent_id", agent_id)
    return agent_route(request.app.state.db, principal.organization_id, agent_id, variables)


@router.post("/v1/web-calls", status_code=201, summary="Start a web call to an agent over WebRTC")
def create_web_call(request: Request, body: WebCallRequest, principal: Auth,
                    response: Response) -> dict[str, Any]:
    live = _live(request)
    route = _route(request, principal, body.agent_id, body.dynamic_variables)
    with Session(request.app.state.db) as session:
        actor = actor_of(session, principal)
    with offer_errors():
        call_id, answer = live.web_call(route, body.sdp, actor)
    response.status_code = 201
    return {"call_id": call_id, "sdp": answer, "type": "answer", "agent_id": body.agent_id}


__all__ = ["router"]
