"""engine.rtc, what the engine's peer legs and the console's phone share: ICE settings, PCM in and
out of aiortc audio frames, reading a peer's track, and the paced outgoing track (in virtual
time)."""

from __future__ import annotations

import fractions
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from engine.rtc import (
    LOOPBACK,
    PacedTrack,
    PcmConverter,
    audio_frames,
    frame_samples,
    include_loopback,
    pcm_frame,
    rtc_configuration,
)
from tests.harness.tones import TONE_AMPLITUDE, heard

ROOT = Path(__file__).resolve().parents[3]
DEVICE_RATE = 48_000  # the console's audio devices
MIXER_RATE = 16_000  # the engine's mixer


def sine(freq: float, rate: int, samples: int, start: int = 0) -> bytes:
    t = (np.arange(samples) + start) / rate
    return (TONE_AMPLITUDE * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def test_a_frame_is_twenty_milliseconds_at_either_rate() -> None:
    assert frame_samples(MIXER_RATE) == 320
    assert frame_samples(DEVICE_RATE) == 960


def test_the_default_configuration_names_no_ice_server() -> None:
    assert rtc_configuration().iceServers == []


def test_the_configuration_names_exactly_the_servers_given() -> None:
    config = rtc_configuration(["stun:stun.example.net:3478", "turn:turn.example.net"])
    assert [server.urls for server in config.iceServers or []] == [
        "stun:stun.example.net:3478", "turn:turn.example.net"]


def test_host_candidates_include_loopback_once_and_only_for_ipv4() -> None:
    include_loopback()
    patched = aioice.ice.get_host_addresses
    include_loopback()  # idempotent: not wrapped twice
    assert aioice.ice.get_host_addresses is patched
    v4 = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    assert v4.count(LOOPBACK) == 1
    assert LOOPBACK not in aioice.ice.get_host_addresses(use_ipv4=False, use_ipv6=True)


def test_pcm_goes_into_a_frame_unchanged() -> None:
    pcm = sine(440, MIXER_RATE, 320)
    frame = pcm_frame(pcm, MIXER_RATE, pts=640)
    assert (frame.samples, frame.sample_rate, frame.pts) == (320, MIXER_RATE, 640)
    assert frame.time_base == fractions.Fraction(1, MIXER_RATE)
    assert (frame.format.name, frame.layout.name) == ("s16", "mono")
    assert bytes(frame.planes[0])[:640] == pcm


def test_mono_at_the_same_rate_converts_to_the_same_pcm() -> None:
    pcm = sine(440, DEVICE_RATE, 960)
    assert PcmConverter(DEVICE_RATE).convert(pcm_frame(pcm, DEVICE_RATE, 0)) == pcm


def test_stereo_at_48_khz_converts_to_the_same_tone_in_mono_at_16_khz() -> None:
    converter = PcmConverter(MIXER_RATE)
    out = b""
    for i in range(25):  # 500 ms of a 1 kHz tone, both channels alike (as Opus decodes)
        mono = np.frombuffer(sine(1000, DEVICE_RATE, 960, start=960 * i), dtype="<i2")
        frame = AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16",
                                        layout="stereo")
        frame.sample_rate = DEVICE_RATE
        frame.pts = 960 * i
        out += converter.convert(frame)
    assert abs(len(out) // 2 - 25 * 320) <= 320  # the resampler may hold a little back
    assert heard(out, 1000)


class ScriptedTrack(MediaStreamTrack):
    """Hands out a fixed list of frames, then ends."""

    kind = "audio"

    def __init__(self, frames: list[object]) -> None:
        super().__init__()
        self._frames = iter(frames)

    async def recv(self) -> AudioFrame:
        try:
            frame = next(self._frames)
        except StopIteration:
            raise MediaStreamError from None
        return frame  # type: ignore[return-value]  # a non-audio frame, on purpose


async def test_reading_a_track_yields_its_audio_frames_until_it_ends() -> None:
    first, second = (pcm_frame(bytes(640), MIXER_RATE, pts) for pts in (0, 320))
    got = [frame async for frame in audio_frames(ScriptedTrack([first, "not audio", second]))]
    assert got == [first, second]


class VirtualTime:
    """A clock that only moves when the track sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def frames_of(values: list[bytes | None]) -> Iterator[bytes | None]:
    yield from values


async def test_the_paced_track_sends_a_frame_every_20_ms_and_silence_when_the_source_has_none() -> None:
    time = VirtualTime()
    tone = sine(440, DEVICE_RATE, 960)
    source = frames_of([tone, None, b"", tone])
    track = PacedTrack(lambda: next(source), DEVICE_RATE, clock=time, sleep=time.sleep)
    sent = [await track.recv() for _ in range(4)]
    assert time.sleeps == [0.02, 0.02, 0.02]  # the first frame goes at once
    assert [frame.pts for frame in sent] == [0, 960, 1920, 2880]
    assert [bytes(frame.planes[0])[:1920] == tone for frame in sent] == [True, False, False, True]
    assert bytes(sent[1].planes[0])[:1920] == bytes(1920)
    assert track.frames_sent == 4


async def test_the_paced_track_restarts_its_clock_after_a_stall_instead_of_bursting() -> None:
    time = VirtualTime()
    track = PacedTrack(lambda: None, MIXER_RATE, clock=time, sleep=time.sleep)
    await track.recv()
    time.now += 0.5  # the sender stalled for 25 frames
    await track.recv()
    await track.recv()
    assert time.sleeps == [0.02]  # resynced: one frame at once, then paced again


async def test_a_late_sender_within_the_resync_window_catches_up_without_sleeping() -> None:
    time = VirtualTime()
    track = PacedTrack(lambda: None, MIXER_RATE, clock=time, sleep=time.sleep)
    await track.recv()
    time.now += 0.05  # 2.5 frames late: fewer than the resync's 5
    await track.recv()
    await track.recv()
    await track.recv()
    assert time.sleeps == [0.01]  # two frames go at once, the third waits for its slot


async def test_a_stopped_paced_track_ends() -> None:
    track = PacedTrack(lambda: None, MIXER_RATE)
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


def test_the_module_loads_neither_the_engine_nor_qt() -> None:
    """The console imports it: it must stay off the engine's insides and Qt."""
    code = ("import sys, engine.rtc; "
            "print(sorted(m for m in sys.modules if m.startswith(('engine', 'PySide6', 'numpy'))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env=env)
    assert out.stdout.strip() == "['engine', 'engine.rtc']"

