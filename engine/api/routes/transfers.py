"""Transfers of live calls; each answers with the transfer row at once, and its progress follows
in ``GET /v1/calls/{id}/transfers`` and ``transfer.*`` events.

- ``POST /v1/calls/{id}/transfers/blind``: to a phone number or a SIP URI, by SIP REFER where the
  call's trunk allows it or by a new leg that replaces the AI agent once answered (``method``:
  auto, refer, bridge).
- ``POST /v1/calls/{id}/transfers/warm``: the caller waits with music while each destination
  (a phone number, a SIP URI or ``user:<id>``) is briefed and accepts or declines; a fallback
  when none accepts.
- ``POST …/transfers/{tid}/complete`` forces the bridge to the consulted destination,
  ``…/cancel`` stops a transfer, ``…/answer`` and ``…/decline`` are a console user's answer to
  a transfer offered to them.

The handlers run in the server's thread pool for the store look-ups; the engine's live calls
(:class:`~engine.calls.facade.LiveCalls`) do the rest on the calls' loop.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signature.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import emit
from engine.api.errors import ApiError, invalid, not_found, offer_errors
from engine.api.routes.calls import owned_call
from engine.api.routes.control import actor_of, require_control
from engine.calls.commands import (
    CommandError,
    Transfer,
    WarmTransfer,
    parse_command,
    parse_warm_transfer,
    user_of,
)
from engine.calls.facade import LiveCalls
from engine.calls.transfers.attempts import queued_destination, transfer_view
from engine.events import CallControl
from engine.store import Transfer as TransferRow
from engine.store import User

router = APIRouter(tags=["calls"])

Auth = Annotated[Principal, Depends(principal_from)]
FINISHED = ("completed", "failed", "canceled")
MAX_SDP = 64_000

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
    started = _live(request).blind_transfer(call_id, principal.organization_id, command, actor,
                                            status)
    emit(request, CallControl(organization_id=principal.organization_id, call_id=call_id,
                              command="transfer", actor=actor, content=command.to,
                              result="transferring", status="transferring"))
    return {**started, "next_transfer": queued_destination(started)}


WARM_EXAMPLES: dict[str, Any] = {
    "two destinations": {"value": {
        "destinations": [
            {"to": "sip:frontdesk@127.0.0.1:5080", "label": "Front desk",
             "screening_prompt": "Incoming transfer for the front desk."},
            {"to": "+14155550123", "label": "Duty manager"},
        ],
        "summary": "The caller wants to change a delivery address.",
        "ringing_timeout": 20,
        "fallback": {"strategy": "take_message"}}},
    "a console user": {"value": {
        "destinations": [{"to": "user:5f0c1d2e-0000-4000-8000-000000000001", "label": "Dana"}],
        "fallback": {"strategy": "return_to_agent",
                     "message": "Dana is not available; let me help you myself."}}},
}


class AnswerRequest(BaseModel):
    """A console user's answer to a transfer offered to them: their WebRTC offer."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=36)]
    sdp: Annotated[str, Field(min_length=1, max_length=MAX_SDP)]
    type: Literal["offer"] = "offer"


