"""Sample-rate conversion at a leg's boundary (8, 16, 48 kHz and other integer ratios).

A stateful polyphase-equivalent FIR: zero-stuff by L, low-pass, keep every M-th sample. The
filter history carries across calls, so a stream cut into 20 ms frames converts seamlessly.
"""

from __future__ import annotations

from math import gcd

import numpy as np
import numpy.typing as npt

from engine.media.frame import to_pcm

TAPS_PER_PHASE = 16  # 16 taps per phase: ≥ 40 dB stop band with a Hamming window


def lowpass(cutoff: float, taps: int) -> npt.NDArray[np.float64]:
    """A Hamming-windowed sinc; ``cutoff`` in cycles per sample (0 … 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return h / h.sum()


class Resampler:
    """Converts 16-bit mono PCM from ``src`` Hz to ``dst`` Hz, one chunk at a time."""

    def __init__(self, src: int, dst: int) -> None:
        self.src, self.dst = src, dst
        g = gcd(src, dst)
        self.up, self.down = dst // g, src // g
        factor = max(self.up, self.down)
        taps = TAPS_PER_PHASE * factor | 1
        self._h = lowpass(0.45 / factor, taps) * self.up
        self._history = np.zeros(taps - 1)
        self._phase = 0  # index of the next output sample within the upsampled stream

    @property
    def passthrough(self) -> bool:
        return self.src == self.dst

    def process(self, pcm: bytes) -> bytes:
        if self.passthrough or not pcm:
            return pcm
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        stuffed = np.zeros(len(x) * self.up)
        stuffed[::self.up] = x
        buf = np.concatenate((self._history, stuffed))
        filtered = np.convolve(buf, self._h, mode="valid")
        self._history = buf[len(buf) - len(self._h) + 1:]
        out = filtered[self._phase::self.down]
        self._phase = (self._phase - len(filtered)) % self.down
        return to_pcm(out)

    @property
    def delay_samples(self) -> float:
        """Group delay, in output samples."""
        return (len(self._h) - 1) / 2 / self.down


def resample_once(pcm: bytes, src: int, dst: int) -> bytes:
    """Convert a whole clip between any two rates (e.g. a 22.05 kHz prompt to 16 kHz): low-pass
    below the lower Nyquist, then linear interpolation. For prompts, off the media loop."""
    if src == dst or not pcm:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if dst < src:
        x = np.convolve(x, lowpass(0.45 * dst / src, 63), mode="same")
    count = int(len(x) * dst / src)
    t = np.arange(count) * (src / dst)
    return to_pcm(np.interp(t, np.arange(len(x)), x))
