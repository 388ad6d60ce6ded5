"""Resampling at leg boundaries: lengths, continuity across frames, tone frequency kept, aliases
suppressed."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media.frame import to_pcm
from engine.media.polyphase import resample
from engine.media.resampler import BatchResampler, Resampler


def _tone(freq: float, rate: int, seconds: float) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return to_pcm(np.sin(2 * np.pi * freq * t) * 10000)


def _peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def _run(src: int, dst: int, pcm: bytes) -> bytes:
    r = Resampler(src, dst)
    chunk = src * 2 // 50  # 20 ms
    return b"".join(r.process(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk))


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (48000, 16000),
                                          (16000, 48000)])
def test_lengths_and_frequency(src: int, dst: int) -> None:
    out = _run(src, dst, _tone(1000, src, 1.0))
    assert len(out) == 2 * dst  # one second in, one second out, frame by frame
    assert abs(_peak_hz(out[2000:], dst) - 1000) < 5


def test_frame_by_frame_equals_one_shot() -> None:
    pcm = _tone(440, 8000, 0.5)
    whole = Resampler(8000, 16000).process(pcm)
    assert _run(8000, 16000, pcm) == whole  # the filter state carries across frames


def test_downsampling_suppresses_what_cannot_be_represented() -> None:
    out = _run(16000, 8000, _tone(6000, 16000, 1.0))  # above 4 kHz Nyquist: must vanish
    assert np.abs(np.frombuffer(out, "<i2")[400:]).max() < 1000  # > 20 dB down from 10000


def test_whole_prompts_between_any_rates() -> None:
    out = resample(_tone(500, 22050, 1.0), 22050, 16000)
    assert abs(len(out) // 2 - 16000) <= 1
    assert abs(_peak_hz(out, 16000) - 500) < 5


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (16000, 48000),
                                          (48000, 16000)])
def test_batch_rows_convert_as_one_resampler_each(src: int, dst: int) -> None:
    rng = np.random.default_rng(7)
    streams = 5
    batch = BatchResampler(src, dst, capacity=2)  # grows past its first capacity
    slots = [batch.open() for _ in range(streams)]
    singles = [Resampler(src, dst) for _ in range(streams)]
    frame = src // 50
    for _ in range(4):  # history carries across frames
        chunk = rng.integers(-12000, 12000, (streams, frame)).astype("<i2")
        rows = batch.process(slots, chunk.astype(np.float32))
        assert rows.shape == (streams, dst // 50) and rows.dtype == np.float32
        for row, single, samples in zip(rows, singles, chunk, strict=True):
            expected = np.frombuffer(single.process(samples.tobytes()), dtype="<i2")
            got = np.clip(np.rint(row), -32768, 32767)
            assert np.max(np.abs(got - expected)) <= 1  # the same filter, summed in another order
