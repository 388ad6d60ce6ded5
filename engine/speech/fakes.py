"""Fakes of the speech edges with scripted timings, for tests in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence

from engine.speech.audio import FRAME_BYTES
from engine.speech.frames import TranscriptFinal, TranscriptPartial, TTSChunk
from engine.speech.sentences import split_sentences
from engine.speech.stt import RecognitionStream, SttEngine
from engine.speech.tts import TextToSpeech


class FakeTTS(TextToSpeech):
    """Speaks ``frames_per_char`` silent-but-marked frames per character after ``first_chunk_s``."""

    provider = "fake-tts"

    def __init__(
        self, first_chunk_s: float = 0.0, frames_per_char: float = 0.5, frame_pcm: bytes | None = None
    ) -> None:
        super().__init__()
        self.first_chunk_delay_s = first_chunk_s
        self.first_chunk_s = first_chunk_s
        self.frames_per_char = frames_per_char
        self.frame_pcm = frame_pcm or b"\x01\x00" * (FRAME_BYTES // 2)
        self.spoken: list[str] = []

    async def synthesize(self, text: str) -> AsyncGenerator[TTSChunk, None]:
        for sentence in split_sentences(text):
            self.spoken.append(sentence)
            await asyncio.sleep(self.first_chunk_delay_s)
            for i in range(max(1, round(len(sentence) * self.frames_per_char))):
                yield TTSChunk(self.frame_pcm, text=sentence, first=i == 0)


class FakeSttEngine(SttEngine):
    """Answers each utterance with scripted text after ``decode_s`` (virtual) seconds.

    ``texts`` holds one entry per utterance: a string, or the successive hypotheses of the
    utterance as it grows (the n-th :meth:`peek` in the utterance gets the n-th; its final, the last).
    """

    provider = "fake-stt"
    model = "scripted"

    def __init__(
        self, texts: Sequence[str | Sequence[str]], decode_s: float = 0.15, partial_every: int = 0
    ) -> None:
        self.texts: list[list[str]] = [[t] if isinstance(t, str) else list(t) for t in texts]
        self.decode_s = decode_s
        self.partial_every = partial_every
        self.decodes = 0

    def open_stream(self, language: str | None = None) -> FakeRecognitionStream:
        return FakeRecognitionStream(self)


class FakeRecognitionStream(RecognitionStream):
    def __init__(self, engine: FakeSttEngine) -> None:
        self.engine = engine
        self._frames = 0
        self._peeks = 0
        self._peeked: TranscriptFinal | None = None

    def _hypotheses(self) -> list[str]:
        return self.engine.texts[0] if self.engine.texts else [""]

    def _final(self, text: str) -> TranscriptFinal:
        return TranscriptFinal(text, provider=self.engine.provider, model=self.engine.model)

    async def accept(self, pcm: bytes) -> TranscriptPartial | None:
        self._frames += 1
        every = self.engine.partial_every
        if every and self._frames % every == 0:
            words = self._hypotheses()[-1].split()
            return TranscriptPartial(" ".join(words[: self._frames // every]), provider=self.engine.provider)
        return None

    async def peek(self) -> TranscriptFinal:
        self.engine.decodes += 1
        hypotheses = self._hypotheses()
        text = hypotheses[min(self._peeks, len(hypotheses) - 1)]
        self._peeks += 1
        await asyncio.sleep(self.engine.decode_s)
        self._peeked = self._final(text)
        return self._peeked

    async def finish(self, *, reuse_peek: bool = False) -> TranscriptFinal:
        peeked, self._peeked = self._peeked, None
        self._frames = self._peeks = 0
        if not (reuse_peek and peeked is not None):
            self.engine.decodes += 1
            await asyncio.sleep(self.engine.decode_s)
        hypotheses = self.engine.texts.pop(0) if self.engine.texts else [""]
        return peeked if reuse_peek and peeked is not None else self._final(hypotheses[-1])
