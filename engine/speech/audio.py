"""The pipeline's audio format and small PCM helpers: 16 kHz, 16-bit signed mono, 20 ms frames."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.media.frame import (
    FRAME_BYTES,
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    FrameCutter,
)


def pcm_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    """16-bit PCM bytes as float32 samples in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(samples: npt.NDArray[np.floating]) -> bytes:
    """Float samples in [-1, 1] as 16-bit PCM bytes (clipped)."""
    scaled: npt.NDArray[np.floating] = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    return scaled.astype("<i2").tobytes()


def frames_of(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """A whole utterance's PCM as 20 ms frames, the last one padded with silence."""
    cutter = FrameCutter(frame_bytes)
    frames = cutter.feed(pcm)
    tail = cutter.flush()
    if tail is not None:
        frames.append(tail)
    return frames


__all__ = ["FRAME_BYTES", "FRAME_MS", "FRAME_SAMPLES", "SAMPLE_RATE", "SAMPLE_WIDTH", "FrameCutter",
           "float_to_pcm", "frames_of", "pcm_to_float"]
