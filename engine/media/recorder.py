"""The call recorder: a stereo WAV (caller left, everyone else right) whose header is valid at
every moment, so a crash leaves a playable file.

The media loop only appends frames to a queue. One writer thread serves every open recording:
it wakes every ``FLUSH_INTERVAL_S``, interleaves what each recording queued, appends it, and then
rewrites the RIFF and data sizes. Data is always written before the sizes that cover it, so a
reader (or a crash) sees at worst a header that counts slightly fewer samples than the file
holds. One thread for all calls (rather than one per call) keeps the media loop from contending
for the GIL with hundreds of threads waking every 20 ms.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import os
import struct
import threading
from collections import deque
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.media.frame import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

CHANNELS = 2
HEADER_BYTES = 44
FLUSH_INTERVAL_S = 0.1  # the writer appends queued audio and rewrites headers every 100 ms


def wav_header(data_bytes: int, rate: int = SAMPLE_RATE, channels: int = CHANNELS) -> bytes:
    block = channels * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1,
                       channels, rate, rate * block, block, 16, b"data", data_bytes)


class Recorder:
    """Writes one call's audio. ``write`` is cheap and non-blocking; ``close`` finishes the file."""

    def __init__(self, path: Path, rate: int = SAMPLE_RATE,
                 writer: RecordingWriter | None = None) -> None:
        self.path = path
        self.rate = rate
        self.frames = 0
        self.failed = False
        self.written_bytes = 0
        self._queue: deque[tuple[bytes, bytes]] = deque()
        self._closed = False
        self._file: BinaryIO | None = None
        self.finished: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._writer = writer or RecordingWriter.shared()
        self._writer.open(self)

    @property
    def duration_ms(self) -> int:
        return self.frames * FRAME_SAMPLES * 1000 // self.rate

    def write(self, left: bytes, right: bytes) -> None:
        """Queue one frame per channel (16-bit mono PCM of equal length)."""
        if self._closed or self.failed:
            return
        self.frames += 1
        self._queue.append((left, right))

    def close_nowait(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.wake()

    async def close(self) -> int:
        """Finish the file; returns its duration in ms."""
        self.close_nowait()
        await asyncio.wrap_future(self.finished)
        return self.duration_ms

    def wait_closed(self, timeout: float | None = None) -> int:
        """Blocking: wait until the file is finished (tests, shutdown)."""
        self.close_nowait()
        return self.finished.result(timeout)

    # writer thread
    def _drain(self) -> bool:
        """Append what was queued; True once the recording is closed and complete."""
        closed = self._closed  # read first: frames queued before close are all drained below
        if self._file is None and not self.failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "w+b", buffering=0)
                self._file.write(wav_header(0, self.rate))
            except OSError:
                log.exception("cannot open recording %s", self.path)
                self.failed = True
        pairs: list[tuple[bytes, bytes]] = []
        queue = self._queue
        while queue:
            pairs.append(queue.popleft())
        if pairs and self._file is not None and not self.failed:
            try:
                self._append(pairs)
            except OSError:
                log.exception("recording %s failed", self.path)
                self.failed = True
        if closed or self.failed:
            if self._file is not None:
                self._file.close()
            return True
        return False

    def _append(self, pairs: list[tuple[bytes, bytes]]) -> None:
        assert self._file is not None
        left = np.frombuffer(b"".join(p[0] for p in pairs), dtype="<i2")
        right = np.frombuffer(b"".join(p[1] for p in pairs), dtype="<i2")
        stereo = np.empty(2 * len(left), dtype="<i2")
        stereo[0::2] = left
        stereo[1::2] = right
        data = stereo.tobytes()
        fd = self._file.fileno()
        # two positioned writes and no seeks: the audio, then the sizes that cover it
        if os.pwrite(fd, data, HEADER_BYTES + self.written_bytes) != len(data):
            raise OSError(errno.ENOSPC, "short write", str(self.path))
        self.written_bytes += len(data)
        os.pwrite(fd, wav_header(self.written_bytes, self.rate), 0)


class RecordingWriter:
    """One daemon thread that writes every open recording of the process."""

    _shared: RecordingWriter | None = None
    _shared_lock = threading.Lock()

    def __init__(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._open: set[Recorder] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def shared(cls) -> RecordingWriter:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def open(self, recorder: Recorder) -> None:
        with self._lock:
            self._open.add(recorder)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="recording-writer",
                                                daemon=True)
                self._thread.start()
        self._wake.set()  # create the file now, so it exists from the first moment

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            with self._lock:
                recorders = list(self._open)
            for recorder in recorders:
                try:
                    done = recorder._drain()
                except Exception:
                    log.exception("recording %s failed", recorder.path)
                    recorder.failed = True
                    done = True
                if done:
                    with self._lock:
                        self._open.discard(recorder)
                    if not recorder.finished.done():
                        recorder.finished.set_result(recorder.duration_ms)
