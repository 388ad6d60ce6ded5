"""The offering side of a peer leg: a softphone (or a test) that calls the engine's join and
web-call endpoints.

:class:`OfferingPeer` makes the offer, applies the engine's answer, sends 16 kHz 20 ms frames
from a source paced by its own 20 ms timer, and hands every frame it receives (16 kHz, 20 ms)
to a sink. It runs on whatever loop creates it (the console runs it on a worker thread's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from engine.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, SILENCE
from engine.webrtc.ice import rtc_configuration
from engine.webrtc.tracks import InboundAudio

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
TICK_S = FRAME_MS / 1000

FrameSource = Callable[[], bytes | None]
FrameSink = Callable[[bytes], None]


class PacedTrack(MediaStreamTrack):
    """An outgoing track that takes one frame from ``source`` every 20 ms (None is silence)."""

    kind = "audio"

    def __init__(self, source: FrameSource) -> None:
        super().__init__()
        self.source = source
        self._pts = 0
        self._next: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._next is None or now - self._next > 5 * TICK_S:
            self._next = now  # first frame, or resync after a stall
        elif self._next > now:
            await asyncio.sleep(self._next - now)
        self._next += TICK_S
        pcm = self.source() or SILENCE
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(pcm)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += FRAME_SAMPLES
        return frame


class OfferingPeer:
    """A peer connection that offers audio both ways."""

    def __init__(self, source: FrameSource, sink: FrameSink | None = None, *,
                 configuration: RTCConfiguration | None = None) -> None:
        self.pc = RTCPeerConnection(configuration or rtc_configuration())
        self.track = PacedTrack(source)
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
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, AudioFrame):
                continue
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
