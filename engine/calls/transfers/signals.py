"""What a warm transfer waits for, as one queue of signals: a digit the recipient keyed
(``digit:N``), a decision heard (``voice:accept``), the API's ``complete:<actor>``, ``cancel``
and ``decline``, a console user's ``answered`` or ``retry``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

EVENT = "event"  # one of the awaited events (or the call's end) is set
TIMEOUT = "timeout"
CANCEL = "cancel"


class Signals:
    """The signal queue of one warm transfer."""

    def __init__(self, call_ended: asyncio.Event, canceled: Callable[[], bool]) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._call_ended = call_ended
        self._canceled = canceled

    def put(self, signal: str) -> None:
        self._queue.put_nowait(signal)

    def drain(self) -> None:
        """Drops the signals left from the last attempt."""
        while not self._queue.empty():
            self._queue.get_nowait()

    async def next(self, *events: asyncio.Event, within: float | None = None) -> str:
        """The next signal; ``cancel`` once the transfer is canceled; :data:`EVENT` when one of
        ``events`` or the call's end is set and nothing is queued; :data:`TIMEOUT` after
        ``within`` seconds."""
        if self._canceled():
            return CANCEL
        if self._set(events) and self._queue.empty():
            return EVENT
        getter = asyncio.ensure_future(self._queue.get())
        waits = [getter, *(asyncio.ensure_future(e.wait()) for e in (*events, self._call_ended))]
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getter.cancel()  # a signal put later stays queued for the next reader
            raise
        finally:
            for wait in waits[1:]:
                wait.cancel()
        if getter.done() and not getter.cancelled():
            signal = getter.result()
            return CANCEL if self._canceled() else signal
        getter.cancel()
        if self._canceled():
            return CANCEL
        if self._set(events):
            return EVENT
        return TIMEOUT

    def _set(self, events: tuple[asyncio.Event, ...]) -> bool:
        return self._call_ended.is_set() or any(e.is_set() for e in events)


__all__ = ["CANCEL", "EVENT", "TIMEOUT", "Signals"]
