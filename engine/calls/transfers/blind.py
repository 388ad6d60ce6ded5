"""Blind transfers of live calls (DESIGN §5.4), by SIP REFER or by dial and bridge.

The party transferred is the remote one: the caller of an inbound call, the callee of an
outbound call, the browser of a web call.

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

The transfer goes requested → dialing → completed or failed, the failure typed (declined, busy,
no_answer, failed) with the SIP status. While the new leg rings the call is ``transferring``: the
agent is paused and muted, and the caller hears ringback when asked for. On failure the agent
comes back, says it could not connect the call, and the call returns to ``in_progress``. Once
bridged, the caller and the recipient hear each other; either hanging up ends the call. While
the new leg still rings, ``cancel`` stops it (``canceled``) and the agent takes the call back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from engine.calls.commands import Transfer as TransferCommand
from engine.calls.errors import CallError
from engine.calls.transfers.base import (
    FINISHED,
    NOT_CONNECTED,
    SETTLE_S,
    TRANSFERRED,
    TransferBase,
    call_ended,
    failure_cause,
    sipfrag_cause,
)
from engine.calls.transfers.context import Target, TransferableCall, TransferContext
from engine.calls.transfers.refer import TransferRefer
from engine.media import HUMAN_MASKS, MUSIC_MASKS, Participant, Tone
from engine.sip.refer import NOTIFY_WAIT_S, ReferResult
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uac import OutgoingCall
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

RINGBACK = Tone((440.0, 480.0), on_ms=2000, off_ms=4000)  # template: each transfer copies it
REFER_NOTIFY_MARGIN_S = 5.0  # the final NOTIFY may come this long after the ringing timeout


class BlindTransfer(TransferBase):
    """One blind transfer of one call, from request to bridge (or failure) and the end."""

    kind = "blind"

    def __init__(self, ctx: TransferContext, call: TransferableCall, command: TransferCommand,
                 target: Target, actor: str, use_refer: bool = False) -> None:
        super().__init__(ctx, call, actor, {
            "transfer_to": command.to, "destinations": [{"to": command.to}],
            "outbound_trunk_id": target.trunk_id,
            "ringing_timeout_seconds": command.ringing_timeout,
            "metadata_": {"play_dialtone": command.play_dialtone,
                          "method": "refer" if use_refer else "bridge",
                          "requested_method": command.method},
        })
        self.command = command
        self.target = target
        self.use_refer = use_refer  # REFER first (else dial and bridge only)
        self.refer: TransferRefer | None = None
        self.sip: OutgoingCall | None = None
        self.leg: RtpLeg | None = None
        self.participant: Participant | None = None
        self._ringback: Participant | None = None
        self._port = 0
        self._canceled_by: str | None = None

    def _payload(self) -> dict[str, Any]:
        return {**super()._payload(), "to": self.command.to}

    # -- what the API asks --------------------------------------------------------------------

    async def complete(self, actor: str) -> dict[str, Any]:
        """A blind transfer bridges by itself once answered: nothing to force."""
        self.check_running()
        raise CallError("TRANSFER_NOT_READY",
                        "a blind transfer is bridged as soon as its destination answers")

    async def cancel(self, actor: str) -> dict[str, Any]:
        """Stops a transfer whose new leg is still ringing (dial and bridge): the leg is
        canceled and the agent takes the call back."""
        self.check_running()
        sip = self.sip
        if sip is None or sip.state not in ("calling", "proceeding"):
            raise CallError("TRANSFER_NOT_CANCELABLE",
                            "only a transfer whose new leg is ringing can be canceled")
        self._canceled_by = actor
        sip.hangup("canceled")
        await self._settled(lambda: self.status in FINISHED, SETTLE_S)
        return self.body()

    # -- the transfer -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if self.use_refer and not await self._refer():
                return
            if await self._dial_destination():
                await self._bridge()
                assert self.sip is not None
                await self._until_bridge_ends(self.sip)
        except Exception:
            log.exception("call %s: transfer %s failed", self.call.call_id, self.id)
            if self.status in ("requested", "dialing"):
                self._fail("failed", None, "error")
        finally:
            self.call.control.transferring = False
            await self._close()

    def _attempt(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        self.attempts.append({"to": self.command.to, **entry})
        return [dict(a) for a in self.attempts]

    async def _refer(self) -> bool:
        """Sends the REFER and follows it to its result: True when the transfer goes on by dial
        and bridge, False when it is over (completed, failed or canceled)."""
        call = self.call
        sip_call = call.sip_call
        dialog = sip_call.dialog if sip_call is not None else None
        dialer = self.ctx.sip
        assert dialog is not None and dialer is not None
        self._update(status="dialing")
        self.event("dialing", method="refer")
        self._hold_agent()
        done: asyncio.Future[ReferResult] = asyncio.get_running_loop().create_future()

        def progress(code: int, line: str) -> None:
            self.event("refer_progress", code=code, reason=line, sipfrag=line)

        def accepted(code: int) -> None:
            self.event("refer_accepted", code=code)

        wait_s = max(NOTIFY_WAIT_S, self.command.ringing_timeout + REFER_NOTIFY_MARGIN_S)
        def finished(result: ReferResult) -> None:
            if not done.done():
                done.set_result(result)

        refer: TransferRefer = dialer.refer(
            dialog, self.target.uri, finished,
            on_progress=progress, on_accepted=accepted, notify_wait_s=wait_s)
        self.refer = refer
        refer.start()
        ended: asyncio.Future[Any] = asyncio.ensure_future(call.ended.wait())
        try:
            await asyncio.wait([cast("asyncio.Future[Any]", done), ended],
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if not done.done():  # the call ended while the REFER was outstanding
            accepted_first = refer.refer_status is not None and refer.refer_status < 300
            refer.give_up()
            if accepted_first:  # the caller's side took the transfer and left our leg
                self._complete_by_refer(refer.refer_status or 202, None, None, confirmed=False)
            else:
                self._update(status="canceled", completed_at=utcnow(),
                             failure_cause="caller_hangup",
                             routing_attempts=self._attempt({"method": "refer",
                                                             "status": "canceled"}))
                self.event("canceled", failure="caller_hangup")
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
        self.event(f"refer_{result.outcome}", code=code, fallback="bridge")
        return True

    def _complete_by_refer(self, refer_status: int, code: int | None, line: str | None,
                           confirmed: bool = True) -> None:
        call = self.call
        self._transferred()
        self._update(status="completed", completed_at=utcnow(), sip_status_code=code,
                     routing_attempts=self._attempt({"method": "refer", "status": "completed",
                                                     "refer_status": refer_status,
                                                     "sip_status_code": code, "sipfrag": line}),
                     participants=[*self.fields["participants"],
                                   {"identity": "refer_target", "role": "transfer_target",
                                    "to": self.command.to}],
                     metadata_=self._metadata(method="refer", refer_confirmed=confirmed))
        self.event("completed", code=code, reason=line, method="refer", confirmed=confirmed)
        if not call.ended.is_set():
            call.hangup(TRANSFERRED)  # the caller now talks to the destination directly

    async def _dial_destination(self) -> bool:
        call = self.call
        self._update(status="dialing")
        self.event("dialing", method="bridge")
        self._hold_agent()
        if self.command.play_dialtone and call.mixer is not None:
            tone = Tone(RINGBACK.freqs, on_ms=RINGBACK.on_ms, off_ms=RINGBACK.off_ms)
            self._ringback = Participant("ringback", MUSIC_MASKS, tone.next_frame, None)
            call.media.loop.call(call.mixer.add, self._ringback)
        sip, self._port = await self.dial(self.target, float(self.command.ringing_timeout))
        self.sip = sip
        answered = asyncio.Event()
        ended = asyncio.Event()
        sip.on_answered = lambda _body: answered.set()
        sip.on_ended = lambda _reason: ended.set()
        sip.start()
        waits = [asyncio.ensure_future(e.wait()) for e in (answered, ended, call.ended)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self._canceled_by is not None and not call.ended.is_set():
            sip.hangup("canceled")
            self._cancel_dial(sip)
            return False
        if sip.state == "answered" and not call.ended.is_set():
            return True
        if call.ended.is_set():  # the caller went away (or the call was ended) meanwhile
            sip.hangup("caller_hangup")
            self._update(status="canceled", completed_at=utcnow(), failure_cause="caller_hangup",
                         routing_attempts=self._attempt({"method": "bridge",
                                                         "status": "canceled"}))
            self.event("canceled", failure="caller_hangup")
            return False
        self._fail(failure_cause(sip.outcome, sip.status), sip.status, sip.reason)
        return False

    def _cancel_dial(self, sip: OutgoingCall) -> None:
        """Canceled through the API while ringing: the agent takes the call back."""
        self._update(status="canceled", completed_at=utcnow(), sip_status_code=sip.status,
                     routing_attempts=self._attempt({"method": "bridge", "status": "canceled",
                                                     "sip_status_code": sip.status}),
                     metadata_=self._metadata(canceled_by=self._canceled_by))
        self.event("canceled", code=sip.status, actor=self._canceled_by)
        self._back_to_agent()

    def _fail(self, cause: str, code: int | None, reason: str | None,
              attempts: list[dict[str, Any]] | None = None) -> None:
        if attempts is None:
            attempts = self._attempt({"method": "bridge", "status": "failed",
                                      "failure_cause": cause, "sip_status_code": code})
        self._update(status="failed", failure_cause=cause, sip_status_code=code,
                     completed_at=utcnow(), routing_attempts=attempts)
        self.event("failed", code=code, reason=reason, failure=cause)
        self._back_to_agent()

    def _back_to_agent(self) -> None:
        """The ringback stops and the agent takes the call back, saying it could not connect."""
        self._drop(self._ringback)
        self._ringback = None
        if not call_ended(self.call):
            self._agent_back(NOT_CONNECTED)

    async def _bridge(self) -> None:
        call = self.call
        sip = self.sip
        assert sip is not None and call.mixer is not None
        self.leg, params = await self.ctx.rtp.open(sip.answer, self._port)
        self._port = 0  # the leg gives it back
        self.participant = Participant(f"transfer:{self.id}", HUMAN_MASKS, self.leg.pull,
                                       self.leg.push)
        self._drop(self._ringback)
        self._ringback = None
        await call.media.loop.call_soon_wait(call.mixer.add, self.participant)
        agent = call.control.agent_participant()
        await self._remove(agent)  # the AI agent leaves the call
        self._transferred()  # completed once the bridge is in the mixer
        self._update(status="completed", completed_at=utcnow(), sip_status_code=sip.status,
                     participants=[*self.fields["participants"],
                                   {"identity": f"transfer:{self.id}", "role": "human",
                                    "to": self.command.to, "sip_call_id": sip.call_id}],
                     routing_attempts=self._attempt({"method": "bridge", "status": "answered",
                                                     "sip_status_code": sip.status}),
                     metadata_=self._metadata(method="bridge"))
        self.event("completed", code=sip.status, reason=sip.reason, codec=params.codec,
                    method="bridge")
        call.records.update_call(call.call_id, {"status": "in_progress"})

    async def _close(self) -> None:
        call = self.call
        self._drop(self._ringback)
        self._ringback = None
        await self._remove(self.participant)
        if self.sip is not None and self.sip.state != "ended":  # nobody is left on its line
            self.sip.hangup(call.reason or ("caller_hangup" if call.ended.is_set() else "error"))
        if self.leg is not None:
            await self.ctx.rtp.close(self.leg)
        elif self._port:
            await self.ctx.rtp.release(self._port)
            self._port = 0


__all__ = ["RINGBACK", "BlindTransfer"]
