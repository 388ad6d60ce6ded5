"""The mixer edge of an agent's pipeline: a thread-safe sink for what the agent hears and a source
of what it says, one 20 ms frame per media tick.

The mixer may tick on another thread than the pipeline's loop (the media loop), so both sides
only touch deques (atomic appends and pops) and wake the pipeline with ``wake``. Media time is
the agent's own tick count: the mixer calls :meth:`AgentAudio.source` then
:meth:`AgentAudio.sink` once per tick, so tick ``n`` spans ``[n * 20 ms, (n + 1) * 20 ms)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.speech.audio import FRAME_BYTES, FRAME_MS
from engine.speech.frames import AudioFrame

FRAME_S = FRAME_MS / 1000
# A frame whose peak passes this is voiced (for the first-voiced-frame-out time). espeak-ng's
# leading and trailing frames peak under 30; its speech peaks at thousands (measured).
VOICED_PEAK = 300


@dataclass(eq=False)
class Playout:
    """One agent reply as it is played: its media times, filled in by the source."""

    first_pts: float | None = None  # the end of the slot its first frame went out in
    first_voiced_pts: float | None = None  # the end of the slot its first voiced frame went out in
    ended_pts: float | None = None  # the end of its last frame
    frames: int = 0
    done: bool = False
    meta: dict[str, object] = field(default_factory=dict)


class AgentAudio:
    """Frames in (the agent's mix) and out (its speech), with media time counted in ticks."""

    def __init__(self, wake: Callable[[], None] = lambda: None) -> None:
        self.wake = wake
        self.inbox: deque[AudioFrame] = deque()  # what the agent heard, stamped with media time
        self.outbox: deque[tuple[bytes | None, Playout]] = deque()
        self.finished: deque[Playout] = deque()  # playouts whose last frame went out
        self.tick = 0  # ticks started (source calls)
        self.frames_out = 0

    @property
    def now(self) -> float:
        """Media time (s) at the start of the current tick."""
        return max(self.tick - 1, 0) * FRAME_S

    def source(self) -> bytes | None:
        """The agent's next frame (mixer side); None is silence."""
        self.tick += 1
        pts = self.tick * FRAME_S  # the frame has gone out by the end of its slot
        while True:
            try:
                pcm, playout = self.outbox.popleft()
            except IndexError:
                return None
            if pcm is None:  # end mark of a reply
                playout.ended_pts = pts
                playout.done = True
                self.finished.append(playout)
                self.wake()
                continue
            if playout.first_pts is None:
                playout.first_pts = pts
            if playout.first_voiced_pts is None and _peak(pcm) >= VOICED_PEAK:
                playout.first_voiced_pts = pts
            playout.frames += 1
            self.frames_out += 1
            return pcm

    def sink(self, pcm: bytes) -> None:
        """What the agent hears this tick (mixer side)."""
        self.inbox.append(AudioFrame(pcm, pts=max(self.tick - 1, 0) * FRAME_S))
        self.wake()

    # -- pipeline side ---------------------------------------------------------------------------

    def play(self, pcm: bytes, playout: Playout) -> None:
        if len(pcm) == FRAME_BYTES:
            self.outbox.append((pcm, playout))

    def end(self, playout: Playout) -> None:
        """Marks the end of a reply: the source reports it when everything before has gone out."""
        self.outbox.append((None, playout))

    def stop(self) -> list[Playout]:
        """Drops every queued frame now (barge-in); returns the playouts cut short."""
        cut: list[Playout] = []
        while True:
            try:
                _, playout = self.outbox.popleft()
            except IndexError:
                break
            if not cut or cut[-1] is not playout:
                cut.append(playout)
        return cut

    @property
    def playing(self) -> bool:
        return bool(self.outbox)


def _peak(pcm: bytes) -> int:
    return int(np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32)).max(initial=0))
