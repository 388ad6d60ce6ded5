"""Hearing a warm transfer's recipient: what they say on the consultation leg, recognised and
read as accept or decline.

:func:`recipient_decision` is the pure matcher: "yes", "yeah", "sure", "okay", "put them
through" accept; "no", "decline", "can't", "not now" decline; anything else decides nothing.
:class:`ConsultListener` sits on the consultation leg's audio: the mixer hands it every frame the
recipient sends (:meth:`ConsultListener.feed`, on the media loop: one deque append), and a task
on the transfer's loop runs the VAD and end of turn (:mod:`engine.speech.vad`), feeds each
utterance to a recognition stream and reports its text. Decoding runs on the recogniser's worker
threads (whisper's decode pool), never on either loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from engine.agents.matching import normalise
from engine.media import FRAME_BYTES, SILENCE
from engine.speech.stt import RecognitionStream, SttEngine
from engine.speech.vad import TurnDetector, TurnSignal

log = logging.getLogger(__name__)

Decision = Literal["accept", "decline"]

ACCEPT_PHRASES = ("yes", "yeah", "yep", "yup", "yes please", "accept", "accepted", "sure",
                  "okay", "ok", "alright", "all right", "put them through", "put him through",
                  "put her through", "put it through", "connect them", "connect me",
                  "go ahead", "i'll take it", "i will take it", "no problem")
DECLINE_PHRASES = ("no", "nope", "nah", "decline", "declined", "can't", "cannot", "can not",
                   "not now", "not right now", "no thanks", "no thank you", "i'm busy")
# Phrases that contain an accept word but decide nothing ("not sure", "yes or no").
UNDECIDED_PHRASES = ("not sure", "i'm not sure", "yes or no", "no idea")
# Audio kept from before the VAD decides speech started (its onset needs 3 voiced frames in 5),
# as in the agent's pipeline: a recogniser given the clipped onset loses the first phoneme.
PREROLL_FRAMES = 10
FRAME_S = 0.02
# Frames waiting for the listener beyond this (20 s) are dropped: the loop is far behind.
INBOX_MAX_FRAMES = 1000


def _compile(phrases: tuple[str, ...]) -> list[tuple[str, re.Pattern[str]]]:
    return [(p, re.compile(rf"(?<![a-z0-9']){re.escape(normalise(p))}(?![a-z0-9'])"))
            for p in phrases]


_KINDS: list[tuple[str, list[tuple[str, re.Pattern[str]]]]] = [
    ("accept", _compile(ACCEPT_PHRASES)), ("decline", _compile(DECLINE_PHRASES)),
    ("undecided", _compile(UNDECIDED_PHRASES))]


def recipient_decision(text: str) -> Decision | None:
    """What the recipient's words decide: the earliest phrase said wins (the longer one where
    two start together, so "no problem" accepts and "not now" declines); words inside an
    undecided phrase ("not sure") count for nothing."""
    said = normalise(text)
    found: list[tuple[int, int, str]] = []  # (start, end, kind)
    for kind, patterns in _KINDS:
        for _, pattern in patterns:
            found += [(m.start(), m.end(), kind) for m in pattern.finditer(said)]
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    blocked: list[tuple[int, int]] = []
    for start, end, kind in found:
        if any(start < b_end and end > b_start for b_start, b_end in blocked):
            continue
        if kind == "undecided":
            blocked.append((start, end))
            continue
        return "accept" if kind == "accept" else "decline"
    return None


@dataclass(frozen=True)
class Heard:
    """One utterance of the recipient: its text, what it decides, its media time (s)."""

    text: str
    decision: Decision | None
    started_at: float
    ended_at: float


class ConsultListener:
    """Recognises what a consultation leg's recipient says, one utterance at a time.

    :meth:`feed` is the media side (any thread); :meth:`start` runs the rest on the calling
    loop and calls ``on_heard`` there for every utterance with words in it."""

    def __init__(self, stt: SttEngine, on_heard: Callable[[Heard], None], *,
                 language: str | None = "en",
                 vad: Callable[[bytes], bool] | None = None) -> None:
        self.stt = stt
        self.on_heard = on_heard
        self.language = language
        self.detector = TurnDetector(vad)
        self.heard: list[Heard] = []
        self.frames = 0
        self._inbox: deque[bytes] = deque(maxlen=INBOX_MAX_FRAMES)
        self._preroll: deque[bytes] = deque(maxlen=PREROLL_FRAMES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._wake = asyncio.Event()
        self._waking = False
        self._stream: RecognitionStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._stream = self.stt.open_stream(self.language)
        self._task = self._loop.create_task(self._run(), name="consult-listen")

    def feed(self, pcm: bytes | None) -> None:
        """One 20 ms frame the recipient sent (None or a short frame is heard as silence)."""
        if self._closed or self._loop is None:
            return
        self._inbox.append(pcm if pcm is not None and len(pcm) == FRAME_BYTES else SILENCE)
        if self._waking:
            return
        self._waking = True
        if threading.get_ident() == self._thread:
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                self._loop.call_soon_threadsafe(self._wake.set)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._inbox.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._stream is not None:
            with contextlib.suppress(Exception):
                await self._stream.close()

    async def _run(self) -> None:
        stream = self._stream
        assert stream is not None
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            self._waking = False
            while self._inbox and not self._closed:
                pcm = self._inbox.popleft()
                pts = self.frames * FRAME_S
                self.frames += 1
                in_turn = self.detector.speaking
                events = self.detector.push(pcm, pts)
                if any(e.signal is TurnSignal.SPEECH_STARTED for e in events):
                    self._preroll.append(pcm)
                    for frame in self._preroll:
                        await stream.accept(frame)
                    self._preroll.clear()
                elif in_turn:
                    await stream.accept(pcm)
                else:
                    self._preroll.append(pcm)
                for event in events:
                    if event.signal is TurnSignal.END_OF_TURN:
                        await self._utterance(stream, event.speech_started_at,
                                              event.last_voiced_at)

    async def _utterance(self, stream: RecognitionStream, started_at: float,
                         ended_at: float) -> None:
        try:
            final = await stream.finish()
        except Exception:
            log.exception("recognition of the transfer's recipient failed")
            return
        text = final.text.strip()
        if not text or self._closed:
            return
        heard = Heard(text, recipient_decision(text), started_at, ended_at)
        self.heard.append(heard)
        try:
            self.on_heard(heard)
        except Exception:
            log.exception("a recipient's words were not handled")


__all__ = ["ACCEPT_PHRASES", "DECLINE_PHRASES", "UNDECIDED_PHRASES", "ConsultListener",
           "Decision", "Heard", "recipient_decision"]
