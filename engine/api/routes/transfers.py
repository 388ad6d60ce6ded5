"""``POST /v1/calls/{id}/transfers/blind``: transfer a live call's caller to a phone number or a
SIP URI, by SIP REFER where the call's trunk allows it or by a new leg that replaces the AI agent
once answered (``method``: auto, refer, bridge); the transfer row comes back at once and its
progress follows in ``GET /v1/calls/{id}/transfers`` and ``transfer.*`` events."""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signature.

import asyncio
import concurrent.futures
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import publish
from engine.api.errors import ApiError, invalid
from engine.api.routes.calls import owned_call
from engine.api.routes.control import actor_of, require_control
from engine.calls.commands import CommandError, Transfer, parse_command
from engine.calls.control import ControlError, not_live
from engine.store import LIVE_STATUSES

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
START_TIMEOUT_S = 15.0  # starting a transfer looks up the trunk and writes the row

EXAMPLES: dict[str, Any] = {
    "phone number": {"value": {"to": "+14155550123", "ringing_timeout": 30,
                               "play_dialtone": False}},
    "sip uri": {"value": {"to": "sip:frontdesk@127.0.0.1:5080", "ringing_timeout": 20,
                          "play_dialtone": True}},
    "bridge only": {"value": {"to": "sip:frontdesk@127.0.0.1:5080", "method": "bridge"}},
}


@router.post("/v1/calls/{call_id}/transfers/blind", status_code=201,
             summary="Blind-transfer a live call",
             description="`method: auto` (the default) first sends a SIP REFER asking the "
                         "caller's side to call `to`, where the call's trunk allows REFER; once "
                         "the caller reaches `to` the engine hangs up its leg. A refused REFER "
                         "falls back to dial and bridge: the engine dials `to` (E.164 through "
                         "the call's trunk, or a sip: URI) and bridges the caller to whoever "
                         "answers; the AI agent leaves the call. `refer` and `bridge` use one "
                         "way only (409 REFER_NOT_ALLOWED when REFER is not possible). On busy, "
                         "decline, no answer or failure the agent takes the call back. 400 "
                         "CALL_NOT_LIVE when the call is over, 409 while another transfer runs.")
def blind_transfer(
    request: Request,
    call_id: str,
    principal: Auth,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES)],
) -> dict[str, Any]:
    require_control(principal, "transferring calls")
    if not isinstance(body, dict):
        raise invalid("body", "expected a JSON object with to")
    if "type" in body:
        raise invalid("type", "not a field of a blind transfer")
    try:
        command = parse_command({"type": "transfer", **body})
    except CommandError as exc:
        raise invalid(exc.field, exc.message) from None
    assert isinstance(command, Transfer)
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        status = call.status
        actor = actor_of(session, principal)
    telephony = request.app.state.engine.telephony
    loop = telephony.loop if telephony is not None else None
    if status not in LIVE_STATUSES or loop is None:
        error = not_live(call_id, status)
        raise ApiError(error.status, error.message, error.code)
    future = asyncio.run_coroutine_threadsafe(
        telephony.transfers.blind(call_id, command, actor, status), loop)
    try:
        started: dict[str, Any] = future.result(START_TIMEOUT_S)
    except ControlError as exc:
        raise ApiError(exc.status, exc.message, exc.code) from None
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise ApiError(504, "the call did not start the transfer in time",
                       "CONTROL_TIMEOUT") from None
    publish(request, "call.control", principal,
            {"call_id": call_id, "type": "transfer", "actor": actor, "content": command.to,
             "result": "transferring", "status": "transferring"}, call_id=call_id)
    return started


__all__ = ["router"]
