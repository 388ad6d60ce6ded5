"""The leg of an outbound SIP call: a queued call's INVITE through its number's trunk, ringing,
answered (or busy, no_answer, failed, canceled with the SIP code kept), its RTP and DTMF, hold
as a re-INVITE from our side, and the BYE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from engine.calls.legs.base import Ending, Signalling, SipCall
from engine.calls.legs.sip_media import SipMediaLeg
from engine.calls.media_context import MediaContext
from engine.calls.records import CallRecords
from engine.calls.routing import DialPlan
from engine.sip import sdp
from engine.sip.reinvite import ReInvite
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure

RINGING = (180, 183)  # provisional responses that mean the callee's phone rings


class OutboundDialog:
    """An answered outbound call's dialog as control sees it: its state, and re-INVITEs from
    our side (RFC 3261 §14.1; one outstanding at a time)."""

    def __init__(self, call: OutgoingCall, records: CallRecords, call_id: str) -> None:
        self.call = call
        self.records = records
        self.call_id = call_id
        self.reinvite_out: ReInvite | None = None

    @property
    def state(self) -> str:
        return self.call.state

    def reinvite(self, offer: bytes, on_result: Callable[[int, bytes], None]) -> bool:
        call, records, call_id = self.call, self.records, self.call_id
        if call.state != "answered" or call.dialog is None or (
                self.reinvite_out is not None and self.reinvite_out.pending):
            return False

        def done(status: int, body: bytes) -> None:
            records.add_event(call_id, "sip", "reinvite_response", code=status)
            on_result(status, body)

        self.reinvite_out = ReInvite(call.ua, call.dialog, offer, done)
        records.add_event(call_id, "sip", "reinvite_sent")
        self.reinvite_out.start()
        return True


def invite(ua: UserAgent, uri: str, peer: Peer, offer: bytes, caller: str, *,
           credentials: Any = None, ringing_timeout_s: float) -> OutgoingCall:
    """An INVITE from ``caller`` (a number or name, spaces dropped) to ``uri`` through ``peer``,
    not yet sent."""
    return OutgoingCall(ua, uri, peer, offer,
                        from_uri=f"sip:{caller.replace(' ', '')}@{ua.endpoint.host}",
                        credentials=credentials, ringing_timeout_s=ringing_timeout_s)


class SipOutboundLeg(SipMediaLeg):
    """The callee of an outbound SIP call."""

    kind = "sip_outbound"
    transport = "sip"
    direction = "outbound"
    name = "callee"

    def __init__(self, plan: DialPlan, ua: UserAgent, media: MediaContext) -> None:
        super().__init__(media)
        self.plan = plan
        self.ua = ua
        self.sip: OutgoingCall | None = None
        self._dialog: OutboundDialog | None = None
        self._port = 0

    @property
    def from_number(self) -> str:
        return self.plan.from_number

    @property
    def to_number(self) -> str:
        return self.plan.to_number

    @property
    def remote_party(self) -> str:
        return self.plan.to_number

    def _sip_event(self, event_type: str, status: int | None, detail: str | None) -> None:
        self.call.sip_event(event_type, status, detail)
        if event_type == "response_received" and status in RINGING:
            self.call.records.update_call(self.call.call_id, {"status": "ringing"})

    async def connect(self) -> bool:
        plan, media, call = self.plan, self.media, self.call
        if media.allocator is not None:
            self._port, _ = await media.loop.run(media.allocator.allocate())
        offer = sdp.build(media.local_ip, self._port, sdp.supported_payload_types(), sdp.DTMF_PT,
                          session_id=call.control.sdp_id)
        sip = invite(self.ua, plan.target, Peer(plan.transport.upper(), plan.host, plan.port),
                     offer, plan.caller_id or plan.from_number or "switchboard",
                     credentials=plan.credentials, ringing_timeout_s=plan.ringing_timeout_s)
        self.sip = sip
        sip.on_event = self._sip_event
        sip.on_ended = call.party_ended
        sip.on_dtmf = call.dtmf
        sip.on_reoffer = call.control.answer_reoffer
        answered = asyncio.Event()
        sip.on_answered = lambda _body: answered.set()
        call.records.update_call(call.call_id, {"status": "ringing",
                                                "metadata_": {"sip_call_id": sip.call_id}})
        sip.start()
        ended = asyncio.ensure_future(call.ended.wait())
        got = asyncio.ensure_future(answered.wait())
        await asyncio.wait({ended, got}, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        got.cancel()
        if sip.state != "answered":
            return False
        await self._open_rtp(sdp.negotiate(sdp.parse(sip.answer)), self._port)
        self._port = 0  # the leg gives it back
        if sip.state == "ended":
            return False
        self._dialog = OutboundDialog(sip, call.records, call.call_id)
        return True

    @property
    def gone(self) -> bool:
        return self.sip is not None and self.sip.state == "ended"

    def answer(self) -> dict[str, Any]:
        assert self._rtp is not None
        return {"codec": self._rtp.params.codec}

    def hangup(self, reason: str) -> bool:
        if self.sip is not None:
            self.sip.hangup(reason)
            if self.sip.state != "ended":
                return False
        return True

    def failed(self, exc: BaseException) -> None:
        super().failed(exc)
        if self.sip is not None:
            self.sip.hangup("error")

    @property
    def signalling(self) -> Signalling | None:
        return self._dialog

    @property
    def sip_call(self) -> SipCall | None:
        return self.sip

    def rtp_idle_s(self, now: float) -> float:
        return self._idle(now, self.sip is not None and self.sip.state == "answered")

    def ending(self, answered: bool, reason: str | None) -> Ending:
        """Answered: completed. Not: the INVITE's outcome (busy, no_answer, canceled, failed),
        its final SIP status, and for a failure the reason its status names and the status as
        the error."""
        sip = self.sip
        code = sip.status if sip is not None else None
        error: CallFailure | None = None
        if answered:
            status = "completed"
        else:
            outcome = sip.outcome if sip is not None and sip.outcome else "failed"
            status = outcome if outcome != "answered" else "failed"
            if status == "failed" and code is not None and code >= 300:
                if reason != words.AUTH_FAILED:
                    reason = words.sip_reason(code)
                error = CallFailure.sip(code, sip.reason if sip is not None else None)
        return Ending(status, None if status == "completed" else reason, code,
                      self._metadata(answered), reason=reason, error=error)

    def _metadata(self, answered: bool) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        sip = self.sip
        if sip is not None:
            metadata["sip_call_id"] = sip.call_id
            if sip.status is not None:
                metadata["sip_status_code"] = sip.status
                metadata["sip_status"] = sip.reason
        if self._rtp is not None:
            metadata["rtp"] = {"frames_received": self._rtp.frames_received,
                               "frames_sent": self._rtp.frames_sent,
                               "codec": self._rtp.params.codec}
            metadata["dtmf"] = "".join(self.call.stats.dtmf)
        return metadata

    async def close(self) -> None:
        await super().close()
        if self._rtp is None and self._port and self.media.allocator is not None:
            await self.media.loop.run(self.media.allocator.release(self._port))
            self._port = 0


__all__ = ["OutboundDialog", "SipOutboundLeg", "invite"]
