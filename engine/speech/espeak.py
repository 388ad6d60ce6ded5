"""libespeak-ng through ctypes: the voice catalogue and synchronous synthesis with the synth callback.

libespeak-ng keeps one synthesizer per process, so every call goes through :class:`Espeak`, which
owns a single worker thread: synthesis never runs on an event loop, and concurrent utterances
queue behind each other (synthesis runs ~1300x real time, measured, so the queue stays short).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

LIBRARY_NAMES = ("espeak-ng", "libespeak-ng.so.1")
INSTALL_HINT = "install the Debian packages espeak-ng and libespeak-ng1 (apt-get install espeak-ng)"

AUDIO_OUTPUT_SYNCHRONOUS = 2
CALLBACK_BUFFER_MS = 20  # the synth callback's buffer: one media frame, for the earliest first chunk
POS_CHARACTER = 1
CHARS_UTF8 = 1
EE_OK = 0
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH = 1, 2, 3
DEFAULT_VOICE = "en-us"
DEFAULT_RATE = 175  # words per minute, espeak-ng's own default
DEFAULT_PITCH = 50  # 0-100, espeak-ng's own default
GENDERS = {0: None, 1: "male", 2: "female"}

SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """libespeak-ng is missing or refused a request."""


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True, slots=True)
class Voice:
    """One voice of the catalogue: ``id`` is espeak-ng's identifier (e.g. ``gmw/en-us``)."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How an agent speaks: a voice (id, name or language), rate in words/minute, pitch 0-100."""

    voice: str = DEFAULT_VOICE
    rate: int = DEFAULT_RATE
    pitch: int = DEFAULT_PITCH


def _parse_languages(address: int | None) -> tuple[str, ...]:
    """espeak_VOICE.languages: (priority byte, NUL-terminated name) pairs, ended by a zero byte."""
    if not address:
        return ()
    out: list[str] = []
    offset = 0
    while True:
        priority = ctypes.string_at(address + offset, 1)
        if priority == b"\x00":
            break
        name = ctypes.string_at(address + offset + 1)
        out.append(name.decode("utf-8", "replace"))
        offset += 2 + len(name)
    return tuple(out)


def _load_library() -> ctypes.CDLL:
    path = ctypes.util.find_library("espeak-ng")
    for candidate in ([path] if path else []) + list(LIBRARY_NAMES[1:]):
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    raise EspeakError(f"libespeak-ng is not installed: {INSTALL_HINT}")


class Espeak:
    """The process's libespeak-ng: one worker thread, synchronous mode, a synth callback."""

    _instance: Espeak | None = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> Espeak:
        """The process-wide instance (created, and the library loaded, on first use)."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._lib: ctypes.CDLL | None = None
        self._callback = SynthCallback(self._on_audio)  # kept alive as long as the library uses it
        self._sink: Callable[[bytes], bool] | None = None
        self.sample_rate = 0
        self._voices: list[Voice] | None = None
        self._current: VoiceSettings | None = None
        self.submit(lambda: None).result()  # load and initialise on the worker thread

    # -- worker-thread side ------------------------------------------------------------------

    def _ensure(self) -> ctypes.CDLL:
        if self._lib is None:
            lib = _load_library()
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetSynthCallback.argtypes = [SynthCallback]
            lib.espeak_SetSynthCallback.restype = None
            lib.espeak_Synth.restype = ctypes.c_int
            lib.espeak_Synth.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]
            lib.espeak_SetVoiceByName.restype = ctypes.c_int
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.restype = ctypes.c_int
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
            lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
            rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, CALLBACK_BUFFER_MS, None, 0)
            if rate <= 0:
                raise EspeakError(f"espeak_Initialize failed ({rate}): {INSTALL_HINT}")
            lib.espeak_SetSynthCallback(self._callback)
            self._lib, self.sample_rate = lib, rate
        return self._lib

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count <= 0 or not wav or self._sink is None:
            return 0
        pcm = ctypes.string_at(wav, count * 2)
        return 0 if self._sink(pcm) else 1  # 1 aborts the synthesis

    def _list_voices(self) -> list[Voice]:
        if self._voices is None:
            lib = self._ensure()
            table = lib.espeak_ListVoices(None)
            voices: list[Voice] = []
            i = 0
            while table[i]:
                v = table[i].contents
                voices.append(
                    Voice(
                        id=(v.identifier or b"").decode("utf-8", "replace").lower(),
                        name=(v.name or b"").decode("utf-8", "replace"),
                        languages=_parse_languages(v.languages),
                        gender=GENDERS.get(v.gender),
                    )
                )
                i += 1
            self._voices = voices
        return self._voices

    def _resolve(self, wanted: str) -> str:
        """A voice id, name or language code (``+variant`` kept) as the name espeak-ng accepts."""
        base, plus, variant = wanted.partition("+")
        key = base.strip().lower()
        for v in self._list_voices():
            if key in (v.id, v.name.lower()) or key in (lang.lower() for lang in v.languages):
                return v.id + plus + variant
        raise EspeakError(f"espeak-ng has no voice {wanted!r} (see the voice catalogue, /v1/voices)")

    def _apply(self, settings: VoiceSettings) -> None:
        if settings == self._current:
            return
        lib = self._ensure()
        name = self._resolve(settings.voice)
        if lib.espeak_SetVoiceByName(name.encode()) != EE_OK:
            raise EspeakError(f"espeak-ng could not select voice {settings.voice!r}")
        lib.espeak_SetParameter(PARAM_RATE, int(settings.rate), 0)
        lib.espeak_SetParameter(PARAM_PITCH, int(settings.pitch), 0)
        self._current = settings

    def _synth(self, text: str, settings: VoiceSettings, sink: Callable[[bytes], bool]) -> float | None:
        """Synthesises ``text``, handing each chunk (22,050 Hz PCM) to ``sink`` as it exists.

        ``sink`` returns False to abort. Returns seconds from the request to the first chunk.
        """
        lib = self._ensure()
        self._apply(settings)
        started = time.perf_counter()
        first: list[float] = []

        def timed(pcm: bytes) -> bool:
            if not first:
                first.append(time.perf_counter() - started)
            return sink(pcm)

        self._sink = timed
        try:
            data = text.encode("utf-8") + b"\x00"
            result = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        finally:
            self._sink = None
        if result != EE_OK:
            raise EspeakError(f"espeak_Synth failed ({result})")
        return first[0] if first else None

    # -- any-thread side ---------------------------------------------------------------------

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Runs ``fn`` on the espeak worker thread (after loading the library there)."""

        def run() -> T:
            self._ensure()
            return fn()

        return self._executor.submit(run)

    def voices(self) -> list[Voice]:
        """The voice catalogue (blocking; cached after the first call)."""
        return self.submit(self._list_voices).result()

    def synth(
        self, text: str, settings: VoiceSettings, sink: Callable[[bytes], bool]
    ) -> Future[float | None]:
        """Queues a synthesis on the worker thread; the future holds the first-chunk latency."""
        return self.submit(lambda: self._synth(text, settings, sink))
