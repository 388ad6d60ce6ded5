"""The media clock: one monotonic 20 ms tick that drives every call's mixer.

Deadlines are absolute, so scheduling jitter never accumulates into drift. When the loop falls
behind, at most ``MAX_CATCH_UP`` missed ticks run back to back; beyond that the clock resyncs
(a stall longer than that is audible anyway, and a burst would only add latency). Lateness of
every tick is measured, so benchmarks can report the share of late frames.
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

Ticker = Callable[[], None]


class MediaClock:
    """Ticks every registered ticker once per 20 ms slot, in registration order."""

    def __init__(self, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._now = now
        self._sleep = sleep
        self._tickers: list[Ticker] = []
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.late_ticks = 0
        self.skipped_ticks = 0
        self.max_late_s = 0.0
        self.busy_s = 0.0  # time spent inside tickers

    def add(self, ticker: Ticker) -> None:
        self._tickers.append(ticker)

    def remove(self, ticker: Ticker) -> None:
        if ticker in self._tickers:
            self._tickers.remove(ticker)

    @property
    def late_share(self) -> float:
        return self.late_ticks / self.ticks if self.ticks else 0.0

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
                deadline += missed * TICK_S
                late -= missed * TICK_S
            self._tick(late)
            done += 1
            deadline += TICK_S

    def _tick(self, late: float) -> None:
        self.ticks += 1
        if late > LATE_S:
            self.late_ticks += 1
        self.max_late_s = max(self.max_late_s, late)
        started = self._now()
        for ticker in list(self._tickers):
            try:
                ticker()
            except Exception:
                log.exception("media ticker failed")
        self.busy_s += self._now() - started
