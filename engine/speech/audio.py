"""The pipeline's audio format and small PCM helpers: 16 kHz, 16-bit signed mono, 20 ms frames."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000  # the mixer's rate (DESIGN.md §6)
FRAME_MS = 20  # one media tick
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
SAMPLE_WIDTH = 2  # bytes, signed 16-bit little-endian
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH  # 640


def pcm_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    """16-bit PCM bytes as float32 samples in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(samples: npt.NDArray[np.floating]) -> bytes:
    """Float samples in [-1, 1] as 16-bit PCM bytes (clipped)."""
    scaled = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


class FrameCutter:
    """Cuts a stream of PCM byte chunks of any size into whole 20 ms frames."""

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self.frame_bytes = frame_bytes
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """Adds PCM and returns the whole frames now available."""
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % self.frame_bytes
        frames = [bytes(self._pending[i : i + self.frame_bytes]) for i in range(0, whole, self.frame_bytes)]
        del self._pending[:whole]
        return frames

    def flush(self) -> bytes | None:
        """The last partial frame padded with silence, or None when nothing is pending."""
        if not self._pending:
            return None
        frame = bytes(self._pending) + bytes(self.frame_bytes - len(self._pending))
        self._pending.clear()
        return frame


def frames_of(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """A whole utterance's PCM as 20 ms frames, the last one padded with silence."""
    cutter = FrameCutter(frame_bytes)
    frames = cutter.push(pcm)
    tail = cutter.flush()
    if tail is not None:
        frames.append(tail)
    return frames
