"""Speculative end of turn: the reply starts when silence begins and is kept only if the turn ends.

:class:`SpeculativeTurn` follows the turn detector's signals. At *silence began* it starts the
turn's work (final recognition and the brain's reply) speculatively; at *speech resumed* it
cancels that work and counts a discard; at *end of turn* it hands over the speculative work,
already under way or done, or starts it then when no speculation ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from engine.speech.vad import TurnEvent, TurnSignal

T = TypeVar("T")


class SpeculativeTurn(Generic[T]):
    """Runs ``work(speculative)`` from silence onset; discards it when the caller resumes."""

    def __init__(
        self,
        work: Callable[[bool], Awaitable[T]],
        on_discard: Callable[[], None] | None = None,
        *,
        speculate: bool = True,
    ) -> None:
        self._work = work
        self._on_discard = on_discard
        self.speculate = speculate
        self._task: asyncio.Task[T] | None = None
        self.discarded = 0
        self.speculative_hits = 0  # turns whose answer came from the speculative work

    async def _run(self, speculative: bool) -> T:
        return await self._work(speculative)

    def on_event(self, event: TurnEvent) -> asyncio.Task[T] | None:
        """Follows one signal; at the end of a turn, returns the task holding the turn's result."""
        if event.signal is TurnSignal.SILENCE_BEGAN and self.speculate:
            self._cancel()
            self._task = asyncio.ensure_future(self._run(True))
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
            return asyncio.ensure_future(self._run(False))
        return None

    def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()

    def cancel(self) -> None:
        """Drops work in flight (hang-up)."""
        self._cancel()
