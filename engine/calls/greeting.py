"""The agent's spoken greeting until the speech pipeline answers calls: its first_message
synthesized by the espeak-ng program, as 16 kHz PCM for the mixer."""

from __future__ import annotations

import asyncio
import logging
import shutil
import struct
import subprocess

from engine.media.frame import SAMPLE_RATE
from engine.media.polyphase import resample

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
SYNTH_TIMEOUT_S = 15.0


class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed; the caller falls back to a tone."""


def wav_pcm(data: bytes) -> tuple[bytes, int]:
    """(16-bit mono PCM, rate) from a WAV stream whose sizes may be unset (espeak --stdout)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthesisError("not a WAV stream")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if chunk == b"fmt ":
            channels, rate = struct.unpack("<HI", data[pos + 10:pos + 16])
            if channels != 1:
                raise SynthesisError("expected mono speech")
        elif chunk == b"data":
            body = data[pos + 8:] if size in (0, 0xFFFFFFFF) or size > len(data) else \
                data[pos + 8:pos + 8 + size]
            return body[:len(body) // 2 * 2], rate
        pos += 8 + size + (size & 1)
    raise SynthesisError("WAV stream without data")


def synthesize(text: str, voice: str | None = None, rate_wpm: int | None = None) -> bytes:
    """Blocking: run espeak-ng and return the speech as PCM at the mixer's rate."""
    program = shutil.which(ESPEAK)
    if program is None:
        raise SynthesisError("espeak-ng is not installed (Debian/Ubuntu: apt install espeak-ng)")
    cmd = [program, "--stdout"]
    if voice:
        cmd += ["-v", voice]
    if rate_wpm:
        cmd += ["-s", str(rate_wpm)]
    cmd.append(text)
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=SYNTH_TIMEOUT_S, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        raise SynthesisError(f"espeak-ng failed: {exc}") from exc
    pcm, rate = wav_pcm(done.stdout)
    return resample(pcm, rate, SAMPLE_RATE)


async def synthesize_async(text: str, voice: str | None = None, rate_wpm: int | None = None) -> bytes:
    return await asyncio.to_thread(synthesize, text, voice, rate_wpm)
