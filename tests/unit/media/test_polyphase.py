from __future__ import annotations

import numpy as np

from engine.media.polyphase import PolyphaseResampler, resample


def _tone(freq: float, rate: int, seconds: float = 1.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 10000).astype("<i2").tobytes()


def _peak_hz(pcm: bytes, rate: int) -> float:
    samples = np.frombuffer(pcm, "<i2").astype(float)[200:-200]
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_espeak_rate_to_pipeline_rate_keeps_length_and_pitch() -> None:
    out = resample(_tone(440, 22050), 22050, 16000)
    assert abs(len(out) // 2 - 16000) < 40
    assert abs(_peak_hz(out, 16000) - 440) < 3


def test_chunked_equals_whole() -> None:
    pcm = _tone(300, 22050)
    one = PolyphaseResampler(22050, 16000)
    whole = one.push(pcm) + one.flush()
    r = PolyphaseResampler(22050, 16000)
    chunked = b"".join(r.push(pcm[i : i + 882]) for i in range(0, len(pcm), 882)) + r.flush()
    assert chunked == whole


def test_content_above_the_new_nyquist_is_filtered_not_aliased() -> None:
    out = np.frombuffer(resample(_tone(10000, 22050), 22050, 16000), "<i2").astype(float)
    assert np.sqrt(np.mean(out[200:-200] ** 2)) < 100  # 10 kHz at 7071 rms in: < -37 dB out


def test_telephone_rate_up() -> None:
    out = resample(_tone(1000, 8000), 8000, 16000)
    assert abs(len(out) // 2 - 16000) < 60  # plus the filter's flushed tail
    assert abs(_peak_hz(out, 16000) - 1000) < 3
