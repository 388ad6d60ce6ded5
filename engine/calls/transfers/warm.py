"""Warm transfers of live calls (DESIGN §5.4): the caller waits on hold while each destination
is consulted in turn, and is bridged to the first one that accepts. "The caller" is the remote
party: the callee of an outbound call, the browser of a web call.

The caller hears locally generated music (:data:`~engine.media.MUSIC_MASKS`, audible to the
caller only); the AI agent is paused and muted, and the call is ``transferring``. Each
destination is one attempt: a phone number or ``sip:`` URI is consulted on a leg of its own
(:mod:`engine.calls.transfers.consultation`); ``user:<id>`` offers the call to a console user's
softphone (:mod:`engine.calls.transfers.user_offer`).

Every failed attempt is written to ``routing_attempts`` with its cause and the next destination
follows (``transfer.next_destination``). When none accepts, the fallback runs: the agent takes
the call back and apologises (``return_to_agent``), takes a message (``take_message``: the brain
is told to ask for a name, a number and the message), or says goodbye and hangs up
(``end_call``); the transfer is ``failed`` with the last attempt's cause. The main steps (start,
each failed attempt, the bridge, the fallback, a cancel) are ``system`` lines of the call's
transcript too.

A supervisor may force the bridge to an answered consultation leg (:meth:`WarmTransfer.complete`)
or cancel the transfer (:meth:`WarmTransfer.cancel`): the leg hangs up and the agent takes the
call back. Once bridged, either side hanging up ends the call.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.calls.commands import WarmTransfer as WarmCommand
from engine.calls.errors import CallError
from engine.calls.summary import Turn, summarize_call
from engine.calls.transfers.attempts import Attempt, Destination
from engine.calls.transfers.base import FINISHED, NOT_CONNECTED, TransferBase, call_ended
from engine.calls.transfers.consultation import Consultation
from engine.calls.transfers.context import TransferableCall, TransferContext
from engine.calls.transfers.signals import Signals
from engine.calls.transfers.user_offer import UserOffers
from engine.events import UserUpdated
from engine.media import MUSIC_MASKS, HoldMusic, Participant
from engine.store import User
from engine.store.columns import row_dict
from engine.store.timeutil import iso, utcnow

log = logging.getLogger(__name__)

TAKE_MESSAGE = ("I'm sorry, nobody is available to take your call right now. "
                "May I take a message?")
TAKE_MESSAGE_INSTRUCTION = (
    "Nobody could take the transferred call. Take a message for the team: ask the caller for "
    "their name, a phone number to call back and their message, confirm them, then say "
    "someone will call back.")
GOODBYE = "I'm sorry, nobody is available to take your call right now. Goodbye."
CANCELED_MESSAGE = NOT_CONNECTED
CAUSE_WORDS = {"declined": "declined", "busy": "busy", "no_answer": "no answer",
               "unavailable": "unavailable", "failed": "failed"}
FALLBACK_WORDS = {"returned_to_agent": "the agent took the call back",
                  "taking_message": "the agent is taking a message",
                  "ended": "the call ends"}


class WarmTransfer(TransferBase):
    """One warm transfer of one call, from request through its attempts to the bridge, the
    fallback or a cancel, and the end."""

    kind = "warm"

    def __init__(self, ctx: TransferContext, call: TransferableCall, command: WarmCommand,
                 destinations: list[Destination], actor: str, trunk_id: str | None) -> None:
        first = destinations[0]
        super().__init__(ctx, call, actor, {
            "transfer_to": first.to, "destinations": [d.describe() for d in destinations],
            "outbound_trunk_id": trunk_id, "screening_prompt": first.screening_prompt or "",
            "summary": command.summary or "", "fallback": command.fallback.model_dump(),
            "ringing_timeout_seconds": command.ringing_timeout,
            "metadata_": {"destination_count": len(destinations)},
        })
        self.fields["consultation_room"] = f"consult:{self.id}"
        self.command = command
        self.destinations = destinations
        self.attempt: Attempt | None = None
        self.summary = command.summary or ""
        self.signals = Signals(call.ended, lambda: self._cancel_by is not None)
        self.consultation = Consultation(self)
        self.users = UserOffers(self)
        self._cancel_by: str | None = None
        self._music: Participant | None = None

    @property
    def canceled_by(self) -> str | None:
        return self._cancel_by

    def _payload(self) -> dict[str, Any]:
        attempt = self.attempt
        data = {**super()._payload(),
                "to": attempt.dest.to if attempt is not None else self.fields["transfer_to"],
                "label": attempt.dest.label if attempt is not None else None}
        if attempt is not None:
            data["attempt"] = attempt.index
        return data

    def set_status(self, status: str) -> None:
        self._update(status=status)

    def presence(self, user_id: str, presence: str) -> None:
        """Writes a console user's presence (busy on a transferred call, available after) and,
        once that is committed, publishes ``user.updated``."""
        organization_id = self.call.organization_id
        changed: list[dict[str, Any]] = []

        def update(store: Any) -> None:
            user = store.get(User, user_id)
            if user is None or user.organization_id != organization_id:
                return
            user.presence = presence
            user.updated_at = utcnow()
            store.flush()
            changed.append(row_dict(user))

        def updated() -> None:
            if changed:
                self.ctx.emit(UserUpdated(organization_id=organization_id, record=changed[-1]))

        self.ctx.store(update, on_commit=updated)

    # -- what the API asks --------------------------------------------------------------------

    async def complete(self, actor: str) -> dict[str, Any]:
        """Bridges the caller to the consultation leg that answered now."""
        self.check_running()
        attempt = self.attempt
        if attempt is None or attempt.kind != "sip" or not attempt.answered:
            raise CallError("TRANSFER_NOT_READY",
                            "no consultation leg has answered yet" if attempt is None or
                            attempt.kind == "sip" else
                            "a console user takes the call by answering it")
        self.signals.put(f"complete:{actor}")
        await self._settled(lambda: self.status in FINISHED)
        return self.body()

    async def cancel(self, actor: str) -> dict[str, Any]:
        """Stops the transfer: the consultation leg hangs up and the agent takes the call back."""
        self.check_running()
        if self.status == "bridging":
            raise CallError("TRANSFER_FINISHED", f"transfer {self.id} is bridging")
        self._cancel_by = actor
        self.signals.put("cancel")
        await self._settled(lambda: self.status in FINISHED)
        return self.body()

    async def answer(self, user_id: str, offer: str, actor: str) -> dict[str, Any]:
        """The offered console user takes the call with a WebRTC offer."""
        return await self.users.answer(user_id, offer, actor)

    async def decline(self, user_id: str, reason: str | None, actor: str) -> dict[str, Any]:
        """The offered console user declines: the next destination is tried."""
        count = self.users.decline(user_id, reason)
        await self._settled(lambda: len(self.attempts) > count or self.status in FINISHED)
        return self.body()

    # -- the transfer -------------------------------------------------------------------------

    async def run(self) -> None:
        call = self.call
        try:
            await self._hold_caller()
            self.note("started", "Warm transfer: the caller is on hold; trying "
                      + ", then ".join(d.name for d in self.destinations) + ".")
            if not self.summary:
                self.summary = self._generated_summary()
                self._update(summary=self.summary)
            for index, dest in enumerate(self.destinations):
                if index > 0:
                    self.event("next_destination", to=dest.to, label=dest.label,
                               previous=self.attempts[-1] if self.attempts else None,
                               attempt=index)
                self.attempt = Attempt(index, dest)
                outcome = await (self.users.attempt(self.attempt) if dest.user_id is not None
                                 else self.consultation.attempt(self.attempt))
                if outcome == "bridged":
                    await self._until_either_ends()
                    return
                await self.consultation.end(self.attempt)
                if outcome in ("canceled", "gone"):
                    self._canceled(outcome)
                    return
            self._fallback()
        except Exception:
            log.exception("call %s: warm transfer %s failed", call.call_id, self.id)
            if self.status not in FINISHED:
                self._update(status="failed", failure_cause="failed", completed_at=utcnow())
                self.event("failed", failure="failed", reason="error")
                self._return_to_agent(NOT_CONNECTED)
        finally:
            call.control.transferring = False
            await self._close()

    async def _hold_caller(self) -> None:
        """The call is ``transferring``: music for the caller, the agent paused and muted."""
        call = self.call
        self._hold_agent()
        if call.mixer is not None:
            self._music = Participant(f"transfer_music:{self.id[:8]}", MUSIC_MASKS,
                                      HoldMusic().next_frame, None)
            await call.media.loop.call_soon_wait(call.mixer.add, self._music)

    def turns_and_data(self) -> tuple[list[Turn], dict[str, Any]]:
        """The call's transcript so far and what the agent gathered."""
        agent = self.call.agent
        if agent is None:
            return [], {}
        return agent.turns(), dict(agent.slots)

    def _generated_summary(self) -> str:
        turns, data = self.turns_and_data()
        return summarize_call(turns, data, caller=self.call.remote_party or "",
                              agent_name=self.call.route.agent_name)

    def dialing(self, dest: Destination) -> None:
        """A new attempt starts: signals left from the last one are dropped."""
        self.signals.drain()
        self._update(status="dialing", transfer_to=dest.to,
                     screening_prompt=dest.screening_prompt or "")

    # -- outcomes -----------------------------------------------------------------------------

    def _attempt_entry(self, attempt: Attempt, status: str, cause: str | None,
                       code: int | None, reason: str | None) -> dict[str, Any]:
        return {"to": attempt.dest.to, "label": attempt.dest.label, "kind": attempt.kind,
                "status": status, "failure_cause": cause, "sip_status_code": code,
                "reason": reason, "answer_text": attempt.answer_text,
                "started_at": attempt.started_at, "ended_at": iso(utcnow())}

    def attempt_failed(self, attempt: Attempt, cause: str, code: int | None,
                       reason: str | None) -> None:
        self.attempts.append(self._attempt_entry(attempt, "failed", cause, code, reason))
        self._update(routing_attempts=[dict(a) for a in self.attempts], failure_cause=cause,
                     sip_status_code=code)
        self.event("attempt_failed", code=code, reason=reason, failure=cause)
        said = f' (said "{attempt.answer_text}")' if attempt.answer_text else ""
        self.note("attempt_failed", f"Transfer to {attempt.dest.name}: "
                                    f"{CAUSE_WORDS.get(cause, cause)}{said}.")

    def completed(self, attempt: Attempt, code: int | None, participant: dict[str, Any],
                  forced_by: str | None = None) -> None:
        call = self.call
        self._transferred()
        self.attempts.append(self._attempt_entry(attempt, "accepted", None, code,
                                                 f"forced by {forced_by}" if forced_by else None))
        self._update(status="completed", completed_at=utcnow(), sip_status_code=code,
                     failure_cause=None, transfer_to=attempt.dest.to,
                     routing_attempts=[dict(a) for a in self.attempts],
                     participants=[*self.fields["participants"], participant],
                     metadata_=self._metadata(accepted_by=attempt.dest.to,
                                              forced_by=forced_by))
        self.event("completed", code=code, accepted=attempt.dest.to, forced=forced_by is not None)
        self.note("completed", f"Caller connected to {attempt.dest.name}"
                               + (f", forced by {forced_by}." if forced_by else "."))
        call.records.update_call(call.call_id, {"status": "in_progress"})

    def stopped(self, attempt: Attempt) -> str:
        """The attempt ends because the transfer was canceled or the caller left."""
        gone = self._cancel_by is None and call_ended(self.call)
        if attempt.sip is not None and attempt.sip.state != "ended":
            attempt.sip.hangup("caller_hangup" if gone else "canceled")
        self.attempts.append(self._attempt_entry(attempt, "canceled",
                                                 "caller_hangup" if gone else None, None, None))
        return "gone" if gone else "canceled"

    def _canceled(self, outcome: str) -> None:
        cause = "caller_hangup" if outcome == "gone" else None
        self._update(status="canceled", completed_at=utcnow(), failure_cause=cause,
                     routing_attempts=[dict(a) for a in self.attempts],
                     metadata_=self._metadata(canceled_by=self._cancel_by))
        self.event("canceled", failure=cause, actor=self._cancel_by)
        self.note("canceled", "Transfer canceled: the caller hung up." if cause else
                  f"Transfer canceled by {self._cancel_by}." if self._cancel_by else
                  "Transfer canceled.")
        if outcome == "canceled" and not call_ended(self.call):
            fallback = self.command.fallback
            message = fallback.message if fallback.strategy == "return_to_agent" else None
            self._return_to_agent(message or CANCELED_MESSAGE)

    async def leave_music_and_agent(self) -> None:
        """The bridge: the music and the briefing stop, the AI agent leaves the call."""
        await self._remove(self._music, self.consultation.briefing)
        self._music = self.consultation.briefing = None
        await self._agent_leaves()

    def _stop_music(self) -> None:
        self._drop(self._music, self.consultation.briefing)
        self._music = self.consultation.briefing = None

    def _return_to_agent(self, message: str | None, *, end_after: bool = False) -> bool:
        """The music stops; the agent takes the call back and says ``message``; False when the
        call has no agent pipeline."""
        self._stop_music()
        return self._agent_back(message, end_after=end_after)

    def _fallback(self) -> None:
        call = self.call
        control = call.control
        fallback = self.command.fallback
        last = self.attempts[-1] if self.attempts else {}
        cause = last.get("failure_cause") or "failed"
        strategy = fallback.strategy
        if call_ended(call):
            self._update(status="canceled", completed_at=utcnow(), failure_cause="caller_hangup")
            self.event("canceled", failure="caller_hangup")
            return
        if strategy == "end_call":
            message = fallback.message or GOODBYE
            control.ending = True
            if self._return_to_agent(message, end_after=True):
                control.end_soon(message)
            else:
                call.hangup("transfer_failed")
            result = "ended"
        elif strategy == "take_message":
            message = fallback.message or TAKE_MESSAGE
            if self._return_to_agent(message):
                agent = control.pipeline_agent()
                if agent is not None:
                    agent.inject_context(TAKE_MESSAGE_INSTRUCTION)
            result = "taking_message"
        else:
            message = fallback.message or NOT_CONNECTED
            self._return_to_agent(message)
            result = "returned_to_agent"
        outcome: dict[str, Any] = {"strategy": strategy, "message": message, "result": result}
        self._update(status="failed", completed_at=utcnow(), failure_cause=cause,
                     sip_status_code=last.get("sip_status_code"),
                     routing_attempts=[dict(a) for a in self.attempts],
                     metadata_=self._metadata(fallback_result=outcome))
        self.event("failed", failure=cause, code=last.get("sip_status_code"),
                   reason="no destination accepted")
        self.event("fallback", **outcome)
        self.note("failed", f"Transfer failed: nobody accepted; {FALLBACK_WORDS[result]}.")

    # -- after the bridge ---------------------------------------------------------------------

    async def _until_either_ends(self) -> None:
        attempt = self.attempt
        assert attempt is not None
        if attempt.participant_id is not None:
            await self.users.until_user_leaves(attempt.participant_id)
            return
        assert attempt.sip is not None
        await self._until_bridge_ends(attempt.sip)

    async def _close(self) -> None:
        self._stop_music()
        if self.users.busy_user is not None:
            self.presence(self.users.busy_user, "available")
            self.users.busy_user = None
        if self.attempt is not None:
            await self.consultation.end(self.attempt)


__all__ = ["GOODBYE", "TAKE_MESSAGE", "TAKE_MESSAGE_INSTRUCTION", "WarmTransfer"]
