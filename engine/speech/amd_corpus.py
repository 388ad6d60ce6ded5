"""A labelled set for answering-machine detection, generated with espeak-ng: people answering
the phone ("Hello?", "Hi, this is Sam speaking.") and voicemail systems greeting (personal boxes
and carrier prompts, with and without a beep), in several voices, rates and pitches, as 8 kHz
telephone audio (through G.711 mu-law and back, over a faint noise floor).

The set is the same on every run for a seed: the choices come from ``random.Random(seed)`` and
the noise from ``numpy.random.default_rng(seed)``; espeak-ng itself is deterministic.

    for sample in amd_corpus(seed=7):
        detector = AnsweringMachineDetector(CORPUS_RATE)
        for frame in sample.frames(): ...
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from engine.media.polyphase import resample
from engine.speech.audio import SAMPLE_RATE
from engine.speech.espeak import VoiceSettings
from engine.speech.tts import EspeakTTS

Label = Literal["human", "machine"]

CORPUS_RATE = 8000  # G.711's rate
FRAME_MS = 20
# A person's greeting: short, then they wait for the caller
HUMAN_GREETINGS = (
    "Hello?",
    "Yes?",
    "Hi, this is Sam speaking.",
    "Hello, who is this?",
    "Good afternoon, this is Maria.",
    "Hello, Jordan speaking.",
    "Hi there.",
    "Yeah, hello?",
)
# Voicemail systems: personal greetings and carrier prompts
MACHINE_GREETINGS = (
    "Hi, you've reached the voicemail of Chris Taylor. Please leave a message after the tone.",
    "Hello, you have reached Dana at Northwind. I can't take your call right now. Leave your "
    "name and number and I'll call you back.",
    "The person you are calling is not available. Please leave a message after the tone.",
    "The wireless customer you are calling is not available. At the tone, please record your "
    "message.",
    "Hey, it's Pat. I'm away from my phone, leave me a message and I'll get back to you soon.",
    "Thank you for calling. Nobody is available to take your call. Please leave a message "
    "after the beep.",
)
# (voice, words per minute, pitch): espeak-ng's US and British voices, variants, three rates
VOICES = (
    ("en-us", 140, 50),
    ("en-gb", 175, 50),
    ("en-us+f3", 190, 60),
    ("en-us+m3", 160, 40),
    ("en-gb-x-rp", 150, 55),
    ("en-us+f2", 170, 70),
)
# Beeps of answering machines and carriers: 440-1400 Hz, 0.3-1 s, after a 0.2-0.6 s pause
BEEP_HZ = (440.0, 850.0, 1000.0, 1400.0)
BEEP_S = (0.3, 0.5, 1.0)
BEEP_LEAD_S = (0.2, 0.6)
BEEP_AMPLITUDE = 0.3  # -10 dBFS, as loud as speech peaks
ANSWER_LEAD_S = (0.1, 0.6)  # the line's silence between the answer and the greeting
SAMPLE_S = 8.0  # each sample's length at least: the greeting, the beep, then the line's silence
TAIL_S = 2.5  # the line's silence after a longer greeting (or its beep)
NOISE_RMS = 30.0  # a faint line noise (16-bit scale, ≈ -60 dBFS): G.711's idle channel is quieter
MU = 255.0  # G.711 mu-law


@dataclass(frozen=True)
class AmdSample:
    """One answer: what picked up, what it said, and the audio (8 kHz 16-bit PCM)."""

    label: Label
    text: str
    voice: str
    rate_wpm: int
    beep_hz: float | None  # a machine's beep (None: none)
    pcm: bytes
    greeting_end_ms: int  # when the greeting (or the beep) ends

    @property
    def name(self) -> str:
        beep = f", beep {self.beep_hz:.0f} Hz" if self.beep_hz else ""
        return f"{self.label}: {self.text[:40]!r} ({self.voice} {self.rate_wpm} wpm{beep})"

    def frames(self, frame_ms: int = FRAME_MS) -> Iterator[bytes]:
        size = CORPUS_RATE * frame_ms // 1000 * 2
        for start in range(0, len(self.pcm) - size + 1, size):
            yield self.pcm[start:start + size]


def mu_law(samples: np.ndarray) -> np.ndarray:
    """Samples (-1..1) through 8-bit mu-law companding and back, as G.711 does."""
    clipped = np.clip(samples, -1.0, 1.0)
    code = np.sign(clipped) * np.log1p(MU * np.abs(clipped)) / math.log1p(MU)
    quantized = np.round(code * 127.0) / 127.0
    out: np.ndarray = np.sign(quantized) * np.expm1(np.abs(quantized) * math.log1p(MU)) / MU
    return out


@lru_cache(maxsize=256)
def speech(text: str, voice: str, rate_wpm: int, pitch: int) -> bytes:
    """espeak-ng's rendering of ``text`` at 8 kHz (blocking)."""
    pcm = EspeakTTS(VoiceSettings(voice=voice, rate=rate_wpm, pitch=pitch)).render(text)
    return resample(pcm, SAMPLE_RATE, CORPUS_RATE)


