"""Generated audio sources: tones (with on/off cadence) and music on hold, at the mixer's rate.

Each is a pull source for the mixer: ``next_frame()`` returns the next 20 ms, phase-continuous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.media.frame import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, to_pcm

TONE_LEVEL = 0.25  # of full scale: about -12 dBFS, loud enough to measure, not to clip a mix


@dataclass
class Tone:
    """A sum of sine tones, optionally cadenced (e.g. ringback 425 Hz, 1 s on, 4 s off)."""

    freqs: tuple[float, ...] = (440.0,)
    level: float = TONE_LEVEL
    on_ms: int = 0  # 0: continuous
    off_ms: int = 0
    rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        self._sample = 0
        self._ms = 0

    def next_frame(self) -> bytes:
        n = self.rate * FRAME_MS // 1000
        t = (self._sample + np.arange(n)) / self.rate
        self._sample += n
        cycle = self.on_ms + self.off_ms
        audible = not cycle or (self._ms % cycle) < self.on_ms
        self._ms += FRAME_MS
        if not audible:
            return bytes(2 * n)
        wave = sum(np.sin(2 * np.pi * f * t) for f in self.freqs) / max(1, len(self.freqs))
        return to_pcm(wave * self.level * 32767)


# A short loop in A minor: (MIDI note, beats); two voices an octave apart, soft envelope.
MELODY = ((69, 1), (72, 1), (76, 1), (72, 1), (74, 1), (77, 1), (81, 2),
          (79, 1), (76, 1), (72, 1), (74, 1), (71, 2), (69, 2))
BEAT_MS = 300


class HoldMusic:
    """Locally generated music on hold: a looping melody with a gentle attack/decay."""

    def __init__(self, level: float = 0.2, rate: int = SAMPLE_RATE) -> None:
        self.level = level
        self.rate = rate
        self._loop = self._render()
        self._pos = 0

    def _render(self) -> np.ndarray:
        parts = []
        for note, beats in MELODY:
            n = self.rate * BEAT_MS * beats // 1000
            t = np.arange(n) / self.rate
            f = 440.0 * 2 ** ((note - 69) / 12)
            env = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t / (BEAT_MS * beats / 1000))
            wave = 0.7 * np.sin(2 * np.pi * f * t) + 0.3 * np.sin(np.pi * f * t)
            parts.append(wave * env)
        loop = np.concatenate(parts) * self.level * 32767
        pad = (-len(loop)) % FRAME_SAMPLES
        return np.concatenate((loop, np.zeros(pad)))

    def next_frame(self) -> bytes:
        n = self.rate * FRAME_MS // 1000
        if self._pos + n > len(self._loop):
            self._pos = 0
        chunk = self._loop[self._pos:self._pos + n]
        self._pos += n
        return to_pcm(chunk)
