"""Blind transfers of live calls (DESIGN §5.4), by SIP REFER or by dial and bridge.

The party transferred is the remote one: the caller of an inbound call, the callee of an
outbound call, the browser of a web call. A session offers what a transfer needs through
:class:`TransferableCall`.

REFER (RFC 3515) asks the remote side to call the destination itself; it is tried first when
the call has a confirmed SIP dialog (a web call has none) and its trunk allows REFER
(``allow_refer``; a direct call without a trunk allows it), unless the request says
``method: "bridge"``. Its NOTIFY sipfrag lines become ``transfer.refer_progress`` events; a
final 2xx completes the transfer (metadata ``method: "refer"``) and our leg toward the remote
party hangs up with the reason ``transferred``. A final sipfrag ≥ 300 fails the transfer with
that SIP code. A refused REFER (405, 501, 603, …) or one that times out without a 2xx falls back
to dial and bridge (``method: "auto"``) or fails (``method: "refer"``); ``routing_attempts``
lists every attempt.

Dial and bridge: a new outbound leg to the destination, placed through the call's SIP trunk
(an E.164 number) or straight to a ``sip:`` URI, bridged into the call's mixer as a human once
it answers, with the AI agent leaving the call (metadata ``method: "bridge"``).

A transfer is a :class:`~engine.store.Transfer` row (kind ``blind``) going requested → dialing →
completed or failed, the failure typed (declined, busy, no_answer, failed) with the SIP status.
Each step is a call event ``transfer.*`` and a bus event of the same name. While the new leg
rings the call is ``transferring``: the agent is paused and muted, and the caller hears ringback
when asked for. On failure the agent comes back, says it could not connect the call, and the call
returns to ``in_progress``. Once bridged, the caller and the recipient hear each other; either
hanging up ends the call. While the new leg still rings, ``cancel`` stops it (``canceled``) and
the agent takes the call back.

:class:`Transfers` also starts warm transfers (:mod:`engine.calls.warm`) and routes the API's
complete, cancel, answer and decline to the transfer running on a call.

Everything here runs on the telephony loop; mixer changes hop to the media loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from engine.calls.commands import Transfer as TransferCommand
from engine.calls.commands import TransferMethod
from engine.calls.control import CallControl, ControlError, ControlledCall, not_live, unsupported
from engine.calls.destinations import is_phone_number, parse_sip
from engine.calls.serialize import transfer as serialize_transfer
from engine.media import HUMAN_MASKS, MUSIC_MASKS, Participant, Tone
from engine.sip import sdp
from engine.sip.auth import Credentials
from engine.sip.message import Response
from engine.sip.refer import NOTIFY_WAIT_S, Refer, ReferResult
from engine.sip.rtp_leg import RtpLeg
from engine.sip.transport import Peer
from engine.sip.uac import OutgoingCall
from engine.store import SipTrunk, Transfer, User, session_scope, utcnow
from engine.store.columns import row_dict
from engine.store.types import new_id

if TYPE_CHECKING:
    from sqlmodel import Session

    from engine.calls.commands import WarmTransfer as WarmCommand
    from engine.calls.telephony import Telephony
    from engine.calls.warm import Destination, WarmTransfer

log = logging.getLogger(__name__)

NOT_CONNECTED = "I'm sorry, I could not connect your call. Is there anything else I can help with?"
RINGBACK = Tone((440.0, 480.0), on_ms=2000, off_ms=4000)  # template: each transfer copies it
RECIPIENT_HANGUP = "agent_hangup"  # the human who took the call hung up
TRANSFERRED = "transferred"  # our leg's disconnect reason once the caller was referred away
DECLINED = frozenset({403, 603})
BUSY = frozenset({486, 600})
UNANSWERED = frozenset({408, 480, 487})
REFER_NOTIFY_MARGIN_S = 5.0  # the final NOTIFY may come this long after the ringing timeout
SETTLE_S = 10.0  # a cancel waits this long for the ringing leg to end
FINISHED = frozenset({"completed", "failed", "canceled"})
SIP_OFF = "transfers to a phone number or SIP address need SIP, which is off in this engine " \
          "(start it with --sip-port)"


class TransferableCall(ControlledCall, Protocol):
    """What a transfer needs of a live session (inbound, outbound or web call)."""

    control: CallControl

    @property
    def organization_id(self) -> str: ...

    @property
    def trunk_id(self) -> str | None:
        """The SIP trunk phone-number destinations are dialled through (None: sip: URIs only)."""

    @property
    def remote_party(self) -> str:
        """Who is transferred (a caller's or callee's number): the new leg's From."""

    @property
    def sip_leg(self) -> Any:
        """The SIP call toward the remote party, whose dialog may carry a REFER (None for a
        web call, or before the call is answered)."""


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


