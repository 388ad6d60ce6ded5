"""What every WebRTC peer of Switchboard shares: the engine's peer legs and the console's phone.

- ICE settings: no STUN or TURN server unless one is named, and a loopback host candidate.
  aiortc contacts a public STUN server when ``iceServers`` is left unset, so
  :func:`rtc_configuration` always names the servers (none by default). aioice leaves 127.0.0.1
  out of its host candidates; an engine and its console on one machine (or a machine with no
  other interface) then find no pair, so :func:`include_loopback` adds it.
- Audio in both directions as 16-bit mono PCM at the caller's rate (the engine's mixer runs at
  16 kHz, the console's audio devices at 48 kHz): :func:`pcm_frame` wraps a frame of PCM for an
  aiortc track, :class:`PcmConverter` turns decoded frames back into PCM, :func:`audio_frames`
  reads a peer's track until it ends, and :class:`PacedTrack` sends one frame from a source
  every 20 ms on its own clock.

Only aiortc, aioice, PyAV and the standard library are imported: the console uses this module
(the one part of the engine's insides its import contract lets it use) without loading the
engine.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler

LOOPBACK = "127.0.0.1"
FRAME_MS = 20  # one frame per packet: what both ends send and what Opus carries by default
SAMPLE_BYTES = 2  # signed 16-bit mono
RESYNC_FRAMES = 5  # a paced track late by more than 100 ms starts its clock again, not bursting

FrameSource = Callable[[], bytes | None]  # one frame of PCM, or None for silence
Clock = Callable[[], float]  # monotonic seconds
Sleep = Callable[[float], Awaitable[object]]

_original: Callable[[bool, bool], list[str]] | None = None


def include_loopback() -> None:
    """Makes aioice offer a 127.0.0.1 host candidate too (process-wide, idempotent)."""
    global _original
    if _original is not None:
        return
    original = aioice.ice.get_host_addresses
    _original = original

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and LOOPBACK not in addresses:
            addresses.append(LOOPBACK)
        return addresses

    aioice.ice.get_host_addresses = host_addresses


def rtc_configuration(ice_servers: Sequence[str] = ()) -> RTCConfiguration:
    """A configuration with exactly the given STUN/TURN URLs (none: host candidates only), with
    the loopback candidate included."""
    include_loopback()
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])


def frame_samples(sample_rate: int) -> int:
    """The samples in one 20 ms frame at ``sample_rate``."""
    return sample_rate * FRAME_MS // 1000


def pcm_frame(pcm: bytes, sample_rate: int, pts: int) -> AudioFrame:
    """One frame of 16-bit mono PCM as an aiortc audio frame stamped ``pts`` (in samples)."""
    frame = AudioFrame(format="s16", layout="mono", samples=len(pcm) // SAMPLE_BYTES)
    frame.planes[0].update(pcm)
    frame.sample_rate = sample_rate
    frame.pts = pts
    frame.time_base = _time_base(sample_rate)
    return frame


@functools.cache
def _time_base(sample_rate: int) -> fractions.Fraction:
    return fractions.Fraction(1, sample_rate)


class PcmConverter:
    """Decoded audio frames (any rate, layout and sample format) as 16-bit mono PCM at
    ``sample_rate``; the resampler keeps its state from frame to frame."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._resampler = AudioResampler(format="s16", layout="mono", rate=sample_rate)

    def convert(self, frame: AudioFrame) -> bytes:
        return b"".join(bytes(mono.planes[0])[:mono.samples * SAMPLE_BYTES]
                        for mono in self._resampler.resample(frame))


async def audio_frames(track: MediaStreamTrack) -> AsyncIterator[AudioFrame]:
    """The audio frames a peer's track delivers, until it ends."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, AudioFrame):
            yield frame


class PacedTrack(MediaStreamTrack):
    """An outgoing audio track that takes one 20 ms frame of PCM at ``sample_rate`` from
    ``source`` every 20 ms, by its own clock; None (or nothing) from the source is silence.
    ``clock`` and ``sleep`` are the time it keeps (a test gives virtual ones)."""

    kind = "audio"

    def __init__(self, source: FrameSource, sample_rate: int, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        super().__init__()
        self.source = source
        self.sample_rate = sample_rate
        self._clock = clock
        self._sleep = sleep
        self.silence = bytes(frame_samples(sample_rate) * SAMPLE_BYTES)
        self.frames_sent = 0
        self._pts = 0
        self._next: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        tick = FRAME_MS / 1000
        now = self._clock()
        if self._next is None or now - self._next > RESYNC_FRAMES * tick:
            self._next = now  # the first frame, or after a stall
        elif self._next > now:
            await self._sleep(self._next - now)
        self._next += tick
        frame = pcm_frame(self.source() or self.silence, self.sample_rate, self._pts)
        self._pts += frame.samples
        self.frames_sent += 1
        return frame


__all__ = [
    "FRAME_MS",
    "LOOPBACK",
    "FrameSource",
    "PacedTrack",
    "PcmConverter",
    "audio_frames",
    "frame_samples",
    "include_loopback",
    "pcm_frame",
    "rtc_configuration",
]
