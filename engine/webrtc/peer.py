"""A peer leg: one aiortc RTCPeerConnection joined to a call's mixer as a participant.

The peer offers, the engine answers (after ICE gathering, so the answer carries its host
candidates). The connection lives on the loop that created the leg (the engine's main loop):
aiortc's per-packet work (ICE, DTLS, SRTP, RTP, the jitter buffer) then never delays a media
tick, and its codecs already run on threads of their own (decoding on the receiver's thread,
encoding on the default executor). The mixer meets the leg only through the participant's
``source`` and ``sink`` (see :mod:`engine.webrtc.tracks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from engine.media import Masks, Participant
from engine.rtc import rtc_configuration
from engine.webrtc.tracks import InboundAudio, MixerTrack

log = logging.getLogger(__name__)

# The answer waits at most this long for the peer's offer to be applied and host candidates
# gathered (binding one UDP socket per address: a few ms on loopback).
ANSWER_TIMEOUT_S = 10.0
ENDED_STATES = ("failed", "closed")


class OfferError(ValueError):
    """An SDP offer the engine cannot answer (malformed, or no audio it can receive)."""


def check_offer(sdp: str) -> None:
    """Raises :class:`OfferError` unless ``sdp`` parses and offers audio."""
    if not sdp.strip():
        raise OfferError("the offer is empty")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:
        raise OfferError(f"the offer does not parse as SDP ({exc})") from exc
    if not any(media.kind == "audio" for media in parsed.media):
        raise OfferError("the offer has no audio media section")


class PeerLeg:
    """A WebRTC participant of a call: what the peer says goes to the mixer, and the mixer's
    mix for it goes to the peer."""

    def __init__(self, name: str, masks: Masks, *,
                 configuration: RTCConfiguration | None = None) -> None:
        self.name = name
        self.loop = asyncio.get_running_loop()
        self.pc = RTCPeerConnection(configuration or rtc_configuration())
        self.outgoing = MixerTrack(self.loop)
        self.inbound = InboundAudio()
        self.participant = Participant(name, masks, self.inbound.pull, self.outgoing.push)
        self.on_ended: Callable[[PeerLeg], None] | None = None
        self.started_at = time.monotonic()
        self.connected_s: float | None = None  # offer received -> ICE and DTLS connected
        self.ended = asyncio.Event()
        self._pumps: list[asyncio.Task[None]] = []
        self._closed = False
        self.pc.on("track", self._track)
        self.pc.on("connectionstatechange", self._state)

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    async def accept(self, offer: str) -> str:
        """Applies the peer's offer and returns the answer SDP (with host candidates)."""
        check_offer(offer)
        self.started_at = time.monotonic()
        try:
            await asyncio.wait_for(self._answer(offer), ANSWER_TIMEOUT_S)
        except (ValueError, TypeError) as exc:
            await self.close()
            raise OfferError(str(exc)) from exc
        except Exception:
            await self.close()
            raise
        description = self.pc.localDescription
        assert description is not None
        return str(description.sdp)

    async def _answer(self, offer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        audio = [t for t in self.pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise OfferError("the offer has no audio media section")
        self.pc.addTrack(self.outgoing)
        await self.pc.setLocalDescription(await self.pc.createAnswer())

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._pumps.append(self.loop.create_task(self.inbound.pump(track),
                                                     name=f"webrtc-in-{self.name}"))

    def _state(self) -> None:
        state = self.state
        if state == "connected" and self.connected_s is None:
            self.connected_s = time.monotonic() - self.started_at
            log.info("peer %s connected in %.0f ms", self.name, self.connected_s * 1000)
        elif state in ENDED_STATES:
            self._ended()

    def _ended(self) -> None:
        if self.ended.is_set():
            return
        self.ended.set()
        if self.on_ended is not None:
            self.on_ended(self)

    async def close(self) -> None:
        """Ends the connection (idempotent); ``on_ended`` runs once."""
        if self._closed:
            return
        self._closed = True
        self.outgoing.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ended()

    def stats(self) -> dict[str, object]:
        return {"connected_ms": None if self.connected_s is None else round(self.connected_s * 1000),
                "frames_received": self.inbound.frames_received,
                "frames_sent": self.outgoing.frames_sent,
                "frames_dropped": self.inbound.frames_dropped,
                "underruns": self.inbound.underruns}
