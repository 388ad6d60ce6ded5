"""A stage's input queue where control frames pre-empt data frames."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from engine.speech.frames import ControlFrame, Frame

F = TypeVar("F", bound=Frame)


class FrameQueue(Generic[F]):
    """FIFO per kind; :meth:`get` hands out every waiting control frame before any data frame.

    ``F`` is the frames the stage takes (``FrameQueue[Say | Interrupt | HangUp]``)."""

    def __init__(self) -> None:
        self._control: deque[F] = deque()
        self._data: deque[F] = deque()
        self._ready = asyncio.Event()

    def put(self, frame: F) -> None:
        (self._control if isinstance(frame, ControlFrame) else self._data).append(frame)
        self._ready.set()

    def clear_data(self) -> int:
        """Drops the waiting data frames (after an interruption); returns how many."""
        dropped = len(self._data)
        self._data.clear()
        if not self._control:
            self._ready.clear()
        return dropped

    def get_nowait(self) -> F | None:
        if self._control:
            frame = self._control.popleft()
        elif self._data:
            frame = self._data.popleft()
        else:
            return None
        if not self._control and not self._data:
            self._ready.clear()
        return frame

    async def get(self) -> F:
        while (frame := self.get_nowait()) is None:
            await self._ready.wait()
        return frame

    def __len__(self) -> int:
        return len(self._control) + len(self._data)
