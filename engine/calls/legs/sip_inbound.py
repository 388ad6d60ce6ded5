"""The leg of an inbound SIP call: an INVITE rung and answered with our SDP, its RTP, DTMF
(RFC 4733 or SIP INFO), re-INVITEs from the caller, and the BYE."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiosipua.sdp import SdpMessage

from engine.calls.legs.base import Ending, Signalling, SipCall
from engine.calls.legs.sip_media import SipMediaLeg
from engine.calls.media_context import MediaContext
from engine.calls.routing import Route
from engine.sip import sdp
from engine.sip.uas import IncomingCall
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure

if TYPE_CHECKING:
    from engine.calls.live_call import LiveCall

log = logging.getLogger(__name__)

SDP_REFUSED = 488  # Not Acceptable Here: no codec of ours in the offer


class SipInboundLeg(SipMediaLeg):
    """The caller of an inbound SIP call."""

    kind = "sip_inbound"
    transport = "sip"
    direction = "inbound"

    def __init__(self, sip: IncomingCall, route: Route, media: MediaContext, *,
                 stored: bool = False) -> None:
        super().__init__(media)
        self.sip = sip
        self.route = route
        self.stored = stored  # the row exists (a queued test call): it is filled, not created
        self._offer: SdpMessage | None = None
        self._params: sdp.MediaParams | None = None
        self.final_status: int | None = None  # the final response we sent to the INVITE
        self._refused: str | None = None  # why the offer was refused (its SdpError)

    @property
    def from_number(self) -> str:
        return self.sip.caller

    @property
    def to_number(self) -> str:
        return self.route.number

    @property
    def remote_party(self) -> str:
        return self.sip.caller or ""

    def new_row(self) -> dict[str, Any] | None:
        if self.stored:
            return None
        return {"type": "phone_call", "phone_number_id": self.route.phone_number_id,
                "sip_trunk_id": self.route.sip_trunk_id, "sip_call_id": self.sip.call_id,
                "metadata_": {"sip_call_id": self.sip.call_id, **self.route.rule_metadata}}

    def attach(self, call: LiveCall) -> None:
        super().attach(call)
        self.sip.on_event = self._sip_event
        self.sip.on_ended = call.party_ended
        self.sip.on_dtmf = call.dtmf
        self.sip.on_reoffer = call.control.answer_reoffer

    def _sip_event(self, event_type: str, status: int | None, detail: str | None) -> None:
        if event_type == "response_sent" and status is not None and status >= 200 \
                and self.final_status is None:
            self.final_status = status
        self.call.sip_event(event_type, status, detail)

    def created(self) -> None:
        records, call_id = self.call.records, self.call.call_id
        if self.stored:
            records.update_call(call_id, {
                "status": "ringing", "from_number": self.sip.caller, "transport": self.transport,
                "direction": self.direction, "initiated_at": self.call.initiated_at,
                "sip_call_id": self.sip.call_id, "metadata_": {"sip_call_id": self.sip.call_id}})
        records.add_event(call_id, "sip", "invite_received", status="ringing",
                          payload={"call_id": self.sip.call_id, "from": self.sip.caller,
                                   "to": self.sip.user})
        records.add_event(call_id, "sip", "response_sent", code=100, reason="Trying")

    async def connect(self) -> bool:
        self.sip.ring()
        self._offer = offer = sdp.parse(self.sip.offer)
        self._params = params = sdp.negotiate(offer)
        if self.media.answer_after_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.call.ended.wait(), self.media.answer_after_s)
        if self.gone:
            return False
        await self._open_rtp(params)
        return not self.gone  # False: cancelled while the port was opening

    @property
    def gone(self) -> bool:
        return self.sip.state == "ended"

    def answer(self) -> dict[str, Any]:
        assert self._offer is not None and self._params is not None and self._rtp is not None
        self.sip.answer(sdp.answer(self._offer, self._params, self.media.local_ip,
                                   self._rtp.local_port, session_id=self.call.control.sdp_id))
        return {"codec": self._params.codec}

    def hangup(self, reason: str) -> bool:
        self.sip.hangup(reason)
        return False

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, sdp.SdpError):
            log.info("call %s: %s", self.call.call_id, exc)
            self._refused = str(exc) or "no codec in common"
            self.sip.reject(SDP_REFUSED, words.CODEC_MISMATCH)
        else:
            super().failed(exc)
            self.sip.hangup("error")

    @property
    def signalling(self) -> Signalling:
        return self.sip

    @property
    def sip_call(self) -> SipCall:
        return self.sip

    def rtp_idle_s(self, now: float) -> float:
        return self._idle(now, self.sip.state in ("answered", "confirmed"))

    def ending(self, answered: bool, reason: str | None) -> Ending:
        """As any leg's, with the final response we sent (200, 487, 488, …) as the SIP code; an
        offer without a codec of ours is a codec mismatch with a 488 error."""
        ending = super().ending(answered, reason)
        ending.code = self.final_status
        if self._refused is not None and not answered:
            ending.reason = ending.failure = words.CODEC_MISMATCH
            ending.error = CallFailure(str(SDP_REFUSED), f"{SDP_REFUSED} Not Acceptable Here: "
                                                       f"{self._refused}")
        return ending

    def metadata(self) -> dict[str, Any] | None:
        rtp = self._rtp
        if rtp is None:
            return None
        return {"sip_call_id": self.sip.call_id,
                "rtp": {"frames_received": rtp.frames_received, "frames_sent": rtp.frames_sent,
                        "frames_dropped": rtp.frames_dropped, "codec": rtp.params.codec},
                "dtmf": "".join(self.call.stats.dtmf)}


__all__ = ["SipInboundLeg"]
