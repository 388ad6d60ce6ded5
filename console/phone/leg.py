"""The phone's WebRTC leg to the engine, on its own asyncio loop in a worker thread.

:class:`MediaLoop` owns the thread and the loop; everything here runs on it, never on the GUI
thread. :class:`PhoneLeg` is one aiortc peer connection: it makes the offer (one audio
transceiver, ``sendrecv``, or ``recvonly`` to listen), has it answered by the engine through
``engine.client.Client`` (join, web call, answered transfer), sends the microphone's frames from
a ring buffer and writes the frames it receives into the speaker's ring buffer. It reports its
progress through a callback (on the media thread); the Qt side turns that into signals. ICE
settings, the paced outgoing track and the frame conversions are the engine's peers' own
(:mod:`engine.rtc`), at the devices' 48 kHz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from console.phone.ring import FRAME_BYTES, SAMPLE_RATE, RingBuffer
from engine.client import Client, Record
from engine.rtc import PacedTrack, PcmConverter, audio_frames, rtc_configuration

log = logging.getLogger(__name__)

T = TypeVar("T")
# (kind, payload: the answer record, a message or None), called on the media thread
Report = Callable[[str, Record | str | None], None]
Offer = Callable[[Client, str], Awaitable[Record]]  # sends the offer SDP, returns the answer
Leave = Callable[[Client], Awaitable[object]]


class MediaLoop:
    """A worker thread running an asyncio loop, and the API client used on it."""

    def __init__(self, name: str = "switchboard-phone") -> None:
        self.loop = asyncio.new_event_loop()
        self._client: Client | None = None
        self._client_key: tuple[str, str] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def client(self, base_url: str, api_key: str) -> Client:
        """The API client for this engine (made again when the console attaches elsewhere)."""
        if self._client is None or self._client_key != (base_url, api_key):
            if self._client is not None:
                await self._client.aclose()
            transport = httpx.AsyncHTTPTransport(verify=False) if base_url.startswith("http://") else None
            self._client = Client(base_url, api_key, transport=transport)
            self._client_key = (base_url, api_key)
        return self._client

    def close(self, cleanup: Coroutine[Any, Any, object] | None = None, timeout: float = 10.0) -> None:
        """Runs ``cleanup``, closes the client and stops the thread."""
        async def shutdown() -> None:
            if cleanup is not None:
                with contextlib.suppress(Exception):
                    await cleanup
            if self._client is not None:
                await self._client.aclose()
                self._client = None

        if self.loop.is_closed():
            return
        try:
            self.submit(shutdown()).result(timeout)
        except Exception as exc:
            log.debug("closing the phone's media loop: %r", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


class PhoneLeg:
    """One peer connection to the engine. Reports ``connecting``, ``answered`` (the answer
    record), ``connected``, ``ended`` and ``failed`` (a message) through ``report``."""

    def __init__(self, mic: RingBuffer, speaker: RingBuffer, report: Report, *,
                 send: bool = True) -> None:
        self.mic = mic
        self.speaker = speaker
        self.report = report
        self.send = send
        self.muted = False
        # one 20 ms frame from the microphone's ring every 20 ms (its own clock), silence when
        # the ring is short or the phone is muted
        self.track = PacedTrack(self._mic_frame, SAMPLE_RATE)
        self.pc: RTCPeerConnection | None = None
        self.answer: Record | None = None
        self.leave: Leave | None = None  # how to leave the call once answered (joins)
        self.frames_received = 0
        self.connected = False
        self.closed = False
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def frames_sent(self) -> int:
        return self.track.frames_sent

    def _mic_frame(self) -> bytes | None:
        pcm = self.mic.read_frame(FRAME_BYTES)  # drained while muted too: no stale audio after
        return None if self.muted else pcm

    async def open(self, client: Client, offer: Offer) -> Record | None:
        """Offers, has the engine answer, applies the answer. None when closed meanwhile."""
        self.report("connecting", None)
        pc = RTCPeerConnection(rtc_configuration())
        self.pc = pc
        if self.send:
            pc.addTransceiver(self.track, direction="sendrecv")
        else:
            pc.addTransceiver("audio", direction="recvonly")
        pc.on("track", self._track)
        pc.on("connectionstatechange", self._state)
        try:
            await pc.setLocalDescription(await pc.createOffer())
            description = pc.localDescription
            assert description is not None
            answer = await offer(client, str(description.sdp))
            self.answer = answer
            if self.closed:
                return None
            await pc.setRemoteDescription(RTCSessionDescription(sdp=str(answer["sdp"]), type="answer"))
        except Exception:
            await self._close_pc()
            raise
        self.report("answered", answer)
        return answer

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._pumps.append(asyncio.get_running_loop().create_task(self._receive(track)))

    async def _receive(self, track: MediaStreamTrack) -> None:
        converter = PcmConverter(SAMPLE_RATE)
        async for frame in audio_frames(track):
            self.frames_received += 1
            self.speaker.write(converter.convert(frame))
        if not self.closed:
            self.report("ended", "the engine closed the connection")

    def _state(self) -> None:
        if self.pc is None or self.closed:
            return
        state = self.pc.connectionState
        if state == "connected" and not self.connected:
            self.connected = True
            self.report("connected", None)
        elif state == "failed":
            self.report("failed", "The connection to the engine failed")
        elif state == "closed":
            self.report("ended", "the connection closed")

    async def close(self, client: Client | None) -> None:
        """Leaves the call (joins) and closes the connection; reports ``ended`` once."""
        if self.closed:
            return
        self.closed = True
        if self.leave is not None and client is not None:
            try:
                await self.leave(client)
            except Exception as exc:  # already gone (the call ended, the engine saw the peer go)
                log.debug("leaving the call: %r", exc)
        await self._close_pc()
        self.report("ended", None)

    async def _close_pc(self) -> None:
        self.closed = True
        self.track.stop()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pumps.clear()
