"""The phone's ring buffers and the speaker's writer: overflow drops the oldest bytes, underflow
reads silence, and a device that takes fewer bytes than offered loses nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from console.phone.audio import SINK_LOW_BYTES, SINK_TARGET_BYTES, SinkFeeder
from console.phone.ring import FRAME_BYTES, RingBuffer, rms


def ramp(start: int, count: int) -> bytes:
    """``count`` 16-bit samples numbered from ``start``: every byte says where it came from."""
    return np.arange(start, start + count, dtype="<i2").tobytes()


def test_write_then_read_in_order() -> None:
    ring = RingBuffer(1000)
    ring.write(ramp(0, 100))
    ring.write(ramp(100, 50))
    assert len(ring) == 300
    assert ring.read(120) == ramp(0, 60)
    assert ring.read(1000) == ramp(60, 90)
    assert len(ring) == 0


def test_overflow_drops_the_oldest() -> None:
    ring = RingBuffer(200)  # 100 samples
    assert ring.write(ramp(0, 80)) == 0
    assert ring.write(ramp(80, 50)) == 60  # 30 samples too many
    assert ring.bytes_dropped == 60
    assert ring.read(1000) == ramp(30, 100)
    big = ring.write(ramp(0, 500))  # one write larger than the whole buffer keeps its newest part
    assert big == 800
    assert ring.read(1000) == ramp(400, 100)


def test_underflow_reads_silence() -> None:
    ring = RingBuffer(1000)
    ring.write(ramp(1, 10))
    out = ring.read_exact(60)
    assert out == ramp(1, 10) + bytes(40)
    assert ring.underflows == 1
    assert ring.read_exact(8) == bytes(8)
    assert ring.underflows == 2


def test_read_frame_takes_whole_frames_only() -> None:
    ring = RingBuffer(FRAME_BYTES * 4)
    ring.write(ramp(0, FRAME_BYTES // 2 - 1))
    assert ring.read_frame(FRAME_BYTES) is None
    assert len(ring) == FRAME_BYTES - 2  # nothing was taken
    ring.write(ramp(0, 1))
    assert ring.read_frame(FRAME_BYTES) is not None
    assert len(ring) == 0


def test_odd_sizes_never_split_a_sample() -> None:
    ring = RingBuffer(10)
    ring.write(ramp(0, 3))
    assert len(ring.read(3)) == 2
    with pytest.raises(ValueError):
        RingBuffer(7)


def test_level_is_the_rms_of_the_last_100_ms() -> None:
    ring = RingBuffer(48_000)
    assert ring.level() == 0.0
    t = np.arange(4800) / 48_000
    sine = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
    ring.write(sine)
    assert ring.level() == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    ring.write(bytes(9600))  # 100 ms of silence pushes the sine out of the window
    assert ring.level() == 0.0
    assert rms(b"") == 0.0
    assert rms(np.full(10, -32768, dtype="<i2").tobytes()) == 1.0


def test_threads_writing_and_reading_lose_nothing_but_the_overflow() -> None:
    ring = RingBuffer(FRAME_BYTES * 1000)
    frames = [ramp(i * 10, FRAME_BYTES // 2) for i in range(300)]
    got: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set() or len(ring):
            frame = ring.read_frame(FRAME_BYTES)
            if frame is not None:
                got.append(frame)

    thread = threading.Thread(target=reader)
    thread.start()
    for frame in frames:
        ring.write(frame)
    done.set()
    thread.join(10)
    assert got == frames


class FullDevice:
    """A sink device that takes at most ``room`` bytes per write, recording what it took."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.taken = bytearray()

    def write(self, data: bytes) -> int:
        accepted = data[:self.room]
        self.taken += accepted
        return len(accepted)


def test_sink_keeps_the_remainder_of_a_partial_write() -> None:
    ring = RingBuffer(FRAME_BYTES * 20)
    device = FullDevice(room=1000)
    feeder = SinkFeeder(ring, device.write)
    audio = ramp(0, FRAME_BYTES * 3 // 2)  # three frames
    ring.write(audio)
    # the device has room for the target, but its write takes only 1000 bytes at a time
    while len(device.taken) < len(audio):
        assert feeder.feed(room=SINK_TARGET_BYTES, queued=SINK_TARGET_BYTES // 2) > 0
    assert bytes(device.taken[:len(audio)]) == audio  # nothing lost, nothing reordered
    assert feeder.bytes_played == len(audio)
    assert feeder.silence_written == 0


def test_sink_does_not_overfill_and_plays_silence_when_dry() -> None:
    ring = RingBuffer(FRAME_BYTES * 20)
    device = FullDevice(room=10**6)
    feeder = SinkFeeder(ring, device.write)
    ring.write(ramp(0, FRAME_BYTES * 5))  # ten frames waiting
    assert feeder.feed(room=10**6, queued=0) == SINK_TARGET_BYTES  # only up to the target
    assert feeder.feed(room=10**6, queued=SINK_TARGET_BYTES) == 0
    ring.clear()
    assert feeder.feed(room=10**6, queued=SINK_LOW_BYTES) == 0  # enough still queued
    assert feeder.feed(room=10**6, queued=0) == FRAME_BYTES  # dry: one frame of silence
    assert device.taken[-FRAME_BYTES:] == bytes(FRAME_BYTES)
    assert feeder.silence_written == FRAME_BYTES
