"""Text to speech: the interface, and espeak-ng driven live through libespeak-ng.

Speech comes out as :class:`TTSChunk` frames of 20 ms at 16 kHz, each handed over as soon as
espeak-ng produced it; long text is spoken sentence by sentence, and :meth:`TextToSpeech.stream`
speaks the first sentence of streamed text while the rest is still arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterable

from engine.media.polyphase import PolyphaseResampler
from engine.speech.audio import FRAME_BYTES, SAMPLE_RATE, FrameCutter
from engine.speech.espeak import Espeak, Voice, VoiceSettings
from engine.speech.frames import TTSChunk
from engine.speech.sentences import SentenceAggregator, split_sentences

_DONE = object()


class TextToSpeech(ABC):
    """A speech synthesiser producing 20 ms frames of 16 kHz 16-bit mono PCM."""

    provider: str = ""
    sample_rate: int = SAMPLE_RATE

    def __init__(self) -> None:
        self.first_chunk_s: float | None = None  # request -> first frame, of the latest utterance

    @property
    def voice(self) -> str | None:
        """The voice it speaks with, for the transcript (None when it has no named voice)."""
        return None

    @abstractmethod
    def synthesize(self, text: str) -> AsyncGenerator[TTSChunk, None]:
        """Speaks ``text`` (sentence by sentence); frames come as they are produced. Closing the
        generator early stops the synthesis (barge-in)."""

    async def stream(self, text: AsyncIterable[str]) -> AsyncGenerator[TTSChunk, None]:
        """Speaks streamed text: each sentence starts as soon as it is complete."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()

        async def split() -> None:
            aggregator = SentenceAggregator()
            try:
                async for piece in text:
                    for sentence in aggregator.push(piece):
                        sentences.put_nowait(sentence)
                for sentence in aggregator.flush():
                    sentences.put_nowait(sentence)
            finally:
                sentences.put_nowait(None)

        reader = asyncio.create_task(split())
        try:
            while (sentence := await sentences.get()) is not None:
                async for chunk in self.synthesize(sentence):
                    yield chunk
            await reader  # surfaces an error of the text source
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class EspeakTTS(TextToSpeech):
    """espeak-ng through libespeak-ng's synth callback, on its worker thread, resampled to 16 kHz."""

    provider = "espeak-ng"

    def __init__(self, settings: VoiceSettings | None = None, espeak: Espeak | None = None) -> None:
        super().__init__()
        self.settings = settings or VoiceSettings()
        self._espeak = espeak

    @property
    def espeak(self) -> Espeak:
        if self._espeak is None:
            self._espeak = Espeak.shared()
        return self._espeak

    @property
    def voice(self) -> str | None:
        return self.settings.voice or None

    def voices(self) -> list[Voice]:
        """The voice catalogue (blocking: call it off the event loop)."""
        return self.espeak.voices()

    async def synthesize(self, text: str) -> AsyncGenerator[TTSChunk, None]:
        if self._espeak is None:
            self._espeak = await asyncio.to_thread(Espeak.shared)
        for sentence in split_sentences(text):
            async for chunk in self._sentence(self._espeak, sentence):
                yield chunk

    async def _sentence(self, espeak: Espeak, sentence: str) -> AsyncGenerator[TTSChunk, None]:
        """One sentence: synthesis on the espeak thread, frames handed to the loop as they exist."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        resampler = PolyphaseResampler(espeak.sample_rate, SAMPLE_RATE)
        cutter = FrameCutter(FRAME_BYTES)
        stop = threading.Event()
        requested = time.perf_counter()

        def post(item: object) -> bool:
            """Hand an item to the listening loop; False once that loop is closed."""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                return False
            return True

        def sink(pcm: bytes) -> bool:
            frames = cutter.feed(resampler.push(pcm))
            if frames and not post(frames):
                return False  # nobody listens any more: abort the synthesis
            return not stop.is_set()

        def finish(_: object) -> None:
            frames = cutter.feed(resampler.flush())
            tail = cutter.flush()
            frames += [tail] if tail is not None else []
            if post(frames):
                post(_DONE)

        job = espeak.synth(sentence, self.settings, sink)
        job.add_done_callback(finish)
        first = True
        try:
            while (item := await queue.get()) is not _DONE:
                assert isinstance(item, list)
                for pcm in item:
                    if first:
                        self.first_chunk_s = time.perf_counter() - requested
                    yield TTSChunk(pcm, text=sentence, first=first)
                    first = False
        finally:
            stop.set()  # aborts the synthesis when the consumer stops early (barge-in)
        job.result()  # raises a synthesis error, if any

    def render(self, text: str) -> bytes:
        """The whole utterance as 16 kHz PCM (blocking: for tools and tests, not live calls)."""
        out = bytearray()
        for sentence in split_sentences(text):
            resampler = PolyphaseResampler(self.espeak.sample_rate, SAMPLE_RATE)

            def sink(pcm: bytes, resampler: PolyphaseResampler = resampler, out: bytearray = out) -> bool:
                out.extend(resampler.push(pcm))
                return True

            self.espeak.synth(sentence, self.settings, sink).result()
            out += resampler.flush()
        return bytes(out)
