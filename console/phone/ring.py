"""A byte ring buffer of 16-bit mono PCM between the Qt audio devices and the media loop.

One side writes (the microphone on the GUI thread, the received audio on the media loop), the
other reads (the outgoing track, the speaker's writer). A lock guards a ``bytearray``: both sides
only copy bytes under it. A full buffer drops its oldest bytes (the delay stays bounded); a read
past what is there is padded with silence by :meth:`RingBuffer.read_exact`.
"""

from __future__ import annotations

import threading

import numpy as np

SAMPLE_RATE = 48_000  # Opus's own rate: the devices and the leg share it, nothing resamples twice
SAMPLE_BYTES = 2  # signed 16-bit mono samples
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES
FULL_SCALE = 32768.0
LEVEL_SAMPLES = SAMPLE_RATE // 10  # the level meter's window: 100 ms


def rms(pcm: bytes | bytearray | memoryview) -> float:
    """The RMS level of 16-bit PCM, 0..1 (full scale)."""
    usable = len(pcm) - len(pcm) % SAMPLE_BYTES
    if usable <= 0:
        return 0.0
    samples = np.frombuffer(pcm, dtype="<i2", count=usable // SAMPLE_BYTES).astype(np.float32)
    return min(1.0, float(np.sqrt(np.mean(samples * samples))) / FULL_SCALE)


class RingBuffer:
    """Thread-safe bounded FIFO of PCM bytes; the oldest bytes go when it is full."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0 or capacity % SAMPLE_BYTES:
            raise ValueError("capacity must be a positive whole number of samples")
        self.capacity = capacity
        self._data = bytearray()
        self._lock = threading.Lock()
        self._recent = bytearray()  # the last LEVEL_SAMPLES written, for the meter
        self.bytes_written = 0
        self.bytes_dropped = 0
        self.underflows = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Appends ``data``; returns how many old bytes were dropped to make room."""
        chunk = bytes(data)
        with self._lock:
            self._data += chunk
            dropped = max(0, len(self._data) - self.capacity)
            if dropped:
                dropped += dropped % SAMPLE_BYTES  # never split a sample
                del self._data[:dropped]
            self.bytes_written += len(chunk)
            self.bytes_dropped += dropped
            self._recent += chunk[-LEVEL_SAMPLES * SAMPLE_BYTES:]
            excess = len(self._recent) - LEVEL_SAMPLES * SAMPLE_BYTES
            if excess > 0:
                del self._recent[:excess]
        return dropped

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (whole samples), oldest first; fewer when fewer are buffered."""
        size -= size % SAMPLE_BYTES
        with self._lock:
            out = bytes(self._data[:size])
            del self._data[:len(out)]
        return out

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes: what is buffered, then silence (an underflow, counted)."""
        out = self.read(size)
        if len(out) < size:
            self.underflows += 1
            out += bytes(size - len(out))
        return out

    def read_frame(self, size: int) -> bytes | None:
        """One whole frame of ``size`` bytes, or None (nothing taken) when less is buffered."""
        with self._lock:
            if len(self._data) < size:
                return None
            out = bytes(self._data[:size])
            del self._data[:size]
        return out

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._recent.clear()

    def level(self) -> float:
        """RMS (0..1) of the last 100 ms written."""
        with self._lock:
            recent = bytes(self._recent)
        return rms(recent)

    def reset_level(self) -> None:
        with self._lock:
            self._recent.clear()
