"""The offering side of a peer leg: a test (or any client of the engine) that calls the engine's
join and web-call endpoints.

:class:`OfferingPeer` makes the offer, applies the engine's answer, sends 16 kHz 20 ms frames
from a source paced by its own 20 ms timer, and hands every frame it receives (16 kHz, 20 ms)
to a sink. It runs on whatever loop creates it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from engine.media import SAMPLE_RATE
from engine.rtc import FrameSource, PacedTrack, audio_frames, rtc_configuration
from engine.webrtc.tracks import InboundAudio

FrameSink = Callable[[bytes], None]


class OfferingPeer:
    """A peer connection that offers audio both ways."""

    def __init__(self, source: FrameSource, sink: FrameSink | None = None, *,
                 configuration: RTCConfiguration | None = None) -> None:
        self.pc = RTCPeerConnection(configuration or rtc_configuration())
        self.track = PacedTrack(source, SAMPLE_RATE)
        self.inbound = InboundAudio()
        self.sink = sink
        self.connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.addTransceiver(self.track, direction="sendrecv")
        self.pc.on("track", self._track)
        self.pc.on("connectionstatechange", self._state)

    async def offer(self) -> str:
        """The offer SDP, with host candidates."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        description = self.pc.localDescription
        assert description is not None
        return str(description.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def _state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.get_running_loop().create_task(self._receive(track)))

    async def _receive(self, track: MediaStreamTrack) -> None:
        async for frame in audio_frames(track):
            for pcm in self.inbound.convert(frame):
                if self.sink is not None:
                    self.sink(pcm)

    async def close(self) -> None:
        self.track.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
