"""A streaming polyphase resampler for 16-bit mono PCM between any two rates (espeak-ng's 22,050 Hz
to 16 kHz, whole prompts, the general case of a leg's :class:`~engine.media.resampler.Resampler`).

A Kaiser-windowed sinc low-pass at the lower Nyquist rate, split into ``up`` phases; each call
to :meth:`PolyphaseResampler.push` returns every output sample its input makes available and keeps the
filter's history, so chunk boundaries leave no clicks.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
import numpy.typing as npt

TAPS_PER_PHASE = 48  # ~1.7 kHz transition band at 22,050 Hz in, stop band ~60 dB (Kaiser beta 6)
KAISER_BETA = 6.0
CUTOFF_FRACTION = 0.9  # pass band edge as a fraction of the lower Nyquist frequency


@lru_cache(maxsize=8)
def _prototype(up: int, down: int, taps_per_phase: int) -> npt.NDArray[np.float64]:
    """The low-pass prototype as a (up, taps_per_phase) polyphase matrix, gain ``up``."""
    length = up * taps_per_phase
    cutoff = CUTOFF_FRACTION * 0.5 / max(up, down)  # cycles per upsampled sample
    n = np.arange(length) - (length - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(length, KAISER_BETA) * up
    phases: npt.NDArray[np.float64] = h.reshape(taps_per_phase, up).T.copy()  # [phase, j] = h[phase + j * up]
    phases.flags.writeable = False
    return phases


class PolyphaseResampler:
    """Resamples a stream of int16 PCM from ``rate_in`` to ``rate_out``."""

    def __init__(self, rate_in: int, rate_out: int, taps_per_phase: int = TAPS_PER_PHASE) -> None:
        g = gcd(rate_in, rate_out)
        self.rate_in, self.rate_out = rate_in, rate_out
        self.up, self.down = rate_out // g, rate_in // g
        self._taps = taps_per_phase
        self._phases = _prototype(self.up, self.down, taps_per_phase)
        self._history = np.zeros(taps_per_phase - 1, dtype=np.float64)
        self._base = -(taps_per_phase - 1)  # absolute input index of _history[0]
        self._next_out = 0  # absolute index of the next output sample

    def push_samples(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Resamples the next int16 samples; returns what is available now."""
        if self.up == self.down:
            return samples.astype(np.int16, copy=True)
        buf = np.concatenate([self._history, samples.astype(np.float64)])
        last = self._base + len(buf) - 1  # absolute index of the newest input sample
        k_end = ((last + 1) * self.up - 1) // self.down + 1  # outputs whose input index <= last
        out = np.empty(0, dtype=np.int16)
        if k_end > self._next_out:
            k = np.arange(self._next_out, k_end, dtype=np.int64)
            n = k * self.down
            idx = n // self.up - self._base
            phase = n % self.up
            windows = buf[idx[:, None] - np.arange(self._taps)[None, :]]
            y = np.einsum("ij,ij->i", windows, self._phases[phase])
            out = np.clip(np.rint(y), -32768, 32767).astype(np.int16)
            self._next_out = int(k_end)
        keep = self._taps - 1
        self._history = buf[-keep:]
        self._base = last - keep + 1
        return out

    def push(self, pcm: bytes) -> bytes:
        """Resamples the next PCM bytes (16-bit little-endian mono)."""
        return self.push_samples(np.frombuffer(pcm, dtype="<i2")).astype("<i2").tobytes()

    def flush(self) -> bytes:
        """Drains the filter's tail (half a filter of silence pushed through)."""
        return self.push(bytes(2 * (self._taps // 2)))


def resample(pcm: bytes, rate_in: int, rate_out: int) -> bytes:
    """Resamples a whole clip of 16-bit mono PCM: the filter's delay removed, so the output is
    aligned with the input and exactly as long as the input's duration at the new rate."""
    if rate_in == rate_out or not pcm:
        return pcm
    r = PolyphaseResampler(rate_in, rate_out)
    out = r.push(pcm) + r.flush()
    delay = round((r.up * r._taps - 1) / 2 / r.down)  # group delay in output samples
    count = round(len(pcm) // 2 * r.up / r.down)
    return out[2 * delay:2 * (delay + count)]
