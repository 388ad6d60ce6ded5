"""Generated sources: tone frequency and cadence, hold music loops, the PCM player."""

from __future__ import annotations

import numpy as np

from engine.media import FRAME_BYTES, HoldMusic, Player, Tone


def test_tone_frequency_and_phase_continuity() -> None:
    tone = Tone((425.0,))
    pcm = b"".join(tone.next_frame() for _ in range(50))
    x = np.frombuffer(pcm, "<i2").astype(float)
    peak = np.argmax(np.abs(np.fft.rfft(x))) * 16000 / len(x)
    assert abs(peak - 425) < 2
    assert np.abs(np.diff(x)).max() < 2000  # no clicks at frame edges


def test_tone_cadence() -> None:
    tone = Tone((425.0,), on_ms=100, off_ms=100)
    frames = [tone.next_frame() for _ in range(10)]
    loud = [np.abs(np.frombuffer(f, "<i2")).max() > 0 for f in frames]
    assert loud == [True] * 5 + [False] * 5


def test_hold_music_loops_in_whole_frames() -> None:
    music = HoldMusic()
    frames = [music.next_frame() for _ in range(1000)]
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert max(np.abs(np.frombuffer(f, "<i2")).max() for f in frames) > 1000


def test_player_cuts_and_pads() -> None:
    player = Player()
    player.enqueue(b"\x01\x00" * 500)  # 1.5 frames
    assert len(player.next_frame() or b"") == FRAME_BYTES
    last = player.next_frame()
    assert last is not None and last.endswith(b"\0\0") and player.next_frame() is None
