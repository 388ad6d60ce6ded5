"""What both SIP legs have: the RTP media of the party, opened on the media loop once the
offer/answer is settled, its DTMF reported to the call, and its idle time watched."""

from __future__ import annotations

import asyncio
from functools import partial

from engine.calls.legs.base import Leg, threadsafe
from engine.calls.media_context import MediaContext
from engine.media import CALLER_MASKS, Participant
from engine.sip import sdp
from engine.sip.rtp_leg import RtpLeg


class SipMediaLeg(Leg):
    """A SIP leg's RTP (the party in the mixer once it flows)."""

    def __init__(self, media: MediaContext) -> None:
        self.media = media
        self._rtp: RtpLeg | None = None
        self._participant: Participant | None = None

    async def _open_rtp(self, params: sdp.MediaParams, port: int = 0) -> RtpLeg:
        """The party's RTP leg (on ``port`` when the offer named one), in the mixer's terms."""
        media = self.media
        loop = media.loop
        rtp = await loop.run(RtpLeg.open(media.local_ip, params, media.allocator, loop.clock,
                                         media.batch, port=port))
        self._rtp = rtp
        rtp.on_dtmf = partial(threadsafe, asyncio.get_running_loop(), self.call.dtmf)
        self._participant = Participant(self.name, CALLER_MASKS, rtp.pull, rtp.push)
        return rtp

    @property
    def participant(self) -> Participant:
        assert self._participant is not None
        return self._participant

    @property
    def rtp(self) -> RtpLeg | None:
        return self._rtp

    def _idle(self, now: float, answered: bool) -> float:
        """How long no RTP came, while the dialog is answered (0 otherwise)."""
        if self._rtp is None or not answered:
            return 0.0
        return now - self._rtp.last_rx

    async def close(self) -> None:
        if self._rtp is not None:
            await self.media.loop.run(self._rtp.close())


__all__ = ["SipMediaLeg"]
