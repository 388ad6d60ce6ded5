"""Speech to text: the engine and stream interfaces every recogniser implements.

An :class:`SttEngine` is loaded once per engine process (models are large) and opens one
:class:`RecognitionStream` per call leg. Streams take 16 kHz 16-bit mono PCM; decoding runs on
worker threads, never on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine.speech.frames import TranscriptFinal, TranscriptPartial


class SttModelMissing(RuntimeError):
    """A recognition model is not installed; the message says what to install or configure."""


class RecognitionStream(ABC):
    """One call leg's recognition: audio in, partial hypotheses out, a final per utterance."""

    @abstractmethod
    async def accept(self, pcm: bytes) -> TranscriptPartial | None:
        """Adds audio (any whole number of samples); returns a new partial hypothesis, if any."""

    @abstractmethod
    async def peek(self) -> TranscriptFinal:
        """The best recognition of the utterance so far, leaving it open (speculative end of turn)."""

    @abstractmethod
    async def finish(self, *, reuse_peek: bool = False) -> TranscriptFinal:
        """Ends the utterance: its final recognition, then the stream is ready for the next one.

        ``reuse_peek`` says nothing but trailing silence came since the last :meth:`peek`, so an
        engine may answer with that result instead of decoding again.
        """

    async def close(self) -> None:
        """Releases the stream's resources (a pooled recogniser goes back to its pool)."""
        return None


class SttEngine(ABC):
    """A loaded recogniser (model in memory) that opens streams."""

    provider: str = ""
    model: str = ""
    streaming: bool = False  # True when partial hypotheses come while the caller speaks

    @abstractmethod
    def open_stream(self, language: str | None = None) -> RecognitionStream:
        """A new recognition stream for one call leg."""

    async def aclose(self) -> None:
        """Frees the engine's models and threads."""
        return None
