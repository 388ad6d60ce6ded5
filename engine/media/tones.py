"""Generated audio sources: tones (with on/off cadence) and music on hold, at the mixer's rate.

Each is a pull source for the mixer: ``next_frame()`` returns the next 20 ms, phase-continuous.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from engine.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, to_pcm

TONE_LEVEL = 0.25  # of full scale: about -12 dBFS, loud enough to measure, not to clip a mix


LOOP_LIMIT_FRAMES = 500  # a tone whose waveform repeats within 10 s is rendered once and replayed


@dataclass
class Tone:
    """A sum of sine tones, optionally cadenced (e.g. ringback 425 Hz, 1 s on, 4 s off).

    The frames of one period (the cadence, or the frames after which every sine is back in
    phase) are rendered once per distinct tone and shared by every call playing it.
    """

    freqs: tuple[float, ...] = (440.0,)
    level: float = TONE_LEVEL
    on_ms: int = 0  # 0: continuous
    off_ms: int = 0
    rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        self._sample = 0
        self._index = 0
        self._loop = _tone_loop(self.freqs, self.level, self.on_ms, self.off_ms, self.rate)

    def next_frame(self) -> bytes:
        loop = self._loop
        if loop is not None:
            frame = loop[self._index]
            self._index = (self._index + 1) % len(loop)
            return frame
        return self._render()

    def _render(self) -> bytes:
        frame = _render(self.freqs, self.level, self.on_ms, self.off_ms, self.rate, self._sample)
        self._sample += self.rate * FRAME_MS // 1000
        return frame


def _render(freqs: tuple[float, ...], level: float, on_ms: int, off_ms: int, rate: int,
            sample: int) -> bytes:
    """The frame of a tone that starts at ``sample``."""
    n = rate * FRAME_MS // 1000
    cycle = on_ms + off_ms
    ms = sample * 1000 // rate
    if cycle and (ms % cycle) >= on_ms:
        return bytes(2 * n)
    t = (sample + np.arange(n)) / rate
    wave = np.zeros(n)
    for f in freqs:
        wave += np.sin(2 * np.pi * f * t)
    return to_pcm(wave / max(1, len(freqs)) * level * 32767)


@functools.lru_cache(maxsize=64)
def _tone_loop(freqs: tuple[float, ...], level: float, on_ms: int, off_ms: int,
               rate: int) -> tuple[bytes, ...] | None:
    """The frames of one period of a tone, or None when it does not repeat soon enough."""
    n = rate * FRAME_MS // 1000
    if on_ms or off_ms:
        # a cadenced tone restarts after its silence, so one cadence cycle is its period
        count = (on_ms + off_ms) // FRAME_MS
        if (on_ms + off_ms) % FRAME_MS or not 0 < count <= LOOP_LIMIT_FRAMES or not off_ms:
            return None
    else:
        count = next((k for k in range(1, LOOP_LIMIT_FRAMES + 1)
                      if all(abs(k * n * f / rate - round(k * n * f / rate)) < 1e-9
                             for f in freqs)), 0)
        if not count:
            return None
    return tuple(_render(freqs, level, on_ms, off_ms, rate, i * n) for i in range(count))


# A short loop in A minor: (MIDI note, beats); two voices an octave apart, soft envelope.
MELODY = ((69, 1), (72, 1), (76, 1), (72, 1), (74, 1), (77, 1), (81, 2),
          (79, 1), (76, 1), (72, 1), (74, 1), (71, 2), (69, 2))
BEAT_MS = 300


class HoldMusic:
    """Locally generated music on hold: a looping melody with a gentle attack/decay."""

    def __init__(self, level: float = 0.2, rate: int = SAMPLE_RATE) -> None:
        self.level = level
        self.rate = rate
        self._pcm = _music_loop(level, rate)
        self._pos = 0

    @staticmethod
    def render(level: float, rate: int) -> np.ndarray:
        parts = []
        for note, beats in MELODY:
            n = rate * BEAT_MS * beats // 1000
            t = np.arange(n) / rate
            f = 440.0 * 2 ** ((note - 69) / 12)
            env = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t / (BEAT_MS * beats / 1000))
            wave = 0.7 * np.sin(2 * np.pi * f * t) + 0.3 * np.sin(np.pi * f * t)
            parts.append(wave * env)
        loop = np.concatenate(parts) * level * 32767
        pad = (-len(loop)) % FRAME_SAMPLES
        return np.concatenate((loop, np.zeros(pad)))

    def next_frame(self) -> bytes:
        size = 2 * self.rate * FRAME_MS // 1000
        if self._pos + size > len(self._pcm):
            self._pos = 0
        chunk = self._pcm[self._pos:self._pos + size]
        self._pos += size
        return chunk


@functools.lru_cache(maxsize=8)
def _music_loop(level: float, rate: int) -> bytes:
    return to_pcm(HoldMusic.render(level, rate))
