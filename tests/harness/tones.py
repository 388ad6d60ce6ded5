"""Tone sources and an FFT tone meter for the media and WebRTC tests: a sine as a 16 kHz source,
a capture as a sink, and whether a tone is heard in what was captured."""

from __future__ import annotations

import numpy as np

from engine.media.frame import FRAME_SAMPLES, SAMPLE_RATE

TONE_AMPLITUDE = 6000


class Sine:
    """A continuous sine, one 20 ms frame per call (a mixer source or a peer's source)."""

    def __init__(self, freq: float, amplitude: int = TONE_AMPLITUDE) -> None:
        self.freq = freq
        self.amplitude = amplitude
        self._n = 0

    def __call__(self) -> bytes:
        t = (np.arange(FRAME_SAMPLES) + self._n) / SAMPLE_RATE
        self._n += FRAME_SAMPLES
        return (self.amplitude * np.sin(2 * np.pi * self.freq * t)).astype("<i2").tobytes()


class Capture:
    """Frames received (a sink), with a mark to measure only what came after it."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self._mark = 0

    def __call__(self, pcm: bytes) -> None:
        self.frames.append(pcm)

    def mark(self) -> None:
        self._mark = len(self.frames)

    def since_mark(self) -> bytes:
        return b"".join(self.frames[self._mark:])


def tone_level(pcm: bytes, freq: float) -> float:
    """The amplitude of the sinusoid at ``freq`` in 16 kHz PCM (Hann-windowed FFT peak)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if len(x) < SAMPLE_RATE // 10:
        return 0.0
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    band = (freqs > freq - 8) & (freqs < freq + 8)
    return float(spectrum[band].max())


def heard(pcm: bytes, freq: float) -> bool:
    return tone_level(pcm, freq) > TONE_AMPLITUDE / 4


def silent_at(pcm: bytes, freq: float) -> bool:
    return tone_level(pcm, freq) < TONE_AMPLITUDE / 30
