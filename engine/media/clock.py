"""The media clock: one monotonic 20 ms tick that drives every call's mixer.

Deadlines are absolute, so scheduling jitter never accumulates into drift. When the loop falls
behind, at most ``MAX_CATCH_UP`` missed ticks run back to back; beyond that the clock resyncs
(a stall longer than that is audible anyway, and a burst would only add latency).

Two lateness figures are kept: per tick (when the tick started, against its slot) and per
outgoing frame (when a leg actually sent it, against the slot it was sent for). Most legs report
a frame through :meth:`MediaClock.frame_sent` as they send it, in the tick that mixed it; G.711
legs send theirs at the next tick's slot, from the RTP pacer process, whose reports come in
through :meth:`Lateness.merge` (or, without a pacer, first thing in that next tick). The second
figure is what a listener hears and what DESIGN §8 targets; it is kept as a histogram for
quantiles. The frames of ticks skipped after a stall are never sent: they count as late, as many
as the last tick sent. Each stage's CPU and wall time are summed too: wall beyond CPU is time the
ticking thread waited (for the GIL, or for a core).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from engine.media.frame import FRAME_MS

log = logging.getLogger(__name__)

TICK_S = FRAME_MS / 1000
LATE_S = 0.010  # a frame is late when it goes out more than 10 ms after its slot (DESIGN §8)
MAX_CATCH_UP = 3  # ticks replayed after a stall before resyncing
BIN_S = 0.0005  # lateness histogram resolution
BINS = 400  # up to 200 ms; later frames land in the last bin

Ticker = Callable[[], None]


class Lateness:
    """A histogram of how late frames went out."""

    def __init__(self) -> None:
        self.bins = [0] * BINS
        self.count = 0
        self.late = 0
        self.max_s = 0.0

    def add(self, late_s: float, count: int = 1) -> None:
        index = int(late_s / BIN_S) if late_s > 0 else 0
        self.bins[min(index, BINS - 1)] += count
        self.count += count
        if late_s > LATE_S:
            self.late += count
        if late_s > self.max_s:
            self.max_s = late_s

    def merge(self, bins: list[tuple[int, int]], late: int, max_s: float) -> None:
        """Adds frames counted elsewhere in the same bins: (bin index, frames) pairs, how many
        of them were late and the latest."""
        for index, n in bins:
            self.bins[min(index, BINS - 1)] += n
            self.count += n
        self.late += late
        if max_s > self.max_s:
            self.max_s = max_s

    @property
    def late_share(self) -> float:
        return self.late / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """Upper edge of the bin holding the ``q`` quantile, in seconds."""
        if not self.count:
            return 0.0
        target = q * self.count
        seen = 0
        for index, n in enumerate(self.bins):
            seen += n
            if seen >= target:
                return (index + 1) * BIN_S
        return BINS * BIN_S

    def snapshot(self) -> Lateness:
        copy = Lateness()
        copy.bins, copy.count, copy.late, copy.max_s = list(self.bins), self.count, self.late, \
            self.max_s
        return copy

    def since(self, earlier: Lateness) -> Lateness:
        diff = Lateness()
        diff.bins = [a - b for a, b in zip(self.bins, earlier.bins, strict=True)]
        diff.count, diff.late = self.count - earlier.count, self.late - earlier.late
        diff.max_s = self.max_s
        return diff


class MediaClock:
    """Ticks every registered ticker once per 20 ms slot: by stage, then in registration order."""

    def __init__(self, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._now = now
        self._sleep = sleep
        self._tickers: list[tuple[int, Ticker]] = []
        self._stages: list[tuple[int, list[Ticker]]] = []
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.late_ticks = 0
        self.skipped_ticks = 0
        self.max_late_s = 0.0
        self.busy_s = 0.0  # time spent inside tickers
        self.slot = 0.0  # the deadline of the tick being run
        self.frames = Lateness()
        self.stage_cpu_s: dict[int, float] = {}  # the ticking thread's CPU time, per stage
        self.stage_wall_s: dict[int, float] = {}  # and the time each stage took
        self._tick_frames = 0  # frames sent by the tick being run
        self._last_tick_frames = 0  # and by the last one

    def add(self, ticker: Ticker, stage: int = 0) -> None:
        """Register ``ticker``; lower stages tick first within a slot."""
        self._tickers.append((stage, ticker))
        self._regroup()

    def remove(self, ticker: Ticker) -> None:
        self._tickers = [(s, t) for s, t in self._tickers if t != ticker]
        self._regroup()

    def _regroup(self) -> None:
        stages = sorted({s for s, _ in self._tickers})
        self._stages = [(stage, [t for s, t in self._tickers if s == stage]) for stage in stages]
        for stage in stages:
            self.stage_cpu_s.setdefault(stage, 0.0)
            self.stage_wall_s.setdefault(stage, 0.0)

    @property
    def late_share(self) -> float:
        return self.late_ticks / self.ticks if self.ticks else 0.0

    def frame_sent(self, count: int = 1) -> None:
        """A leg sent ``count`` frames of the current tick just now."""
        self.frames.add(self._now() - self.slot, count)
        self._tick_frames += count

    def frames_handed(self, count: int) -> None:
        """``count`` frames of the current tick were handed to a sender that reports their
        lateness later, through :meth:`Lateness.merge` (the RTP pacer)."""
        self._tick_frames += count

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="media-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def run(self, ticks: int | None = None) -> None:
        """Tick forever (or ``ticks`` times)."""
        deadline = self._now() + TICK_S
        done = 0
        while ticks is None or done < ticks:
            delay = deadline - self._now()
            if delay > 0:
                await self._sleep(delay)
            late = self._now() - deadline
            if late > MAX_CATCH_UP * TICK_S:
                missed = int(late / TICK_S)
                self.skipped_ticks += missed
                if self._last_tick_frames:  # never sent: as late as can be
                    self.frames.add(late, missed * self._last_tick_frames)
                deadline += missed * TICK_S
                late -= missed * TICK_S
            self.slot = deadline
            self._tick(late)
            done += 1
            deadline += TICK_S

    def _tick(self, late: float) -> None:
        self.ticks += 1
        if late > LATE_S:
            self.late_ticks += 1
        self.max_late_s = max(self.max_late_s, late)
        self._tick_frames = 0
        started = wall = self._now()
        cpu = time.thread_time()
        stage_cpu, stage_wall = self.stage_cpu_s, self.stage_wall_s
        for stage, tickers in self._stages:
            for ticker in tickers:
                try:
                    ticker()
                except Exception:
                    log.exception("media ticker failed")
            now_cpu, now_wall = time.thread_time(), self._now()
            stage_cpu[stage] += now_cpu - cpu
            stage_wall[stage] += now_wall - wall
            cpu, wall = now_cpu, now_wall
        self.busy_s += wall - started
        self._last_tick_frames = self._tick_frames
