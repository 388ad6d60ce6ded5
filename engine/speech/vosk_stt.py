"""vosk (Kaldi) streaming recognition: partial hypotheses while the caller speaks, finals per turn.

Models are directories (the data dir's ``models/vosk/<name>/`` or an explicit path) loaded once
per engine and shared: measured with the small Korean model, 1.8-3.5 s and ~540 MB per load.
A recogniser expands its decoding graph lazily: measured on 2 cores, a brand-new one decodes at
about 1x real time (single chunks up to 0.5 s), one warmed on other speech at 2-5x, one that has
decoded similar speech before at 8-10x. So each model keeps a pool of recognisers warmed at start
and reused across calls (they get faster with use). Decoding runs on worker threads (vosk
releases the GIL). ``vosk.Model(lang=...)`` would download from the internet and is never used.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from engine.speech.audio import SAMPLE_RATE
from engine.speech.frames import TranscriptFinal, TranscriptPartial
from engine.speech.stt import RecognitionStream, SttEngine, SttModelMissing

if TYPE_CHECKING:
    from vosk import KaldiRecognizer, Model

T = TypeVar("T")

VOSK_POOL_SIZE = 2  # warmed recognisers per model at start; the pool grows on demand beyond it
VOSK_DECODE_THREADS = 4  # ~8 real-time streams keep p99 delay under 200 ms on 2 cores (measured)
# Audio pushed through each new recogniser so its lazy graph is partly built before a call.
# Measured (Korean small model, espeak-ng Korean test speech): cold 1-2.5x real time, worst chunk
# 470 ms; after 2 s of the synthetic warm-up 3.8x / 150 ms; after other speech in the model's
# language 2-5x / 140 ms; the graph keeps growing with use, hence recognisers are reused.
WARMUP_SECONDS = 2.0
MODEL_MARKERS = ("am", "conf", "graph")  # what a vosk model directory holds
INSTALL_HINT = (
    "put an unpacked vosk model directory under <data dir>/models/vosk/ (switchboard models import PATH) "
    "or configure its path"
)


def find_models(data_dir: Path) -> dict[str, Path]:
    """The vosk model directories under ``data_dir/models/vosk/``, by directory name."""
    root = Path(data_dir) / "models" / "vosk"
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if is_model_dir(p)}


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_dir() for marker in MODEL_MARKERS)


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError as exc:
        raise SttModelMissing("the vosk engine needs the vosk package: pip install vosk") from exc
    vosk.SetLogLevel(-2)
    return vosk


def warmup_audio(seconds: float = WARMUP_SECONDS, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Deterministic speech-like noise (pitched pulses with a moving formant) to warm a recogniser."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = 120 + 40 * np.sin(2 * np.pi * 1.3 * t)
    voiced = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / sample_rate))
    formant = np.sin(2 * np.pi * (500 + 1500 * (0.5 + 0.5 * np.sin(2 * np.pi * 2.1 * t))) * t)
    signal = 0.3 * voiced * formant + 0.05 * rng.standard_normal(len(t))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (signal * envelope * 12000).astype("<i2").tobytes()


class RecognizerPool:
    """Warmed KaldiRecognizers for one model, lent to streams and reset on return."""

    def __init__(self, model: Model, sample_rate: int = SAMPLE_RATE) -> None:
        self.model = model
        self.sample_rate = sample_rate
        self._idle: list[KaldiRecognizer] = []
        self._lock = threading.Lock()
        self.created = 0

    def _new(self) -> KaldiRecognizer:
        vosk = _import_vosk()
        recognizer = vosk.KaldiRecognizer(self.model, self.sample_rate)
        recognizer.SetWords(True)
        self.created += 1
        return recognizer

    def warm(self, count: int, audio: bytes | None = None) -> None:
        """Creates ``count`` recognisers and pushes audio through each (blocking)."""
        audio = audio if audio is not None else warmup_audio()
        for _ in range(count):
            recognizer = self._new()
            for i in range(0, len(audio), 3200):
                recognizer.AcceptWaveform(audio[i : i + 3200])
            recognizer.FinalResult()
            recognizer.Reset()
            with self._lock:
                self._idle.append(recognizer)

    def acquire(self) -> KaldiRecognizer:
        """An idle warmed recogniser, or a new (cold) one when the pool is empty."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new()

    def release(self, recognizer: KaldiRecognizer) -> None:
        recognizer.Reset()
        with self._lock:
            self._idle.append(recognizer)

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)


