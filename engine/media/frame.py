"""The media frame: 20 ms of 16-bit signed little-endian mono PCM at 16 kHz (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000  # the mixer's rate; legs resample at their boundary
FRAME_MS = 20  # one media clock tick
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
SAMPLE_WIDTH = 2
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH  # 640
SILENCE = bytes(FRAME_BYTES)

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Frame:
    """One tick of audio. ``pcm`` is exactly :data:`FRAME_BYTES` long."""

    pcm: bytes

    def __post_init__(self) -> None:
        if len(self.pcm) != FRAME_BYTES:
            raise ValueError(f"a frame is {FRAME_BYTES} bytes, got {len(self.pcm)}")

    @classmethod
    def silence(cls) -> Frame:
        return cls(SILENCE)

    @classmethod
    def from_samples(cls, samples: npt.NDArray[np.integer] | npt.NDArray[np.floating]) -> Frame:
        return cls(to_pcm(samples))

    @property
    def samples(self) -> Samples:
        return np.frombuffer(self.pcm, dtype="<i2")


def to_pcm(samples: npt.NDArray[np.integer] | npt.NDArray[np.floating]) -> bytes:
    """Clip to 16 bits and serialise little-endian."""
    clipped: npt.NDArray[np.floating] = np.clip(np.rint(samples), -32768, 32767)
    return clipped.astype("<i2").tobytes()


class FrameCutter:
    """Cuts a byte stream of PCM into whole frames of ``size`` bytes, keeping the remainder."""

    def __init__(self, size: int = FRAME_BYTES) -> None:
        self.size = size
        self._buffer = bytearray()

    def feed(self, pcm: bytes) -> list[bytes]:
        if not self._buffer and len(pcm) == self.size:  # the usual case: one packet, one frame
            return [bytes(pcm)]
        self._buffer += pcm
        count = len(self._buffer) // self.size
        if count == 0:
            return []
        out = [bytes(self._buffer[i * self.size:(i + 1) * self.size]) for i in range(count)]
        del self._buffer[:count * self.size]
        return out

    def flush(self) -> bytes | None:
        """The remainder padded with silence to a whole frame, or None when empty."""
        if not self._buffer:
            return None
        tail = bytes(self._buffer).ljust(self.size, b"\0")
        self._buffer.clear()
        return tail
