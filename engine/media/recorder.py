"""The call recorder: a stereo WAV (caller left, everyone else right) whose header is valid at
every moment, so a crash leaves a playable file.

The media loop only queues frames; a worker thread appends them and then rewrites the RIFF and
data sizes. Data is always written before the sizes that cover it, so a reader (or a crash)
sees at worst a header that counts slightly fewer samples than the file holds.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import struct
import threading
from pathlib import Path

import numpy as np

from engine.media.frame import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

CHANNELS = 2
HEADER_BYTES = 44
FLUSH_FRAMES = 10  # the worker rewrites the header at least every 200 ms of audio


def wav_header(data_bytes: int, rate: int = SAMPLE_RATE, channels: int = CHANNELS) -> bytes:
    block = channels * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1,
                       channels, rate, rate * block, block, 16, b"data", data_bytes)


class Recorder:
    """Writes one call's audio. ``write`` is cheap and non-blocking; ``close`` finishes the file."""

    def __init__(self, path: Path, rate: int = SAMPLE_RATE) -> None:
        self.path = path
        self.rate = rate
        self.frames = 0
        self.failed = False
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"recorder-{path.stem}", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def duration_ms(self) -> int:
        return self.frames * FRAME_SAMPLES * 1000 // self.rate

    def write(self, left: bytes, right: bytes) -> None:
        """Queue one frame per channel (16-bit mono PCM of equal length)."""
        if self._closed or self.failed:
            return
        stereo = np.empty(len(left), dtype="<i2")
        stereo[0::2] = np.frombuffer(left, dtype="<i2")
        stereo[1::2] = np.frombuffer(right, dtype="<i2")
        self.frames += 1
        self._queue.put(stereo.tobytes())

    def close_nowait(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    async def close(self) -> int:
        """Finish the file; returns its duration in ms."""
        self.close_nowait()
        await asyncio.to_thread(self._thread.join)
        return self.duration_ms

    def _run(self) -> None:
        written = 0
        done = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w+b")
            self._file.write(wav_header(0, self.rate))
            self._file.flush()
        except OSError:
            log.exception("cannot open recording %s", self.path)
            self.failed = True
            return
        try:
            while not done:
                chunks = [self._queue.get()]
                while len(chunks) < FLUSH_FRAMES * 4:
                    try:
                        chunks.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if None in chunks:
                    done = True
                data = b"".join(c for c in chunks if c is not None)
                if data:
                    self._file.seek(0, 2)
                    self._file.write(data)
                    self._file.flush()
                    written += len(data)
                    self._file.seek(0)
                    self._file.write(wav_header(written, self.rate))
                    self._file.flush()
        except OSError:
            log.exception("recording %s failed", self.path)
            self.failed = True
        finally:
            self._file.close()
