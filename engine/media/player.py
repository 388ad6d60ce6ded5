"""A pull source that plays queued PCM (a prompt, synthesized speech) frame by frame."""

from __future__ import annotations

from collections import deque

from engine.media.frame import FRAME_BYTES, FrameCutter


class Player:
    """Queue PCM at the mixer's rate; each ``next_frame()`` yields 20 ms, or None when idle."""

    def __init__(self) -> None:
        self._frames: deque[bytes] = deque()
        self._cutter = FrameCutter(FRAME_BYTES)
        self.frames_played = 0

    def enqueue(self, pcm: bytes, *, final: bool = True) -> None:
        self._frames.extend(self._cutter.feed(pcm))
        if final:
            tail = self._cutter.flush()
            if tail is not None:
                self._frames.append(tail)

    def clear(self) -> None:
        self._frames.clear()

    @property
    def idle(self) -> bool:
        return not self._frames

    @property
    def queued_ms(self) -> int:
        return len(self._frames) * 20

    def next_frame(self) -> bytes | None:
        if not self._frames:
            return None
        self.frames_played += 1
        return self._frames.popleft()