def refer_allowed(sip_call: Any, trunk: SipTrunk | None) -> bool:
    """Whether a REFER may be sent in ``sip_call``: its dialog is established and its trunk
    (if any) allows REFER."""
    if getattr(sip_call, "dialog", None) is None:
        return False
    if getattr(sip_call, "state", None) not in ("answered", "confirmed"):
        return False
    return trunk is None or trunk.allow_refer


async def until_bridge_ends(session: Any, call: OutgoingCall, transfer_id: str) -> None:
    """Waits while the caller and a bridged recipient talk: the recipient hanging up ends the
    call (``agent_hangup``); the call ending hangs the recipient up."""
    gone = asyncio.Event()
    call.on_ended = lambda _reason: gone.set()
    if call.state == "ended":
        gone.set()
    waits = [asyncio.ensure_future(gone.wait()), asyncio.ensure_future(session.ended.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    if gone.is_set() and not session.ended.is_set():
        session.records.add_event(session.call_id, "engine", "transfer.recipient_hangup",
                                  payload={"transfer_id": transfer_id})
        session.hangup(RECIPIENT_HANGUP)
    elif call.state != "ended":
        call.hangup(session.reason or "caller_hangup")


class TransferRefer(Refer):
    """A :class:`Refer` that also reports the REFER's own 2xx (``on_accepted``)."""

    def __init__(self, *args: Any, on_accepted: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_accepted = on_accepted or (lambda _status: None)

    def _on_response(self, response: Response) -> None:
        first = self.refer_status is None and 200 <= response.status < 300
        super()._on_response(response)
        if first:
            self.on_accepted(response.status)


@dataclass
class Target:
    """Where the transfer's INVITE goes."""

    uri: str
    peer: Peer
    credentials: Credentials | None = None
    caller_id: str | None = None
    trunk_id: str | None = None


def user_name(db: Any, user_id: str) -> str | None:
    """Blocking: a console user's display name."""
    with session_scope(db) as session:
        user = session.get(User, user_id)
        return user.display_name if user is not None else None


def load_trunk(db: Any, trunk_id: str) -> SipTrunk | None:
    """Blocking: the trunk row (detached)."""
    with session_scope(db) as session:
        trunk = session.get(SipTrunk, trunk_id)
        if trunk is not None:
            session.expunge(trunk)
        return trunk


class BlindTransfer:
    """One blind transfer of one call, from request to bridge (or failure) and the end."""

    kind = "blind"

    def __init__(self, transfers: Transfers, session: TransferableCall,
                 command: TransferCommand, target: Target, actor: str, use_refer: bool = False) -> None:
        self.transfers = transfers
        self.session = session
        self.command = command
        self.target = target
        self.actor = actor
        self.use_refer = use_refer  # REFER first (else dial and bridge only)
        self.id = new_id()
        self.status = "requested"
        self.attempts: list[dict[str, Any]] = []  # routing_attempts, in order
        self.refer: TransferRefer | None = None
        self.fields: dict[str, Any] = {
            "id": self.id, "organization_id": session.organization_id,
            "call_id": session.call_id, "kind": "blind", "status": "requested",
            "transfer_to": command.to,
            "destinations": [{"to": command.to}],
            "outbound_trunk_id": target.trunk_id,
            "ringing_timeout_seconds": command.ringing_timeout, "requested_by": actor,
            "participants": [{"identity": "caller", "role": "caller"}],
            "metadata_": {"play_dialtone": command.play_dialtone,
                          "method": "refer" if use_refer else "bridge",
                          "requested_method": command.method},
        }
        self.sip: OutgoingCall | None = None
        self.leg: RtpLeg | None = None
        self.participant: Participant | None = None
        self._ringback: Participant | None = None
        self._port = 0
        self._canceled_by: str | None = None
        self._settled = asyncio.Event()  # set once the transfer is over (completed, failed, ...)

    # -- records ------------------------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The transfer as the API shows it."""
        now = utcnow()
        return serialize_transfer(Transfer(created_at=now, updated_at=now, **self.fields))

    def _update(self, **fields: Any) -> None:
        self.fields.update(fields)
        if "status" in fields:
            self.status = fields["status"]
            if self.status in FINISHED:
                self._settled.set()
        self.transfers.update_row(self.id, fields)

    def _event(self, name: str, *, code: int | None = None, reason: str | None = None,
               failure: str | None = None, actor: str | None = None, **payload: Any) -> None:
        session = self.session
        data = {"transfer_id": self.id, "kind": "blind", "to": self.command.to,
                "status": self.status, **payload}
        session.records.add_event(session.call_id, "engine", f"transfer.{name}",
                                  status=self.status, code=code, reason=reason, failure=failure,
                                  actor=actor or (self.actor if name == "requested" else None),
                                  payload=data)
        self.transfers.publish(f"transfer.{name}", session, {
            "call_id": session.call_id, "failure_cause": failure, "sip_status_code": code, **data})

    # -- what the API asks --------------------------------------------------------------------

    async def complete(self, actor: str) -> dict[str, Any]:
        """A blind transfer bridges by itself once answered: nothing to force."""
        if self.status in FINISHED:
            raise ControlError(409, "TRANSFER_FINISHED", f"transfer {self.id} is {self.status}")
        raise ControlError(409, "TRANSFER_NOT_READY",
                           "a blind transfer is bridged as soon as its destination answers")

    async def cancel(self, actor: str) -> dict[str, Any]:
        """Stops a transfer whose new leg is still ringing (dial and bridge): the leg is
        canceled and the agent takes the call back."""
        if self.status in FINISHED:
            raise ControlError(409, "TRANSFER_FINISHED", f"transfer {self.id} is {self.status}")
        call = self.sip
        if call is None or call.state not in ("calling", "proceeding"):
            raise ControlError(409, "TRANSFER_NOT_CANCELABLE",
                               "only a transfer whose new leg is ringing can be canceled")
        self._canceled_by = actor
        call.hangup("canceled")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), SETTLE_S)
        return self.body()

    # -- the transfer -------------------------------------------------------------------------

    async def run(self) -> None:
        session = self.session
        control = session.control
        try:
            if self.use_refer and not await self._refer():
                return
            answered = await self._dial()
            if answered:
                await self._bridge()
                await self._until_either_ends()
        except Exception:
            log.exception("call %s: transfer %s failed", session.call_id, self.id)
            if self.status in ("requested", "dialing"):
                self._fail("failed", None, "error")
        finally:
            control.transferring = False
            await self._close()

    def _hold_agent(self) -> None:
        """The call is ``transferring``: the agent paused and muted."""
        session = self.session
        session.records.update_call(session.call_id, {"status": "transferring"})
        agent = session.control._pipeline_agent()
        if agent is not None:
            agent.pause()
        self._set_agent_muted(True)

    def _attempt(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        self.attempts.append({"to": self.command.to, **entry})
        return [dict(a) for a in self.attempts]

    def _metadata(self, **fields: Any) -> dict[str, Any]:
        return {**self.fields["metadata_"], **fields}

    async def _refer(self) -> bool:
        """Sends the REFER and follows it to its result: True when the transfer goes on by dial
        and bridge, False when it is over (completed, failed or canceled)."""
        session = self.session
        dialog = session.sip_leg.dialog
        ua = self.transfers.telephony.ua
        assert dialog is not None and ua is not None
        self._update(status="dialing")
        self._event("dialing", method="refer")
        self._hold_agent()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[ReferResult] = loop.create_future()

        def progress(code: int, line: str) -> None:
            self._event("refer_progress", code=code, reason=line, sipfrag=line)

        def accepted(code: int) -> None:
            self._event("refer_accepted", code=code)

        wait_s = max(NOTIFY_WAIT_S, self.command.ringing_timeout + REFER_NOTIFY_MARGIN_S)
        refer = TransferRefer(ua, dialog, self.target.uri,
                              lambda result: done.done() or done.set_result(result),
                              on_progress=progress, on_accepted=accepted, notify_wait_s=wait_s)
        self.refer = refer
        refer.start()
        ended = asyncio.ensure_future(session.ended.wait())
        try:
            await asyncio.wait([done, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if not done.done():  # the call ended while the REFER was outstanding
            accepted_first = refer.refer_status is not None and refer.refer_status < 300
            refer._done("timeout")  # stops listening for NOTIFYs
            if accepted_first:  # the caller's side took the transfer and left our leg
                self._complete_by_refer(refer.refer_status or 202, None, None, confirmed=False)
            else:
                self._update(status="canceled", completed_at=utcnow(),
                             failure_cause="caller_hangup",
                             routing_attempts=self._attempt({"method": "refer",
                                                             "status": "canceled"}))
                self._event("canceled", failure="caller_hangup")
            return False
        result = done.result()
        attempt = {"method": "refer", "status": result.outcome, "refer_status": result.refer_status,
                   "sip_status_code": result.final_status, "sipfrag": result.final_line}
        if result.outcome == "completed":
            self._complete_by_refer(result.refer_status, result.final_status, result.final_line)
            return False
        if result.outcome == "failed":
            cause = sipfrag_cause(result.final_status)
            self._fail(cause, result.final_status, result.final_line,
                       attempts=self._attempt({**attempt, "failure_cause": cause}))
            return False
        # refused, or no answer in time
        code = result.refer_status
        if self.command.method == "refer":
            cause = sipfrag_cause(code)
            self._fail(cause, code, f"REFER {result.outcome}",
                       attempts=self._attempt({**attempt, "failure_cause": cause}))
            return False
        self._update(routing_attempts=self._attempt(attempt),
                     metadata_=self._metadata(method="bridge", refer_outcome=result.outcome))
        self._event(f"refer_{result.outcome}", code=code, fallback="bridge")
        return True

    def _complete_by_refer(self, refer_status: int, code: int | None, line: str | None,
                           confirmed: bool = True) -> None:
        session = self.session
        session.control.transferred = True
        session.control.transferring = False
        self._update(status="completed", completed_at=utcnow(), sip_status_code=code,
                     routing_attempts=self._attempt({"method": "refer", "status": "completed",
                                                     "refer_status": refer_status,
                                                     "sip_status_code": code, "sipfrag": line}),
                     participants=[*self.fields["participants"],
                                   {"identity": "refer_target", "role": "transfer_target",
                                    "to": self.command.to}],
                     metadata_=self._metadata(method="refer", refer_confirmed=confirmed))
        self._event("completed", code=code, reason=line, method="refer", confirmed=confirmed)
        if not session.ended.is_set():
            session.hangup(TRANSFERRED)  # the caller now talks to the destination directly

    async def _dial(self) -> bool:
        session, media = self.session, self.session.media
        self._update(status="dialing")
        self._event("dialing", method="bridge")
        self._hold_agent()
        if self.command.play_dialtone and session.mixer is not None:
            tone = Tone(RINGBACK.freqs, on_ms=RINGBACK.on_ms, off_ms=RINGBACK.off_ms)
            self._ringback = Participant("ringback", MUSIC_MASKS, tone.next_frame, None)
            media.loop.call(session.mixer.add, self._ringback)
        if media.allocator is not None:
            self._port, _ = await media.loop.run(media.allocator.allocate())
        offer = sdp.build(media.local_ip, self._port, sdp.supported_payload_types(), sdp.DTMF_PT)
        ua = self.transfers.telephony.ua
        assert ua is not None
        target = self.target
        caller = (target.caller_id or session.remote_party or "switchboard").replace(" ", "")
        call = OutgoingCall(ua, target.uri, target.peer, offer,
                            from_uri=f"sip:{caller}@{ua.endpoint.host}",
                            credentials=target.credentials,
                            ringing_timeout_s=float(self.command.ringing_timeout))
        self.sip = call
        answered = asyncio.Event()
        ended = asyncio.Event()
        call.on_event = lambda kind, code, detail: session.records.add_event(
            session.call_id, "sip", f"transfer.{kind}", code=code, reason=detail,
            payload={"transfer_id": self.id})
        call.on_answered = lambda _body: answered.set()
        call.on_ended = lambda _reason: ended.set()
        call.start()
        waits = [asyncio.ensure_future(e.wait()) for e in (answered, ended, session.ended)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self._canceled_by is not None and not session.ended.is_set():
            call.hangup("canceled")
            self._cancel_dial(call)
            return False
        if call.state == "answered" and not session.ended.is_set():
            return True
        if session.ended.is_set():  # the caller went away (or the call was ended) meanwhile
            call.hangup("caller_hangup")
            self._update(status="canceled", completed_at=utcnow(), failure_cause="caller_hangup",
                         routing_attempts=self._attempt({"method": "bridge",
                                                         "status": "canceled"}))
            self._event("canceled", failure="caller_hangup")
            return False
        self._fail(failure_cause(call.outcome, call.status), call.status, call.reason)
        return False

    def _cancel_dial(self, call: OutgoingCall) -> None:
        """Canceled through the API while ringing: the agent takes the call back."""
        self._update(status="canceled", completed_at=utcnow(), sip_status_code=call.status,
                     routing_attempts=self._attempt({"method": "bridge", "status": "canceled",
                                                     "sip_status_code": call.status}),
                     metadata_=self._metadata(canceled_by=self._canceled_by))
        self._event("canceled", code=call.status, actor=self._canceled_by)
        self._agent_back()

    def _fail(self, cause: str, code: int | None, reason: str | None,
              attempts: list[dict[str, Any]] | None = None) -> None:
        if attempts is None:
            attempts = self._attempt({"method": "bridge", "status": "failed",
                                      "failure_cause": cause, "sip_status_code": code})
        self._update(status="failed", failure_cause=cause, sip_status_code=code,
                     completed_at=utcnow(), routing_attempts=attempts)
        self._event("failed", code=code, reason=reason, failure=cause)
        self._agent_back()

    def _agent_back(self) -> None:
        """The ringback stops and the agent takes the call back, saying it could not connect."""
        session = self.session
        self._remove_ringback()
        if session.ended.is_set() or session.reason is not None:
            return
        control = session.control
        control.transferring = False
        self._set_agent_muted(False)
        agent = control._pipeline_agent()
        if agent is not None:
            if not control.held_by_peer:
                agent.resume()
            agent.say(NOT_CONNECTED, interrupt=True, interruptible=True, source="agent")
        session.records.update_call(session.call_id, {"status": "in_progress"})

    async def _bridge(self) -> None:
        session, media = self.session, self.session.media.loop
        call = self.sip
        assert call is not None and session.mixer is not None
        params = sdp.negotiate(sdp.parse(call.answer))
        self.leg = await media.run(RtpLeg.open(session.media.local_ip, params,
                                               session.media.allocator, media.clock,
                                               session.media.batch, port=self._port))
        self._port = 0  # the leg gives it back
        self.participant = Participant(f"transfer:{self.id}", HUMAN_MASKS, self.leg.pull,
                                       self.leg.push)
        agent = session.control._agent_participant()
        mixer = session.mixer
        self._remove_ringback()
        await media.call_soon_wait(mixer.add, self.participant)
        if agent is not None:
            await media.call_soon_wait(mixer.remove, agent)  # the AI agent leaves the call
        session.control.transferred = True  # completed once the bridge is in the mixer
        session.control.transferring = False
        self._update(status="completed", completed_at=utcnow(), sip_status_code=call.status,
                     participants=[*self.fields["participants"],
                                   {"identity": f"transfer:{self.id}", "role": "human",
                                    "to": self.command.to, "sip_call_id": call.call_id}],
                     routing_attempts=self._attempt({"method": "bridge", "status": "answered",
                                                     "sip_status_code": call.status}),
                     metadata_=self._metadata(method="bridge"))
        self._event("completed", code=call.status, reason=call.reason, codec=params.codec,
                    method="bridge")
        session.records.update_call(session.call_id, {"status": "in_progress"})

    async def _until_either_ends(self) -> None:
        assert self.sip is not None
        await until_bridge_ends(self.session, self.sip, self.id)

    async def _close(self) -> None:
        session, media = self.session, self.session.media.loop
        self._remove_ringback()
        if self.participant is not None and session.mixer is not None:
            await media.call_soon_wait(session.mixer.remove, self.participant)
        if self.sip is not None and self.sip.state != "ended" and session.ended.is_set():
            self.sip.hangup(session.reason or "caller_hangup")
        if self.leg is not None:
            await media.run(self.leg.close())
        elif self._port and session.media.allocator is not None:
            await media.run(session.media.allocator.release(self._port))
            self._port = 0

    def _remove_ringback(self) -> None:
        ringback, self._ringback = self._ringback, None
        mixer = self.session.mixer
        if ringback is not None and mixer is not None:
            self.session.media.loop.call(mixer.remove, ringback)

    def _set_agent_muted(self, muted: bool) -> None:
        control = self.session.control
        participant = control._agent_participant()
        if participant is None:
            return
        if muted:
            participant.muted = True
        else:
            control._apply_mute()


class Transfers:
    """The telephony service's transfers: starts them on live sessions and writes their rows."""

    def __init__(self, telephony: Telephony) -> None:
        self.telephony = telephony
        self.active: dict[str, BlindTransfer | WarmTransfer] = {}  # by call id

    async def blind(self, call_id: str, command: TransferCommand, actor: str,
                    stored_status: str = "ended") -> dict[str, Any]:
        """Starts a blind transfer of the live call ``call_id``; the transfer as first written
        (ControlError when the call cannot be transferred now)."""
        session = self._transferable(call_id, stored_status)
        if self.telephony.ua is None:
            raise unsupported(SIP_OFF)
        trunk = await self._call_trunk(session)
        use_refer = self._use_refer(session, trunk, command.method)
        target = await self._target(session, command.to, trunk)
        transfer = BlindTransfer(self, session, command, target, actor, use_refer)
        return await self._start(session, transfer)

    async def warm(self, call_id: str, command: WarmCommand, actor: str,
                   stored_status: str = "ended") -> dict[str, Any]:
        """Starts a warm transfer of the live call ``call_id`` (engine.calls.warm); the
        transfer as first written (ControlError when the call cannot be transferred now)."""
        from engine.calls.commands import user_of
        from engine.calls.warm import Destination, WarmTransfer

        session = self._transferable(call_id, stored_status)
        if self.telephony.ua is None and any(user_of(d.to) is None for d in command.destinations):
            raise unsupported(SIP_OFF)
        trunk = await self._call_trunk(session)
        destinations: list[Destination] = []
        for dest in command.destinations:
            user_id = user_of(dest.to)
            target = None if user_id is not None else \
                await self._target(session, dest.to, trunk)
            name = None if user_id is None else \
                await asyncio.to_thread(user_name, self.telephony.db, user_id)
            destinations.append(Destination(dest.to, dest.label, dest.screening_prompt,
                                            dest.summary, target, user_id, name))
        trunk_id = next((d.target.trunk_id for d in destinations
                         if d.target is not None and d.target.trunk_id), None)
        transfer = WarmTransfer(self, session, command, destinations, actor, trunk_id)
        return await self._start(session, transfer)

    def find(self, call_id: str, transfer_id: str) -> BlindTransfer | WarmTransfer:
        """The running transfer ``transfer_id`` of ``call_id`` (409 TRANSFER_FINISHED when it
        is not running: the API found its row)."""
        transfer = self.active.get(call_id)
        if transfer is None or transfer.id != transfer_id:
            raise ControlError(409, "TRANSFER_FINISHED",
                               f"transfer {transfer_id} is not running")
        return transfer

    async def complete(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        return await self.find(call_id, transfer_id).complete(actor)

    async def cancel(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        return await self.find(call_id, transfer_id).cancel(actor)

    def _warm(self, call_id: str, transfer_id: str) -> WarmTransfer:
        transfer = self.find(call_id, transfer_id)
        if transfer.kind != "warm":
            raise ControlError(409, "TRANSFER_NOT_OFFERED",
                               f"transfer {transfer_id} is a blind transfer")
        return transfer  # type: ignore[return-value]

    async def answer(self, call_id: str, transfer_id: str, user_id: str, offer: str,
                     actor: str) -> dict[str, Any]:
        """The offered console user takes the call with a WebRTC offer."""
        return await self._warm(call_id, transfer_id).answer(user_id, offer, actor)

    async def decline(self, call_id: str, transfer_id: str, user_id: str, reason: str | None,
                      actor: str) -> dict[str, Any]:
        """The offered console user declines; the next destination is tried."""
        return await self._warm(call_id, transfer_id).decline(user_id, reason, actor)

    def _transferable(self, call_id: str, stored_status: str) -> TransferableCall:
        """The live session of ``call_id`` when a transfer may start on it now."""
        session: TransferableCall | None = self.telephony.sessions.get(call_id)
        if session is None:
            raise not_live(call_id, stored_status)
        if getattr(session, "control", None) is None:
            raise unsupported(f"call {call_id} takes no live commands")
        status = session.control.status
        if status in ("ended", "ending"):
            raise not_live(call_id, status)
        if status == "ringing":
            raise ControlError(409, "CALL_NOT_ANSWERED", f"call {call_id} is not answered yet")
        if session.control.transferring or call_id in self.active:
            raise ControlError(409, "TRANSFER_IN_PROGRESS",
                               f"call {call_id} is already being transferred")
        if session.control.transferred:
            raise ControlError(409, "CALL_TRANSFERRED", f"call {call_id} was transferred already")
        if session.control.on_hold:
            raise ControlError(409, "CALL_ON_HOLD", "the caller is on hold; resume first")
        return session

    async def _start(self, session: TransferableCall,
                     transfer: BlindTransfer | WarmTransfer) -> dict[str, Any]:
        call_id = session.call_id
        if session.control.transferring or call_id in self.active:
            raise ControlError(409, "TRANSFER_IN_PROGRESS",
                               f"call {call_id} is already being transferred")
        session.control.transferring = True
        self.active[call_id] = transfer
        await self._insert(transfer.fields)
        transfer._event("requested")
        body = transfer.body()

        async def run() -> None:
            try:
                await transfer.run()
            finally:
                self.active.pop(call_id, None)

        self.telephony._spawn(run())
        return body

    async def _call_trunk(self, session: TransferableCall) -> SipTrunk | None:
        trunk_id = session.trunk_id
        if not trunk_id:
            return None
        return await asyncio.to_thread(load_trunk, self.telephony.db, trunk_id)

    @staticmethod
    def _use_refer(session: TransferableCall, trunk: SipTrunk | None,
                   method: TransferMethod) -> bool:
        """Whether the transfer starts with a REFER (ControlError when ``refer`` is asked for
        and not possible)."""
        if method == "bridge":
            return False
        sip_leg = session.sip_leg
        allowed = refer_allowed(sip_leg, trunk)
        if method == "refer" and not allowed:
            why = "a web call has no SIP dialog" if sip_leg is None else \
                "the call's trunk does not allow REFER" if trunk is not None and \
                not trunk.allow_refer else "the call has no established SIP dialog"
            raise ControlError(409, "REFER_NOT_ALLOWED", f"cannot transfer by REFER: {why}")
        return allowed

    async def _target(self, session: TransferableCall, to: str,
                      trunk: SipTrunk | None) -> Target:
        if not is_phone_number(to):
            dest = parse_sip(to)
            return Target(dest.uri, Peer(dest.transport, dest.host, dest.port))
        if trunk is None:
            raise ControlError(409, "NO_TRUNK", "the call has no SIP trunk to dial a phone "
                                                "number through; give a sip: URI")
        credentials = Credentials(trunk.username, trunk.password or "", trunk.auth_realm) \
            if trunk.username else None
        return Target(f"sip:{to}@{trunk.host}:{trunk.port}",
                      Peer(trunk.transport.upper(), trunk.host, trunk.port), credentials,
                      trunk.caller_id or None, trunk.id)

    # -- the store and the bus ----------------------------------------------------------------

    async def _insert(self, fields: dict[str, Any]) -> None:
        """Writes the new row and waits until it landed (the API answers with it)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        now = utcnow()
        row = Transfer(created_at=now, updated_at=now, **fields)
        self.telephony.runner.submit(
            lambda session: session.add(row),
            after=lambda: loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), 10)

    def update_row(self, transfer_id: str, fields: dict[str, Any]) -> None:
        def update(session: Session) -> None:
            row = session.get(Transfer, transfer_id)
            if row is None:
                return
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

        self.telephony.runner.submit(update)

    def publish(self, type_: str, session: TransferableCall, data: dict[str, Any]) -> None:
        bus = self.telephony.records.bus
        if bus is not None:
            bus.publish(type_, session.organization_id, data, call_id=session.call_id)

    def set_presence(self, session: TransferableCall, user_id: str, presence: str) -> None:
        """Writes a console user's presence (busy on a transferred call, available after) and,
        once that is committed, publishes ``user.updated``."""
        bus = self.telephony.records.bus
        organization_id = session.organization_id
        changed: list[dict[str, Any]] = []

        def update(store: Session) -> None:
            user = store.get(User, user_id)
            if user is None or user.organization_id != organization_id:
                return
            user.presence = presence
            user.updated_at = utcnow()
            store.flush()
            changed.append(row_dict(user))

        def publish() -> None:
            if bus is not None and changed:
                bus.publish("user.updated", organization_id, changed[-1])

        self.telephony.runner.submit(update, on_commit=publish)


__all__ = ["NOT_CONNECTED", "TRANSFERRED", "BlindTransfer", "Target", "TransferRefer",
           "TransferableCall", "Transfers", "failure_cause", "refer_allowed", "sipfrag_cause",
           "until_bridge_ends"]
