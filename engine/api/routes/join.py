"""Joining live calls over WebRTC, and web calls to agents.

- ``POST /v1/calls/{id}/join`` answers a peer's SDP offer and adds it to the call's mixer in a
  role (listen, whisper, barge, takeover, agent).
- ``GET /v1/calls/{id}/participants`` lists the joined peers; ``DELETE …/participants/{pid}``
  takes one out (a takeover hands the call back to the AI).
- ``POST /v1/web-calls`` starts a web call to an agent from a peer's offer.

The handlers run in the server's thread pool for the store look-ups; the calls and their peer
connections live on the telephony service's loop, so the work hops there.
"""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from engine.api import validators
from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError, invalid
from engine.api.routes.calls import owned_call
from engine.api.routes.control import actor_of, require_control
from engine.calls.joins import JoinError, LiveJoins
from engine.calls.session import Route
from engine.store import LIVE_STATUSES, Agent

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
Role = Literal["listen", "whisper", "barge", "takeover", "agent"]
# An answer needs the offer applied and host candidates gathered (measured: ~10 ms on loopback);
# the bound covers a loaded machine.
ANSWER_TIMEOUT_S = 20.0
MAX_SDP = 64_000

T = TypeVar("T")


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


def _joins(request: Request) -> tuple[LiveJoins, asyncio.AbstractEventLoop]:
    telephony = request.app.state.engine.telephony
    loop = telephony.loop if telephony is not None else None
    if telephony is None or loop is None:
        raise ApiError(503, "live calls need the telephony service (serve with --sip-port)",
                       "UNAVAILABLE")
    return telephony.joins, loop


def _on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` on the calls' loop and waits for it (from a worker thread)."""
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result(ANSWER_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise ApiError(504, "the engine did not answer the offer in time", "TIMEOUT") from None
    except JoinError as exc:
        raise ApiError(exc.status, exc.message, exc.code, exc.field) from None
    except ValueError as exc:  # engine.webrtc.OfferError
        raise invalid("sdp", str(exc)) from None


def _check_scope(principal: Principal) -> None:
    require_control(principal, "joining calls")


def _live_session(request: Request, principal: Principal, call_id: str) -> tuple[Any, str]:
    """The call's live session and the actor asking; 404 for an unknown call, 400 when over."""
    with Session(request.app.state.db) as session:
        actor = actor_of(session, principal)
        telephony = request.app.state.engine.telephony
        live = telephony.joins.session(call_id, principal.organization_id) \
            if telephony is not None else None
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
    joins, loop = _joins(request)
    session, actor = _live_session(request, principal, call_id)
    answer, pid = _on_loop(loop, joins.join(session, body.sdp, body.role, actor))
    return {"sdp": answer, "type": "answer", "participant_id": pid, "role": body.role,
            "call_id": call_id}


@router.get("/v1/calls/{call_id}/participants", summary="The peers joined to a live call")
def list_participants(request: Request, call_id: str, principal: Auth) -> dict[str, Any]:
    joins, _ = _joins(request)
    session, _ = _live_session(request, principal, call_id)
    return {"items": joins.participants(session.call_id)}


@router.delete("/v1/calls/{call_id}/participants/{participant_id}",
               summary="Take a joined peer out of a live call (a takeover hands back to the AI)")
def leave_call(request: Request, call_id: str, participant_id: str, principal: Auth) -> dict[str, Any]:
    _check_scope(principal)
    joins, loop = _joins(request)
    session, actor = _live_session(request, principal, call_id)
    if not _on_loop(loop, joins.leave(session, participant_id, actor)):
        raise ApiError(404, f"participant {participant_id} not found on call {call_id}", "NOT_FOUND")
    return {"call_id": call_id, "participant_id": participant_id, "left": True}


def _route(request: Request, principal: Principal, agent_id: str) -> Route:
    with Session(request.app.state.db) as session:
        validators.reference(session, principal, Agent, "agent_id", agent_id)
        agent = session.get(Agent, agent_id)
        assert agent is not None
        tts = agent.tts or {}
        return Route(organization_id=principal.organization_id, phone_number_id="", number="",
                     agent_id=agent.id, agent_name=agent.name, first_message=agent.first_message,
                     voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None)


@router.post("/v1/web-calls", status_code=201, summary="Start a web call to an agent over WebRTC")
def create_web_call(request: Request, body: WebCallRequest, principal: Auth,
                    response: Response) -> dict[str, Any]:
    joins, loop = _joins(request)
    route = _route(request, principal, body.agent_id)
    with Session(request.app.state.db) as session:
        actor = actor_of(session, principal)
    call_id, answer = _on_loop(loop, joins.web_call(route, body.sdp,
                                                    variables=body.dynamic_variables, actor=actor))
    response.status_code = 201
    return {"call_id": call_id, "sdp": answer, "type": "answer", "agent_id": body.agent_id}


__all__ = ["router"]
