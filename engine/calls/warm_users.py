"""A warm transfer's attempts at console users (``user:<id>``): the call is offered on the bus
(``transfer.offered``) to a user whose presence is ``available``; the user answers with a WebRTC
offer, joining as a human agent, or declines, within the ringing timeout. Once bridged, the user
leaving the call ends it. Mixed into :class:`~engine.calls.warm.WarmTransfer`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from engine.calls.control import ControlError
from engine.calls.summary import last_turns
from engine.calls.transfers import RECIPIENT_HANGUP
from engine.calls.warm_attempts import FINISHED, Attempt, call_ended, load_user

if TYPE_CHECKING:
    from engine.calls.warm import WarmTransfer

USER_WATCH_S = 0.25  # how often a bridged console user's presence in the call is checked


class UserOffers:
    """The console-user side of a warm transfer."""

    def _offered(self: WarmTransfer, user_id: str) -> Attempt:
        self._check_running()
        attempt = self.attempt
        if attempt is None or attempt.offered_to is None:
            raise ControlError(409, "TRANSFER_NOT_OFFERED",
                               f"transfer {self.id} is not offered to a user now")
        if attempt.offered_to != user_id:
            raise ControlError(409, "TRANSFER_NOT_OFFERED",
                               f"transfer {self.id} is offered to another user")
        if attempt.answering:
            raise ControlError(409, "TRANSFER_NOT_OFFERED", "the offer is being answered")
        return attempt

    async def decline(self: WarmTransfer, user_id: str, reason: str | None, actor: str) -> dict[str, Any]:
        """The offered user declines: the next destination is tried."""
        attempt = self._offered(user_id)
        attempt.decline_reason = reason
        count = len(self.attempts)
        self._signals.put_nowait("decline")
        await self._settled(lambda: len(self.attempts) > count or self.status in FINISHED)
        return self.body()

    async def answer(self: WarmTransfer, user_id: str, offer: str, actor: str) -> dict[str, Any]:
        """The offered user takes the call with a WebRTC offer: joined as a human agent, the
        music stops and the AI agent leaves. ``{"sdp", "type", "participant_id"}``."""
        attempt = self._offered(user_id)
        attempt.answering = True
        session = self.session
        try:
            answer, pid = await self.transfers.telephony.joins.join(session, offer, "agent", actor)
        except BaseException:
            attempt.answering = False
            self._signals.put_nowait("retry")
            raise
        if self.status in FINISHED or self._cancel_by is not None or session.ended.is_set():
            attempt.answering = False
            await self.transfers.telephony.joins.leave(session, pid, actor, reason="canceled")
            self._signals.put_nowait("retry")
            raise ControlError(409, "TRANSFER_FINISHED", f"transfer {self.id} is over")
        attempt.participant_id = pid
        attempt.offered_to = None
        self._set_status("bridging")
        self._event("bridging", user_id=user_id, participant_id=pid)
        await self._leave_music_and_agent()
        self._completed(attempt, None, {"identity": f"user:{user_id}", "role": "human",
                                        "user_id": user_id, "participant_id": pid,
                                        "to": attempt.dest.to})
        self._offer_ended(attempt, user_id, "answered")
        self._busy_user = user_id
        self.transfers.set_presence(session, user_id, "busy")
        self._signals.put_nowait("answered")
        return {"sdp": answer, "type": "answer", "participant_id": pid,
                "call_id": session.call_id, "transfer_id": self.id}


    async def _try_user(self: WarmTransfer, attempt: Attempt) -> str:
        session = self.session
        dest = attempt.dest
        user_id = dest.user_id
        assert user_id is not None
        self._dialing(dest)
        user = await asyncio.to_thread(load_user, self.transfers.telephony.db, user_id,
                                       session.organization_id)
        if user is None or user["presence"] != "available":
            presence = user["presence"] if user is not None else "unknown"
            self._attempt_failed(attempt, "unavailable", None, f"presence {presence}")
            return "failed"
        attempt.offered_to = user_id
        self._event("dialing", method="user", user_id=user_id)
        route = session.route
        timeout = float(self.command.ringing_timeout)
        self.transfers.publish("transfer.offered", session, {
            "call_id": session.call_id, "transfer_id": self.id, "user_id": user_id,
            "to": dest.to, "label": dest.label, "summary": dest.summary or self.summary,
            "screening_prompt": dest.screening_prompt,
            "caller": session.remote_party, "agent_id": route.agent_id,
            "agent_name": route.agent_name, "ringing_timeout": self.command.ringing_timeout,
            "last_turns": last_turns(self._turns()), "data": self._data()})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if attempt.answering:
                remaining = max(remaining, 1.0)  # the answer is being joined: let it finish
            if remaining <= 0:
                attempt.offered_to = None
                self._offer_ended(attempt, user_id, "no_answer")
                self._attempt_failed(attempt, "no_answer", None, "not answered in time")
                return "failed"
            signal = await self._next_signal(within=remaining)
            if signal == "answered":
                return "bridged"
            if attempt.answering and signal != "cancel":
                continue
            if signal == "cancel" or call_ended(self.session):
                attempt.offered_to = None
                self._offer_ended(attempt, user_id, "canceled")
                return self._stopped(attempt)
            if signal == "decline":
                attempt.offered_to = None
                self._offer_ended(attempt, user_id, "declined",
                                  declined_reason=attempt.decline_reason)
                self._attempt_failed(attempt, "declined", None,
                                     attempt.decline_reason or "declined by the user")
                return "failed"

    def _offer_ended(self: WarmTransfer, attempt: Attempt, user_id: str, reason: str,
                     **extra: Any) -> None:
        self.transfers.publish("transfer.offer_ended", self.session, {
            "call_id": self.session.call_id, "transfer_id": self.id, "user_id": user_id,
            "reason": reason, **extra})

    async def _until_user_leaves(self: WarmTransfer, pid: str) -> None:
        """Until the call ends or the user who took it leaves (which ends the call)."""
        session = self.session
        joins = self.transfers.telephony.joins
        while not session.ended.is_set():
            if pid not in joins.joined.get(session.call_id, {}):
                session.records.add_event(session.call_id, "engine", "transfer.recipient_hangup",
                                          payload={"transfer_id": self.id,
                                                   "participant_id": pid})
                session.hangup(RECIPIENT_HANGUP)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.ended.wait(), USER_WATCH_S)
