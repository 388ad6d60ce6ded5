"""Speculative end of turn: the reply starts when silence begins and is kept only if the turn ends.

:class:`SpeculativeTurn` follows the turn detector's signals. At *silence began* it starts the
turn's work (final recognition and the brain's reply) speculatively; at *speech resumed* it
cancels that work and counts a discard; at *end of turn* it hands over the speculative work,
already under way or done, or starts it then when no speculation ran.

``work`` is called at the signal itself, so a synchronous first step (queueing a peek at the
recognition behind exactly the audio heard so far) happens in order with the audio; what it
returns is awaited in a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from engine.speech.vad import TurnEvent, TurnSignal

T = TypeVar("T")


class SpeculativeTurn(Generic[T]):
    """Runs ``work(speculative)`` from silence onset; discards it when the caller resumes.

    ``on_discard`` is called when resumed speech discards speculative work. ``on_drop`` is called
    with the result of speculative work that had already finished when it was dropped (resumed
    speech, a newer speculation, :meth:`cancel`), so that its effects can be undone; work still
    running is cancelled instead.
    """

    def __init__(
        self,
        work: Callable[[bool], Awaitable[T]],
        on_discard: Callable[[], None] | None = None,
        *,
        speculate: bool = True,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        self._work = work
        self._on_discard = on_discard
        self._on_drop = on_drop
        self.speculate = speculate
        self._task: asyncio.Task[T] | None = None
        self.discarded = 0
        self.speculative_hits = 0  # turns whose answer came from the speculative work

    @property
    def speculating(self) -> bool:
        """Speculative work was started at silence onset and is neither discarded nor handed over."""
        return self._task is not None

    def _start(self, speculative: bool) -> asyncio.Task[T]:
        return asyncio.ensure_future(_run(self._work(speculative)))

    def on_event(self, event: TurnEvent) -> asyncio.Task[T] | None:
        """Follows one signal; at the end of a turn, returns the task holding the turn's result."""
        if event.signal is TurnSignal.SILENCE_BEGAN and self.speculate:
            self._cancel()
            self._task = self._start(True)
        elif event.signal is TurnSignal.SPEECH_RESUMED:
            if self._task is not None:
                self._cancel()
                self.discarded += 1
                if self._on_discard is not None:
                    self._on_discard()
        elif event.signal is TurnSignal.END_OF_TURN:
            task, self._task = self._task, None
            if task is not None:
                self.speculative_hits += 1
                return task
            return self._start(False)
        return None

    def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        elif self._on_drop is not None and not task.cancelled() and task.exception() is None:
            self._on_drop(task.result())

    def cancel(self) -> None:
        """Drops work in flight (hang-up)."""
        self._cancel()


async def _run(work: Awaitable[T]) -> T:
    return await work
