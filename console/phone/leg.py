"""The phone's WebRTC leg to the engine, on its own asyncio loop in a worker thread.

:class:`MediaLoop` owns the thread and the loop; everything here runs on it, never on the GUI
thread. :class:`PhoneLeg` is one aiortc peer connection: it makes the offer (one audio
transceiver, ``sendrecv``, or ``recvonly`` to listen), has it answered by the engine through
``engine.client.Client`` (join, web call, answered transfer), sends the microphone's frames from
a ring buffer and writes the frames it receives into the speaker's ring buffer. It reports its
progress through a callback (on the media thread); the Qt side turns that into signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import aioice.ice
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler

from console.phone.ring import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, RingBuffer
from engine.client import Client, Record

log = logging.getLogger(__name__)

SILENCE = bytes(FRAME_BYTES)
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
TICK_S = FRAME_MS / 1000
RESYNC_TICKS = 5  # a sender late by more than 100 ms starts its clock again instead of bursting
LOOPBACK = "127.0.0.1"

Report = Callable[[str, Any], None]  # (kind, payload), called on the media thread
Offer = Callable[[Client, str], Awaitable[Record]]  # sends the offer SDP, returns the answer
Leave = Callable[[Client], Awaitable[Any]]

_loopback_patched = False


def include_loopback() -> None:
    """Lets aioice offer a 127.0.0.1 host candidate, so a console and an engine on one machine
    (or on a machine with no other interface) find a pair without any STUN server."""
    global _loopback_patched
    if _loopback_patched:
        return
    _loopback_patched = True
    original = aioice.ice.get_host_addresses

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and LOOPBACK not in addresses:
            addresses.append(LOOPBACK)
        return addresses

    aioice.ice.get_host_addresses = host_addresses


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

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
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

    def close(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout: float = 10.0) -> None:
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


class MicTrack(MediaStreamTrack):
    """The outgoing track: one 20 ms frame from the microphone's ring every 20 ms (its own
    clock), silence when the ring is short or the phone is muted."""

    kind = "audio"

    def __init__(self, mic: RingBuffer) -> None:
        super().__init__()
        self.mic = mic
        self.muted = False
        self.frames_sent = 0
        self._pts = 0
        self._next: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._next is None or now - self._next > RESYNC_TICKS * TICK_S:
            self._next = now
        elif self._next > now:
            await asyncio.sleep(self._next - now)
        self._next += TICK_S
        pcm = self.mic.read_frame(FRAME_BYTES)
        if pcm is None or self.muted:
            pcm = SILENCE
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(pcm)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += FRAME_SAMPLES
        self.frames_sent += 1
        return frame


class PhoneLeg:
    """One peer connection to the engine. Reports ``connecting``, ``answered`` (the answer
    record), ``connected``, ``ended`` and ``failed`` (a message) through ``report``."""

    def __init__(self, mic: RingBuffer, speaker: RingBuffer, report: Report, *,
                 send: bool = True) -> None:
        self.mic = mic
        self.speaker = speaker
        self.report = report
        self.send = send
        self.track = MicTrack(mic)
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

    @property
    def muted(self) -> bool:
        return self.track.muted

    @muted.setter
    def muted(self, value: bool) -> None:
        self.track.muted = value

    async def open(self, client: Client, offer: Offer) -> Record | None:
        """Offers, has the engine answer, applies the answer. None when closed meanwhile."""
        include_loopback()
        self.report("connecting", None)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
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
        resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if not isinstance(frame, AudioFrame):
                continue
            self.frames_received += 1
            for mono in resampler.resample(frame):
                self.speaker.write(bytes(mono.planes[0])[:mono.samples * 2])
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
