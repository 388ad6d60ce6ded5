"""``POST /v1/calls/{id}/control``: a supervisor's live commands on a call in progress.

The handler runs in the server's thread pool; the engine's live calls
(:class:`~engine.calls.facade.LiveCalls`) run the command on the calls' loop and the handler
waits for its outcome.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signature.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import emit
from engine.api.errors import ApiError, invalid
from engine.api.routes.calls import owned_call
from engine.calls.commands import COMMAND_TYPES, CommandError, content_of, parse_command
from engine.calls.control import WHISPER_TO, WHISPERED
from engine.calls.facade import LiveCalls
from engine.events import CallControl, CallWhisper
from engine.store import ApiKey

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
CONTROL_SCOPES = ("admin", "write", "supervisor")

EXAMPLES: dict[str, Any] = {
    "say": {"value": {"type": "say", "content": "A colleague will call you back today.",
                      "interrupt": True, "interruptible": True, "end_after": False}},
    "inject_context": {"value": {"type": "inject_context", "trigger_response": True,
                                 "content": "The caller is a premium customer; offer the upgrade."}},
    "end_call": {"value": {"type": "end_call", "message": "Thank you for calling. Goodbye!"}},
    "hold": {"value": {"type": "hold"}},
    "resume": {"value": {"type": "resume"}},
    "mute_agent": {"value": {"type": "mute_agent"}},
    "unmute_agent": {"value": {"type": "unmute_agent"}},
    "dtmf": {"value": {"type": "dtmf", "digits": "1234#"}},
    "transfer": {"value": {"type": "transfer", "to": "+14155550123", "ringing_timeout": 30}},
}


def require_control(principal: Principal, action: str) -> None:
    """403 unless the key may act on live calls (admin, write or supervisor scope)."""
    if not any(scope in principal.scopes for scope in CONTROL_SCOPES):
        raise ApiError(403, f"{action} needs an admin, write or supervisor key", "FORBIDDEN")


def actor_of(session: Session, principal: Principal) -> str:
    """Who gave a command: the API key's name (its id when unnamed)."""
    key = session.get(ApiKey, principal.key_id)
    name = key.name.strip() if key is not None and key.name else ""
    return f"api_key:{name or principal.key_id}"


@router.post("/v1/calls/{call_id}/control", summary="Send a live control command to a call",
             description=f"One of {', '.join(COMMAND_TYPES)}. 400 CALL_NOT_LIVE when the call "
                         "is over; end_call is idempotent (ending, then already_ended). While a "
                         "human has the call (taken over, or transferred to a console user) "
                         "inject_context goes to that human (whispered_to_human, bus event "
                         "call.whisper); 409 NO_HUMAN_SCREEN after a transfer to a phone.")
def control_call(
    request: Request,
    call_id: str,
    principal: Auth,
    body: Annotated[dict[str, Any], Body(openapi_examples=EXAMPLES)],
) -> dict[str, Any]:
    require_control(principal, "controlling calls")
    try:
        command = parse_command(body)
    except CommandError as exc:
        raise invalid(exc.field, exc.message) from None
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        status = call.status
        actor = actor_of(session, principal)
    live: LiveCalls = request.app.state.engine.live
    result = live.command(call_id, principal.organization_id, command, actor, status)
    organization_id = principal.organization_id
    emit(request, CallControl(organization_id=organization_id, call_id=call_id,
                              command=command.type, actor=actor, content=content_of(command),
                              result=result["result"], status=result["status"]))
    if result["result"] == WHISPERED:  # a human has the call: their screens show the text
        emit(request, CallWhisper(organization_id=organization_id, call_id=call_id,
                                  content=content_of(command), actor=actor, to=WHISPER_TO))
    return result


__all__ = ["router"]