class VoskEngine(SttEngine):
    """vosk models loaded once and shared, with a warmed recogniser pool per model."""

    provider = "vosk"
    streaming = True

    def __init__(
        self,
        model_path: Path | str,
        *,
        pool_size: int = VOSK_POOL_SIZE,
        warmup: bytes | None = None,
        decode_threads: int = VOSK_DECODE_THREADS,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        path = Path(model_path)
        if not is_model_dir(path):
            raise SttModelMissing(f"no vosk model at {path}: {INSTALL_HINT}")
        self.model_path = path
        self.model = path.name if path.name != "model" else path.parent.name
        self.sample_rate = sample_rate
        self.pool_size = pool_size
        self.warmup = warmup  # speech in the model's language warms best; synthetic audio otherwise
        self._pool: RecognizerPool | None = None
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=decode_threads, thread_name_prefix="vosk")
        self.load_s: float | None = None

    @classmethod
    def from_data_dir(cls, data_dir: Path, name: str, **kwargs: Any) -> VoskEngine:
        """The model called ``name`` under ``data_dir/models/vosk/``."""
        models = find_models(data_dir)
        if name not in models:
            have = ", ".join(models) or "none"
            raise SttModelMissing(f"no vosk model {name!r} (installed: {have}): {INSTALL_HINT}")
        return cls(models[name], **kwargs)

    def load(self) -> RecognizerPool:
        """Loads the model and warms the pool (blocking, once; run it off the event loop)."""
        with self._lock:
            if self._pool is None:
                vosk = _import_vosk()
                started = time.perf_counter()
                model = vosk.Model(model_path=str(self.model_path))
                pool = RecognizerPool(model, self.sample_rate)
                pool.warm(self.pool_size, self.warmup)
                self.load_s = time.perf_counter() - started
                self._pool = pool
            return self._pool

    @property
    def pool(self) -> RecognizerPool:
        return self.load()

    async def start(self) -> None:
        """Loads and warms on a worker thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self.load)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the engine's decoding thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def open_stream(self, language: str | None = None) -> VoskStream:
        return VoskStream(self)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _confidence(result: dict[str, Any]) -> float | None:
    words = result.get("result") or []
    return float(np.mean([w.get("conf", 0.0) for w in words])) if words else None


class VoskStream(RecognitionStream):
    """One call leg's recognition on a pooled recogniser; every decode runs on a worker thread."""

    def __init__(self, engine: VoskEngine) -> None:
        self.engine = engine
        self._recognizer: KaldiRecognizer | None = None
        self._done_text: list[str] = []  # pieces vosk's own endpointer finalised inside this turn
        self._confidences: list[float] = []
        self._partial = ""
        self._lock = asyncio.Lock()  # one decode at a time, in order
        self.decode_s = 0.0  # worker-thread seconds spent decoding, for the CPU figures
        self.audio_s = 0.0

    def _recognizer_now(self) -> KaldiRecognizer:
        if self._recognizer is None:
            self._recognizer = self.engine.pool.acquire()
        return self._recognizer

    def _accept_blocking(self, pcm: bytes) -> tuple[bool, str]:
        recognizer = self._recognizer_now()
        started = time.perf_counter()
        if recognizer.AcceptWaveform(pcm):
            out = json.loads(recognizer.Result())
            ended = True
            text = out.get("text", "")
            if (conf := _confidence(out)) is not None:
                self._confidences.append(conf)
        else:
            ended = False
            text = json.loads(recognizer.PartialResult()).get("partial", "")
        self.decode_s += time.perf_counter() - started
        self.audio_s += len(pcm) / 2 / self.engine.sample_rate
        return ended, text

    async def accept(self, pcm: bytes) -> TranscriptPartial | None:
        async with self._lock:
            ended, text = await self.engine.run(self._accept_blocking, pcm)
        if ended:
            if text:
                self._done_text.append(text)
            self._partial = ""
        elif text == self._partial:
            return None
        else:
            self._partial = text
        hypothesis = " ".join([*self._done_text, self._partial]).strip()
        return TranscriptPartial(hypothesis, provider=self.engine.provider) if hypothesis else None

    async def peek(self) -> TranscriptFinal:
        text = " ".join([*self._done_text, self._partial]).strip()
        return TranscriptFinal(text, provider=self.engine.provider, model=self.engine.model)

    def _final_blocking(self) -> dict[str, Any]:
        started = time.perf_counter()
        out: dict[str, Any] = json.loads(self._recognizer_now().FinalResult())
        self.decode_s += time.perf_counter() - started
        return out

    async def finish(self, *, reuse_peek: bool = False) -> TranscriptFinal:
        async with self._lock:
            out = await self.engine.run(self._final_blocking)
        if (conf := _confidence(out)) is not None:
            self._confidences.append(conf)
        text = " ".join([*self._done_text, out.get("text", "")]).strip()
        confidence = float(np.mean(self._confidences)) if self._confidences else None
        self._done_text, self._confidences, self._partial = [], [], ""
        return TranscriptFinal(
            text, provider=self.engine.provider, model=self.engine.model, confidence=confidence
        )

    async def close(self) -> None:
        async with self._lock:
            recognizer, self._recognizer = self._recognizer, None
            if recognizer is not None:
                await self.engine.run(self.engine.pool.release, recognizer)
