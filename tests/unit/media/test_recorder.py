"""The recorder's WAV is valid at every moment: read it mid-call, then after close."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np

from engine.media.frame import FRAME_SAMPLES
from engine.media.recorder import Recorder


def _frame(value: int) -> bytes:
    return np.full(FRAME_SAMPLES, value, dtype="<i2").tobytes()


def _read(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16000 and wav.getsampwidth() == 2
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        return wav.getnframes(), data


def _wait_for_frames(path: Path, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size < 44 or _read(path)[0] < count:
        assert time.monotonic() < deadline, "recorder did not write in time"
        time.sleep(0.01)


async def test_header_valid_mid_write_and_after_close(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    recorder = Recorder(path)
    for _ in range(50):
        recorder.write(_frame(1), _frame(-2))
    _wait_for_frames(path, 50 * FRAME_SAMPLES)
    frames, data = _read(path)  # a reader mid-call (or a crash) sees a playable file
    assert frames == 50 * FRAME_SAMPLES
    assert (data[:, 0] == 1).all() and (data[:, 1] == -2).all()
    size_before = path.stat().st_size
    for _ in range(25):
        recorder.write(_frame(3), _frame(4))
    assert await recorder.close() == 1500
    frames, data = _read(path)
    assert frames == 75 * FRAME_SAMPLES and path.stat().st_size > size_before
    assert (data[-1] == [3, 4]).all() and not recorder.failed


def test_header_never_claims_more_than_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"
    recorder = Recorder(path)
    for i in range(200):
        recorder.write(_frame(i), _frame(-i))
        raw = path.read_bytes() if path.exists() else b""
        if len(raw) >= 44:
            declared = int.from_bytes(raw[40:44], "little")
            assert declared <= len(raw) - 44
            assert int.from_bytes(raw[4:8], "little") == 36 + declared
    recorder.wait_closed(10)