class DeclineRequest(BaseModel):
    """A console user declines a transfer offered to them."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=36)]
    reason: Annotated[str | None, Field(max_length=500)] = None


def _live(request: Request) -> LiveCalls:
    live: LiveCalls = request.app.state.engine.live
    return live


def _check_users(session: Session, principal: Principal, command: WarmTransfer) -> None:
    """422 on ``destinations[i].to`` for a ``user:<id>`` that is not a user of the caller's
    organization."""
    for index, dest in enumerate(command.destinations):
        user_id = user_of(dest.to)
        if user_id is None:
            continue
        user = session.get(User, user_id)
        if user is None or user.organization_id != principal.organization_id:
            raise invalid(f"destinations[{index}].to", f"no console user {user_id}")


@router.post("/v1/calls/{call_id}/transfers/warm", status_code=201,
             summary="Warm-transfer a live call",
             description="The caller hears music on hold (the AI agent is paused and muted) while "
                         "each destination is tried in turn, ringing up to `ringing_timeout` "
                         "seconds (1-300, default 30). `to` is an E.164 number (through the "
                         "call's trunk), a sip: URI or `user:<id>` (a console user of the "
                         "organization: the bus event `transfer.offered` asks them, and they "
                         "answer with `POST …/answer` or decline). A phone or SIP recipient "
                         "hears a spoken briefing (its `screening_prompt`, its `summary`, the "
                         "transfer's `summary` or one made from the transcript) and presses 1 "
                         "to accept (the caller is bridged and the AI agent leaves) or 2 to "
                         "decline. Declines, busy, no answer and failures go to "
                         "`routing_attempts` and the next destination follows; when none "
                         "accepts, `fallback.strategy` runs: return_to_agent (default), "
                         "take_message or end_call, saying `fallback.message` if given. 422 "
                         "names the field at fault (e.g. `destinations[1].to`); 400 "
                         "CALL_NOT_LIVE when the call is over, 409 while another transfer "
                         "runs.")
def warm_transfer(
    request: Request,
    call_id: str,
    principal: Auth,
    body: Annotated[dict[str, Any], Body(openapi_examples=WARM_EXAMPLES)],
) -> dict[str, Any]:
    require_control(principal, "transferring calls")
    try:
        command = parse_warm_transfer(body)
    except CommandError as exc:
        raise invalid(exc.field, exc.message) from None
    with Session(request.app.state.db) as session:
        call = owned_call(session, principal, call_id)
        status = call.status
        actor = actor_of(session, principal)
        _check_users(session, principal, command)
    started = _live(request).warm_transfer(call_id, principal.organization_id, command, actor,
                                           status)
    emit(request, CallControl(organization_id=principal.organization_id, call_id=call_id,
                              command="warm_transfer", actor=actor,
                              content=", ".join(d.to for d in command.destinations),
                              result="transferring", status="transferring"))
    return started


def _running(request: Request, principal: Principal, call_id: str,
             transfer_id: str) -> tuple[LiveCalls, str]:
    """The live calls and the actor, for a transfer of the caller's call that is still
    running: 404 for an unknown call or transfer, 409 TRANSFER_FINISHED when over."""
    with Session(request.app.state.db) as session:
        owned_call(session, principal, call_id)
        row = session.get(TransferRow, transfer_id)
        if row is None or row.call_id != call_id:
            raise not_found("transfer", transfer_id)
        if row.status in FINISHED:
            raise ApiError(409, f"transfer {transfer_id} is {row.status} already",
                           "TRANSFER_FINISHED")
        actor = actor_of(session, principal)
    return _live(request), actor


@router.get("/v1/calls/{call_id}/transfers/{transfer_id}", summary="One transfer of a call",
            description="The transfer with its `routing_attempts` and `next_transfer`: the "
                        "transfer tried after it on the call when it reached nobody, or the "
                        "destination a running warm transfer has queued next (`id` null, "
                        "`status` queued); null at the end of the chain.")
def get_transfer(request: Request, call_id: str, transfer_id: str,
                 principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        owned_call(session, principal, call_id)
        row = session.get(TransferRow, transfer_id)
        if row is None or row.call_id != call_id \
                or row.organization_id != principal.organization_id:
            raise not_found("transfer", transfer_id)
        return transfer_view(session, row)


@router.post("/v1/calls/{call_id}/transfers/{transfer_id}/complete",
             summary="Bridge a warm transfer to the destination being consulted",
             description="While a warm transfer's destination is on the line (dialing or "
                         "screening, answered), bridges the caller to it now as if it had "
                         "pressed 1: the music stops and the AI agent leaves. Answers the "
                         "transfer row. 409 TRANSFER_NOT_READY when no consultation leg has "
                         "answered yet (or for a blind transfer), 409 TRANSFER_FINISHED when the "
                         "transfer is over, 404 for an unknown transfer of this call.")
def complete_transfer(request: Request, call_id: str, transfer_id: str,
                      principal: Auth) -> dict[str, Any]:
    require_control(principal, "completing transfers")
    live, actor = _running(request, principal, call_id, transfer_id)
    return live.complete_transfer(call_id, transfer_id, actor)


@router.post("/v1/calls/{call_id}/transfers/{transfer_id}/cancel",
             summary="Cancel a running transfer",
             description="A warm transfer's consultation leg (or offer) ends and the AI agent "
                         "takes the call back; a blind transfer can be canceled while its new leg "
                         "rings (dial and bridge). The transfer ends `canceled`; answers its row. "
                         "409 TRANSFER_FINISHED when it is over, 409 TRANSFER_NOT_CANCELABLE for "
                         "a blind transfer that is not ringing, 404 for an unknown transfer.")
def cancel_transfer(request: Request, call_id: str, transfer_id: str,
                    principal: Auth) -> dict[str, Any]:
    require_control(principal, "canceling transfers")
    live, actor = _running(request, principal, call_id, transfer_id)
    canceled = live.cancel_transfer(call_id, transfer_id, actor)
    return {**canceled, "next_transfer": queued_destination(canceled)}


@router.post("/v1/calls/{call_id}/transfers/{transfer_id}/answer",
             summary="Take a warm transfer offered to a console user",
             description="The user the transfer is offered to (`transfer.offered`, destination "
                         "`user:<id>`) answers with a WebRTC offer and joins the call as a human "
                         "agent: the music stops, the AI agent leaves and the transfer completes. "
                         "Answers `{sdp, type: answer, participant_id}`. 409 "
                         "TRANSFER_NOT_OFFERED when the transfer is not offered to `user_id` "
                         "now, 422 on `sdp` for an offer that cannot be answered.")
def answer_transfer(request: Request, call_id: str, transfer_id: str, body: AnswerRequest,
                    principal: Auth) -> dict[str, Any]:
    require_control(principal, "answering transfers")
    live, actor = _running(request, principal, call_id, transfer_id)
    with offer_errors():
        return live.answer_transfer(call_id, transfer_id, body.user_id, body.sdp, actor)


@router.post("/v1/calls/{call_id}/transfers/{transfer_id}/decline",
             summary="Decline a warm transfer offered to a console user",
             description="The offered user declines (`reason` is kept in the routing attempt); "
                         "the next destination is tried, or the fallback runs. Answers the "
                         "transfer row. 409 TRANSFER_NOT_OFFERED when the transfer is not "
                         "offered to `user_id` now.")
def decline_transfer(request: Request, call_id: str, transfer_id: str, body: DeclineRequest,
                     principal: Auth) -> dict[str, Any]:
    require_control(principal, "declining transfers")
    live, actor = _running(request, principal, call_id, transfer_id)
    return live.decline_transfer(call_id, transfer_id, body.user_id, body.reason, actor)


__all__ = ["router"]
