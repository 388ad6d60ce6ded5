"""What blind and warm transfers share: the transfer's row and events, the typed failure causes,
dialling a leg toward a destination and opening its RTP, the agent paused while the caller waits
and taken back after, system lines in the transcript, and waiting while a bridge lasts.

A transfer is a :class:`~engine.store.Transfer` row whose status goes requested → dialing → …
→ completed, failed or canceled; each step is a call event ``transfer.*`` and a bus event of the
same name. Everything here runs on the telephony loop; mixer changes hop to the media loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from engine.calls.errors import CallError
from engine.calls.serialize import transfer as serialize_transfer
from engine.calls.transfers.context import Target, TransferableCall, TransferContext
from engine.events import TranscriptFinal, transfer_step
from engine.media import Participant
from engine.sip import sdp
from engine.sip.uac import OutgoingCall
from engine.store import Transfer
from engine.store.timeutil import utcnow
from engine.store.types import new_id

NOT_CONNECTED = "I'm sorry, I could not connect your call. Is there anything else I can help with?"
RECIPIENT_HANGUP = "agent_hangup"  # the human who took the call hung up
TRANSFERRED = "transferred"  # our leg's disconnect reason once the caller was referred away
DECLINED = frozenset({403, 603})
BUSY = frozenset({486, 600})
UNANSWERED = frozenset({408, 480, 487})
SETTLE_S = 10.0  # an API action (complete, cancel, decline) waits this long for its effect
FINISHED = frozenset({"completed", "failed", "canceled"})


def failure_cause(outcome: str | None, status: int | None) -> str:
    """The typed cause of a transfer whose leg was not answered."""
    if status in DECLINED:
        return "declined"
    if outcome in ("busy", "no_answer"):
        return outcome
    return "failed"


def sipfrag_cause(status: int | None) -> str:
    """The typed cause of a REFER whose final sipfrag status (or refusal) is ``status``."""
    if status in BUSY:
        return "busy"
    if status in UNANSWERED:
        return "no_answer"
    return failure_cause(None, status)


def call_ended(call: TransferableCall) -> bool:
    """The call has ended, or is ending."""
    return call.ended.is_set() or call.reason is not None


def _set_muted(participant: Participant, muted: bool) -> None:
    participant.muted = muted


class TransferBase:
    """One transfer of one call: its row, its events, and the steps both kinds take."""

    kind: ClassVar[str]

    def __init__(self, ctx: TransferContext, call: TransferableCall, actor: str,
                 fields: dict[str, Any]) -> None:
        self.ctx = ctx
        self.call = call
        self.actor = actor
        self.id = new_id()
        self.status = "requested"
        self.attempts: list[dict[str, Any]] = []  # routing_attempts, in order
        self.fields: dict[str, Any] = {
            "id": self.id, "organization_id": call.organization_id, "call_id": call.call_id,
            "kind": self.kind, "status": "requested", "requested_by": actor,
            "participants": [{"identity": "caller", "role": "caller"}], **fields}
        self._watchers: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._note_index = 0  # system lines of a call without an agent pipeline

    async def run(self) -> None:
        """The transfer, from its first step to its end (the row says how it went)."""
        raise NotImplementedError

    # -- the row and the events ----------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The transfer as the API shows it."""
        return serialize_transfer(self.row())

    def row(self) -> Transfer:
        """The transfer's row as it stands."""
        now = utcnow()
        return Transfer(created_at=now, updated_at=now, **self.fields)

    def _update(self, **fields: Any) -> None:
        """Changes the transfer's fields and writes them to its row."""
        self.fields.update(fields)
        if "status" in fields:
            self.status = fields["status"]
        transfer_id = self.id

        def update(session: Any) -> None:
            row = session.get(Transfer, transfer_id)
            if row is None:
                return
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

        self.ctx.store(update)
        for check, future in list(self._watchers):
            if not future.done() and check():
                future.set_result(None)

    def _metadata(self, **fields: Any) -> dict[str, Any]:
        return {**self.fields["metadata_"], **fields}

    def _payload(self) -> dict[str, Any]:
        """What every event of this transfer says of it."""
        return {"transfer_id": self.id, "kind": self.kind, "status": self.status}

    def event(self, name: str, *, code: int | None = None, reason: str | None = None,
               failure: str | None = None, actor: str | None = None, **payload: Any) -> None:
        """A ``transfer.<name>`` call event and bus event."""
        call = self.call
        data = {**self._payload(), **payload}
        call.records.add_event(call.call_id, "engine", f"transfer.{name}", status=self.status,
                               code=code, reason=reason, failure=failure,
                               actor=actor or (self.actor if name == "requested" else None),
                               payload=data)
        self.ctx.emit(transfer_step(name, organization_id=call.organization_id,
                                    call_id=call.call_id,
                                    data={"call_id": call.call_id, "failure_cause": failure,
                                          "sip_status_code": code, **data}))

    def note(self, step: str, text: str) -> None:
        """A ``system`` line in the call's transcript (and ``transcript.final`` on the bus),
        numbered in line with the agent's lines."""
        call = self.call
        index = call.agent.take_index() if call.agent is not None else None
        if index is None:
            index, self._note_index = self._note_index, self._note_index + 1
        now = utcnow()
        row = {"organization_id": call.organization_id, "call_id": call.call_id,
               "index": index, "source": "system", "text": text, "started_at": now,
               "ended_at": now, "metadata_": {"event": "transfer", "step": step,
                                              "transfer_id": self.id}}
        self.ctx.transcript(row)
        self.ctx.emit(TranscriptFinal.from_row(row))

    async def _settled(self, check: Callable[[], bool], within: float = SETTLE_S) -> None:
        """Waits until ``check()`` holds after an update (or ``within`` seconds)."""
        if check():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (check, future)
        self._watchers.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, within)
        finally:
            self._watchers.remove(entry)

    def check_running(self) -> None:
        """CallError TRANSFER_FINISHED once the transfer is over."""
        if self.status in FINISHED:
            raise CallError("TRANSFER_FINISHED", f"transfer {self.id} is {self.status} already")

    # -- the agent while the caller waits ------------------------------------------------------

    def _hold_agent(self) -> None:
        """The call is ``transferring``: the agent paused and muted."""
        call = self.call
        call.records.update_call(call.call_id, {"status": "transferring"})
        agent = call.control.pipeline_agent()
        if agent is not None:
            agent.pause()
        participant = call.control.agent_participant()
        if participant is not None:
            call.media.loop.call(_set_muted, participant, True)

    def _agent_back(self, message: str | None, *, end_after: bool = False,
                    source: str = "agent") -> bool:
        """The agent takes the call back (unmuted, listening) and says ``message``; False when
        the call has no agent pipeline."""
        call = self.call
        control = call.control
        control.transferring = False
        if control.agent_participant() is not None:
            call.media.loop.call(control.apply_mute)
        if not end_after:
            call.records.update_call(call.call_id, {"status": "in_progress"})
        agent = control.pipeline_agent()
        if agent is None:
            return False
        if not control.held_by_peer:
            agent.resume()
        if message:
            agent.say(message, interrupt=True, interruptible=not end_after, end_after=end_after,
                      source=source)
        return True

    async def _agent_leaves(self) -> None:
        """The bridge: the AI agent leaves the call (its pipeline stays paused)."""
        call = self.call
        agent = call.control.agent_participant()
        if agent is not None and call.mixer is not None:
            await call.media.loop.call_soon_wait(call.mixer.remove, agent)
        pipeline_agent = call.control.pipeline_agent()
        if pipeline_agent is not None:
            pipeline_agent.pause()

    def _transferred(self) -> None:
        """The caller talks to the transfer's recipient now."""
        self.call.control.transferred = True
        self.call.control.transferring = False

    # -- the new leg ---------------------------------------------------------------------------

    async def dial(self, target: Target, ringing_timeout_s: float,
                    **event_payload: Any) -> tuple[OutgoingCall, int]:
        """An INVITE toward ``target`` from the transferred party, started; its SIP events are
        ``transfer.<kind>`` call events. Returns the call and its reserved RTP port."""
        ctx, call = self.ctx, self.call
        sip = ctx.sip
        if sip is None:
            raise CallError("CONTROL_UNSUPPORTED", "SIP is off in this engine")
        port = await ctx.rtp.reserve()
        offer = sdp.build(call.media.local_ip, port, sdp.supported_payload_types(), sdp.DTMF_PT)
        caller = target.caller_id or call.remote_party or "switchboard"
        leg = sip.invite(target, offer, caller, ringing_timeout_s)
        leg.on_event = lambda kind, code, detail: call.records.add_event(
            call.call_id, "sip", f"transfer.{kind}", code=code, reason=detail,
            payload={"transfer_id": self.id, **event_payload})
        return leg, port

    async def _until_bridge_ends(self, leg: OutgoingCall) -> None:
        """Waits while the caller and a bridged recipient talk: the recipient hanging up ends
        the call (``agent_hangup``); the call ending hangs the recipient up."""
        call = self.call
        gone = asyncio.Event()
        leg.on_ended = lambda _reason: gone.set()
        if leg.state == "ended":
            gone.set()
        waits = [asyncio.ensure_future(gone.wait()), asyncio.ensure_future(call.ended.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if gone.is_set() and not call.ended.is_set():
            self._recipient_hung_up()
        elif leg.state != "ended":
            leg.hangup(call.reason or "caller_hangup")

    def _recipient_hung_up(self, **payload: Any) -> None:
        call = self.call
        call.records.add_event(call.call_id, "engine", "transfer.recipient_hangup",
                               payload={"transfer_id": self.id, **payload})
        call.hangup(RECIPIENT_HANGUP)

    async def _remove(self, *participants: Participant | None) -> None:
        """Takes participants out of the call's mixer, waiting for the media loop."""
        call = self.call
        for participant in participants:
            if participant is not None and call.mixer is not None:
                await call.media.loop.call_soon_wait(call.mixer.remove, participant)

    def _drop(self, *participants: Participant | None) -> None:
        """Takes participants out of the call's mixer without waiting."""
        call = self.call
        for participant in participants:
            if participant is not None and call.mixer is not None:
                call.media.loop.call(call.mixer.remove, participant)


__all__ = ["BUSY", "DECLINED", "FINISHED", "NOT_CONNECTED", "RECIPIENT_HANGUP", "SETTLE_S",
           "TRANSFERRED", "UNANSWERED", "TransferBase", "call_ended", "failure_cause",
           "sipfrag_cause"]
