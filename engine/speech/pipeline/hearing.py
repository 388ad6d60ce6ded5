"""Hearing: the caller's frames through the VAD and turn detector into the recogniser.

Before speech starts, frames wait in a short preroll so the recogniser gets the utterance's
onset; inside a turn each frame is fed as it comes. The recogniser's input is one ordered queue
of typed frames: audio, and requests for the recognition of the utterance so far (a speculative
peek or the final), each answered after exactly the audio queued before it. Decoding runs on the
recognition engine's worker threads; this side only queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from engine.speech.agent_audio import FRAME_S
from engine.speech.frames import AudioFrame, DataFrame, HangUp, TranscriptFinal
from engine.speech.pipeline.records import PipelineObserver, Transcript, Usage
from engine.speech.stt import RecognitionStream, SttEngine
from engine.speech.vad import TurnDetector, TurnEvent, TurnSignal

log = logging.getLogger(__name__)

# Audio kept from before the detector decides speech started: the start needs 3 voiced frames
# in 5 (up to 100 ms late), and a recogniser given the clipped onset loses the first phoneme.
PREROLL_MS = 200


@dataclass(frozen=True, slots=True)
class Recognize(DataFrame):
    """Asks for the recognition of the utterance so far, in line behind the audio queued before
    it: a peek that leaves the utterance open (speculative), or its final, which ends it."""

    result: asyncio.Future[TranscriptFinal]
    final: bool = False
    reuse_peek: bool = False  # the final may answer with the last peek (only silence came since)


# What the recogniser takes, in order; a hang-up stops it.
RecognizerInput = AudioFrame | Recognize | HangUp


class Hearing:
    """One leg's ears: turn signals from the caller's frames, recognition in order behind them."""

    def __init__(self, stt: SttEngine, transcript: Transcript, observer: PipelineObserver,
                 usage: Usage, vad: Callable[[bytes], bool] | None = None) -> None:
        self.stt = stt
        self.detector = TurnDetector(vad)
        self._vad = vad
        self._transcript = transcript
        self._observer = observer
        self._usage = usage
        self._preroll: deque[AudioFrame] = deque(maxlen=max(1, PREROLL_MS // 20))
        self._queue: asyncio.Queue[RecognizerInput] = asyncio.Queue()
        self._stream: RecognitionStream | None = None
        self._line: int | None = None  # the line number the turn's partials carry
        self._started_at = 0.0  # media time the current turn's speech started
        self._voiced_since_peek = False

    @property
    def speaking(self) -> bool:
        """The caller is inside a turn (speech started, the turn not yet ended)."""
        return self.detector.speaking

    @property
    def voiced_since_peek(self) -> bool:
        """Voiced audio was fed after the last peek's (its recognition may be out of date)."""
        return self._voiced_since_peek

    def open(self, language: str | None) -> None:
        """Opens the recognition stream (before :meth:`run`)."""
        self._stream = self.stt.open_stream(language)

    def reset(self) -> None:
        """Forgets the turn in progress (after a hold): a fresh detector, an empty preroll."""
        self.detector = TurnDetector(self._vad)
        self._preroll.clear()

    # -- frames in ---------------------------------------------------------------------------

    def hear(self, frame: AudioFrame) -> list[TurnEvent]:
        """Takes one frame of the caller; returns the turn signals it caused."""
        detector = self.detector
        in_turn = detector.speaking
        voiced = detector.is_speech(frame.pcm)
        events = detector.push_decision(voiced, frame.pts)
        if events and events[0].signal is TurnSignal.SPEECH_STARTED:
            self._started_at = events[0].speech_started_at
            self._preroll.append(frame)
            for earlier in self._preroll:
                self._feed(earlier, voiced)
            self._preroll.clear()
        elif in_turn:
            self._feed(frame, voiced)
        else:
            self._preroll.append(frame)
        return events

    def _feed(self, frame: AudioFrame, voiced: bool) -> None:
        self._usage.stt_audio_s += FRAME_S
        self._queue.put_nowait(frame)
        if voiced:
            self._voiced_since_peek = True

    # -- recognition -------------------------------------------------------------------------

    def peek(self) -> asyncio.Future[TranscriptFinal]:
        """The recognition of the utterance so far, leaving it open; cancelling the future
        before its turn comes skips the decode."""
        self._voiced_since_peek = False
        return self._request(final=False)

    def finish(self, *, reuse_peek: bool = False) -> asyncio.Future[TranscriptFinal]:
        """The final recognition of the utterance; the stream is then ready for the next one."""
        return self._request(final=True, reuse_peek=reuse_peek)

    def _request(self, *, final: bool, reuse_peek: bool = False) -> asyncio.Future[TranscriptFinal]:
        future: asyncio.Future[TranscriptFinal] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Recognize(future, final=final, reuse_peek=reuse_peek))
        return future

    def take_line_index(self) -> int | None:
        """The line number the turn's partials carried (None when none came); the next turn's
        partials take a new one."""
        index, self._line = self._line, None
        return index

    async def run(self) -> None:
        """Feeds audio to the recognition stream in order; peeks and finishes between frames."""
        stream = self._stream
        assert stream is not None, "open() first"
        queue = self._queue
        while not isinstance(item := await queue.get(), HangUp):
            if isinstance(item, AudioFrame):
                try:
                    partial = await stream.accept(item.pcm)
                except Exception:
                    log.exception("recognition failed")
                    continue
                if partial is not None and partial.text:
                    if self._line is None:
                        self._line = self._transcript.take_index()
                    self._observer.partial(self._line, partial.text, self._started_at)
                continue
            if item.result.done():
                continue  # cancelled: a discarded speculation
            try:
                result = await (stream.finish(reuse_peek=item.reuse_peek) if item.final else stream.peek())
            except Exception as exc:
                log.exception("recognition failed")
                self._observer.event("stt.error", {"error": str(exc)})
                result = TranscriptFinal("", provider=self.stt.provider, model=self.stt.model)
            if not item.result.done():
                item.result.set_result(result)

    def stop(self) -> None:
        """Ends :meth:`run` after what is queued."""
        self._queue.put_nowait(HangUp(reason="closed"))

    async def close(self) -> None:
        """Releases the recognition stream."""
        if self._stream is not None:
            with contextlib.suppress(Exception):
                await self._stream.close()
