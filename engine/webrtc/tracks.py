"""The audio edges between a peer connection and the mixer.

:class:`MixerTrack` is the outgoing track: the mixer's sink hands it one 16 kHz frame per media
tick (on the media loop) and aiortc's sender awaits them on the peer connection's loop, so the
media clock paces what goes out; the Opus encoder converts to 48 kHz stereo on aiortc's
executor thread. :class:`InboundAudio` is the incoming side: decoded 48 kHz frames resampled to
16 kHz and cut into 20 ms frames that the mixer's source takes one per tick, behind a small
jitter buffer.

Both sides only touch deques (atomic appends and pops), so the mixer's thread and the peer
connection's loop never share a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from engine.media import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, FrameCutter
from engine.rtc import PcmConverter, audio_frames, pcm_frame

log = logging.getLogger(__name__)

# Frames queued for sending before the oldest are dropped: a sender that stalls this long
# (200 ms) is behind for good; dropping keeps the delay bounded.
OUTGOING_MAX_FRAMES = 10
# Incoming playout: the mixer starts taking frames once this many are buffered (40 ms: the
# peer's packets and the media clock tick on different threads, and on a loaded 2-core machine
# a packet arrives up to a tick late) and drops the oldest beyond the maximum (120 ms).
JITTER_START_FRAMES = 2
JITTER_MAX_FRAMES = 6


class MixerTrack(MediaStreamTrack):
    """An outgoing audio track fed one frame per media tick by :meth:`push` (any thread)."""

    kind = "audio"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._peer_loop = loop
        self._frames: deque[bytes] = deque(maxlen=OUTGOING_MAX_FRAMES)
        self._ready = asyncio.Event()
        self._receiver_waiting = False
        self._pts = 0
        self.frames_pushed = 0
        self.frames_sent = 0

    def push(self, pcm: bytes) -> None:
        """The mixer's sink: this tick's frame for the peer (called on the media loop)."""
        if self.readyState != "live":
            return
        self._frames.append(pcm)
        self.frames_pushed += 1
        if self._receiver_waiting:
            self._receiver_waiting = False
            with contextlib.suppress(RuntimeError):  # the peer's loop closed
                self._peer_loop.call_soon_threadsafe(self._ready.set)

    async def recv(self) -> AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            try:
                pcm = self._frames.popleft()
                break
            except IndexError:
                self._ready.clear()
                self._receiver_waiting = True
                if self._frames:  # pushed between the pop and the flag
                    continue
                await self._ready.wait()
        frame = pcm_frame(pcm, SAMPLE_RATE, self._pts)
        self._pts += FRAME_SAMPLES
        self.frames_sent += 1
        return frame

    def stop(self) -> None:
        super().stop()
        with contextlib.suppress(RuntimeError):
            self._peer_loop.call_soon_threadsafe(self._ready.set)


class InboundAudio:
    """The peer's audio as 16 kHz 20 ms frames: :meth:`pull` is the mixer's source."""

    def __init__(self) -> None:
        self._frames: deque[bytes] = deque()
        self._cutter = FrameCutter(FRAME_BYTES)
        self._converter = PcmConverter(SAMPLE_RATE)
        self._playing = False
        self.frames_received = 0
        self.frames_dropped = 0
        self.underruns = 0

    def convert(self, frame: AudioFrame) -> list[bytes]:
        """One decoded frame (any rate and layout) as whole 16 kHz mono 20 ms frames."""
        return self._cutter.feed(self._converter.convert(frame))

    def feed(self, frame: AudioFrame) -> None:
        """One decoded frame from the peer, queued for the mixer."""
        for pcm in self.convert(frame):
            self._frames.append(pcm)
            self.frames_received += 1
        while len(self._frames) > JITTER_MAX_FRAMES:
            self._frames.popleft()
            self.frames_dropped += 1

    def pull(self) -> bytes | None:
        """This tick's frame (the mixer's source, on the media loop); None is silence."""
        if not self._playing:
            if len(self._frames) < JITTER_START_FRAMES:
                return None
            self._playing = True
        try:
            return self._frames.popleft()
        except IndexError:
            self._playing = False
            self.underruns += 1
            return None

    async def pump(self, track: MediaStreamTrack) -> None:
        """Reads the peer's track until it ends."""
        async for frame in audio_frames(track):
            self.feed(frame)
