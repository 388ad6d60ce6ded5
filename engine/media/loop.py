"""The media loop: a dedicated thread with its own asyncio loop that runs the media clock, every
mixer and every RTP socket, apart from the signalling/API loop.

Call setup, SIP parsing, store writes and API requests then never delay a tick; the two loops
meet only through :meth:`MediaLoop.call` (fire and forget) and :meth:`MediaLoop.run` /
:meth:`MediaLoop.call_soon_wait` (awaitable from the signalling loop). ``threaded=False`` runs
the media on the caller's own loop instead (unit tests, tools).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, TypeVarTuple

from engine.media.clock import MediaClock
from engine.media.realtime import MEDIA_PRIORITY, request_realtime

log = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The interpreter's default GIL switch interval is 5 ms: a tick that wakes while another thread
# runs Python waits up to that long. 1 ms bounds the wait well inside the 10 ms lateness budget.
SWITCH_INTERVAL_S = 0.001
START_TIMEOUT_S = 10.0


class MediaLoop:
    """Owns the media clock and the loop it ticks on."""

    def __init__(self, clock: MediaClock | None = None, *, threaded: bool = True,
                 name: str = "media", realtime: bool = False) -> None:
        self.threaded = threaded
        self.name = name
        self.realtime = realtime  # ask for real-time scheduling for the thread
        self.realtime_granted = False
        self._clock = clock
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def clock(self) -> MediaClock:
        if self._clock is None:
            raise RuntimeError("the media loop is not started")
        return self._clock

    def start(self) -> None:
        if self.loop is not None:
            return
        if not self.threaded:
            self.loop = asyncio.get_running_loop()
            self._clock = self._clock or MediaClock()
            self._clock.start()
            return
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name=self.name,
                                        daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the media loop did not start")

    def _main(self, ready: threading.Event) -> None:
        if self.realtime:
            self.realtime_granted = request_realtime(MEDIA_PRIORITY)
            log.info("media thread: %s", "real-time scheduling (SCHED_RR)"
                     if self.realtime_granted else "real-time scheduling not allowed here; "
                     "normal priority")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(loop, ready))
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except Exception:
            log.exception("the media loop failed")
        finally:
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        if self._clock is None:
            self._clock = MediaClock()
        self._clock.start()
        self.loop = loop
        ready.set()
        await self._stopped.wait()
        await self._clock.stop()

    async def stop(self) -> None:
        if self.loop is None:
            return
        if not self.threaded:
            await self.clock.stop()
            self.loop = None
            return
        stopped, loop, thread = self._stopped, self.loop, self._thread
        assert stopped is not None and thread is not None
        loop.call_soon_threadsafe(stopped.set)
        await asyncio.to_thread(thread.join, START_TIMEOUT_S)
        self.loop = None

    def on_media_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, fn: Callable[[*Ts], object], *args: *Ts) -> None:
        """Run ``fn(*args)`` on the media loop soon; from any thread."""
        loop = self.loop
        if loop is None:
            return
        if self.on_media_loop():
            loop.call_soon(fn, *args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that runs on the media loop."""
        if self.loop is None:
            coro.close()
            raise RuntimeError("the media loop is not started")
        if self.on_media_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def call_soon_wait(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run a plain function on the media loop and await its result."""
        if self.on_media_loop():
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting side
                future.set_exception(exc)

        self.call(run)
        return await asyncio.wrap_future(future)
