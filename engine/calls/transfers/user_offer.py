"""A warm transfer's attempts at console users (``user:<id>``): the call is offered on the bus
(``transfer.offered``) to a user whose presence is ``available``; the user answers with a WebRTC
offer, joining as a human agent, or declines, within the ringing timeout. Once bridged, the user
leaving the call ends it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from engine.calls.errors import CallError
from engine.calls.summary import last_turns
from engine.calls.transfers.attempts import Attempt, WarmSteps
from engine.calls.transfers.base import FINISHED, RECIPIENT_HANGUP, call_ended
from engine.calls.transfers.signals import CANCEL
from engine.events import TransferOffered, TransferOfferEnded

USER_WATCH_S = 0.25  # how often a bridged console user's presence in the call is checked


class UserOffers:
    """The console-user side of one warm transfer."""

    def __init__(self, steps: WarmSteps) -> None:
        self.steps = steps
        self.busy_user: str | None = None  # the user who took the call (presence busy)

    def _offered(self, user_id: str) -> Attempt:
        steps = self.steps
        steps.check_running()
        attempt = steps.attempt
        if attempt is None or attempt.offered_to is None:
            raise CallError("TRANSFER_NOT_OFFERED",
                            f"transfer {steps.id} is not offered to a user now")
        if attempt.offered_to != user_id:
            raise CallError("TRANSFER_NOT_OFFERED", f"transfer {steps.id} is offered to another user")
        if attempt.answering:
            raise CallError("TRANSFER_NOT_OFFERED", "the offer is being answered")
        return attempt

    def decline(self, user_id: str, reason: str | None) -> int:
        """The offered user declines: the next destination is tried. Returns how many attempts
        had ended before (the transfer waits for one more)."""
        attempt = self._offered(user_id)
        attempt.decline_reason = reason
        self.steps.signals.put("decline")
        return len(self.steps.attempts)

    async def answer(self, user_id: str, offer: str, actor: str) -> dict[str, Any]:
        """The offered user takes the call with a WebRTC offer: joined as a human agent, the
        music stops and the AI agent leaves. ``{"sdp", "type", "participant_id"}``."""
        steps = self.steps
        attempt = self._offered(user_id)
        attempt.answering = True
        call = steps.call
        joins = steps.ctx.joins
        try:
            answer, pid = await joins.join(call, offer, "agent", actor)
        except BaseException:
            attempt.answering = False
            steps.signals.put("retry")
            raise
        if steps.status in FINISHED or steps.canceled_by is not None or call.ended.is_set():
            attempt.answering = False
            await joins.leave(call, pid, actor, reason="canceled")
            steps.signals.put("retry")
            raise CallError("TRANSFER_FINISHED", f"transfer {steps.id} is over")
        attempt.participant_id = pid
        attempt.offered_to = None
        steps.set_status("bridging")
        steps.event("bridging", user_id=user_id, participant_id=pid)
        await steps.leave_music_and_agent()
        steps.completed(attempt, None, {"identity": f"user:{user_id}", "role": "human",
                                        "user_id": user_id, "participant_id": pid,
                                        "to": attempt.dest.to})
        self._offer_ended(user_id, "answered")
        self.busy_user = user_id
        steps.presence(user_id, "busy")
        steps.signals.put("answered")
        return {"sdp": answer, "type": "answer", "participant_id": pid,
                "call_id": call.call_id, "transfer_id": steps.id}

    async def attempt(self, attempt: Attempt) -> str:
        """Offers the call to the attempt's user: ``bridged``, ``failed``, ``canceled`` or
        ``gone``."""
        steps = self.steps
        call = steps.call
        dest = attempt.dest
        user_id = dest.user_id
        assert user_id is not None
        steps.dialing(dest)
        user = await steps.ctx.lookups.user(user_id, call.organization_id)
        if user is None or user["presence"] != "available":
            presence = user["presence"] if user is not None else "unknown"
            steps.attempt_failed(attempt, "unavailable", None, f"presence {presence}")
            return "failed"
        attempt.offered_to = user_id
        steps.event("dialing", method="user", user_id=user_id)
        route = call.route
        timeout = float(steps.command.ringing_timeout)
        turns, data = steps.turns_and_data()
        steps.ctx.emit(TransferOffered(
            organization_id=call.organization_id, call_id=call.call_id, transfer_id=steps.id,
            user_id=user_id, to=dest.to, label=dest.label,
            summary=dest.summary or steps.summary, screening_prompt=dest.screening_prompt,
            caller=call.remote_party, agent_id=route.agent_id, agent_name=route.agent_name,
            ringing_timeout=steps.command.ringing_timeout, last_turns=last_turns(turns),
            call_data=data))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if attempt.answering:
                remaining = max(remaining, 1.0)  # the answer is being joined: let it finish
            if remaining <= 0:
                attempt.offered_to = None
                self._offer_ended(user_id, "no_answer")
                steps.attempt_failed(attempt, "no_answer", None, "not answered in time")
                return "failed"
            signal = await steps.signals.next(within=remaining)
            if signal == "answered":
                return "bridged"
            if attempt.answering and signal != CANCEL:
                continue
            if signal == CANCEL or call_ended(call):
                attempt.offered_to = None
                self._offer_ended(user_id, "canceled")
                return steps.stopped(attempt)
            if signal == "decline":
                attempt.offered_to = None
                self._offer_ended(user_id, "declined", declined_reason=attempt.decline_reason)
                steps.attempt_failed(attempt, "declined", None,
                                     attempt.decline_reason or "declined by the user")
                return "failed"

    def _offer_ended(self, user_id: str, reason: str, declined_reason: str | None = None) -> None:
        steps = self.steps
        steps.ctx.emit(TransferOfferEnded(
            organization_id=steps.call.organization_id, call_id=steps.call.call_id,
            transfer_id=steps.id, user_id=user_id, reason=reason,
            declined_reason=declined_reason))

    async def until_user_leaves(self, pid: str) -> None:
        """Until the call ends or the user who took it leaves (which ends the call)."""
        steps = self.steps
        call = steps.call
        while not call.ended.is_set():
            if not steps.ctx.joins.is_joined(call.call_id, pid):
                call.records.add_event(call.call_id, "engine", "transfer.recipient_hangup",
                                       payload={"transfer_id": steps.id, "participant_id": pid})
                call.hangup(RECIPIENT_HANGUP)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.ended.wait(), USER_WATCH_S)


__all__ = ["USER_WATCH_S", "UserOffers"]