def tone(hz: float, seconds: float, rate: int = CORPUS_RATE,
         amplitude: float = BEEP_AMPLITUDE) -> np.ndarray:
    """A sine of ``hz`` (-1..1 scale)."""
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t)


def telephone(parts: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """The parts (-1..1) joined, padded to SAMPLE_S, with line noise, through mu-law, as PCM."""
    audio = np.concatenate(parts)
    total = max(int(SAMPLE_S * CORPUS_RATE), len(audio) + int(TAIL_S * CORPUS_RATE))
    if len(audio) < total:
        audio = np.concatenate([audio, np.zeros(total - len(audio))])
    audio = audio + rng.normal(0.0, NOISE_RMS / 32768.0, len(audio))
    return (mu_law(audio) * 32767.0).astype("<i2").tobytes()


def _sample(label: Label, text: str, voice: tuple[str, int, int], beep: bool,
            choose: random.Random, rng: np.random.Generator) -> AmdSample:
    name, rate, pitch = voice
    said = np.frombuffer(speech(text, name, rate, pitch), dtype="<i2").astype(np.float64) / 32768.0
    lead = np.zeros(int(choose.uniform(*ANSWER_LEAD_S) * CORPUS_RATE))
    parts = [lead, said]
    beep_hz: float | None = None
    if beep:
        beep_hz = choose.choice(BEEP_HZ)
        parts += [np.zeros(int(choose.uniform(*BEEP_LEAD_S) * CORPUS_RATE)),
                  tone(beep_hz, choose.choice(BEEP_S))]
    end_ms = round(1000 * sum(len(p) for p in parts) / CORPUS_RATE)
    return AmdSample(label, text, name, rate, beep_hz, telephone(parts, rng), end_ms)


def amd_corpus(seed: int = 0, *, voices_per_greeting: int = 3) -> list[AmdSample]:
    """The labelled set: each human greeting and each machine greeting (once with a beep, once
    without) in ``voices_per_greeting`` voices picked by ``seed``."""
    if not 1 <= voices_per_greeting <= len(VOICES):
        raise ValueError(f"voices_per_greeting: expected 1-{len(VOICES)}, got "
                         f"{voices_per_greeting}")
    choose = random.Random(seed)
    rng = np.random.default_rng(seed)
    samples: list[AmdSample] = []
    for text in HUMAN_GREETINGS:
        for voice in choose.sample(VOICES, voices_per_greeting):
            samples.append(_sample("human", text, voice, False, choose, rng))
    for text in MACHINE_GREETINGS:
        for voice in choose.sample(VOICES, voices_per_greeting):
            for beep in (True, False):
                samples.append(_sample("machine", text, voice, beep, choose, rng))
    return samples


__all__ = ["BEEP_HZ", "CORPUS_RATE", "HUMAN_GREETINGS", "MACHINE_GREETINGS", "VOICES",
           "AmdSample", "Label", "amd_corpus", "mu_law", "speech", "tone"]
