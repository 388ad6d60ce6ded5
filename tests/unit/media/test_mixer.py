"""Mixer masks (DESIGN §5): who hears whom, and the recorder tap's two channels."""

from __future__ import annotations

import numpy as np

from engine.media import (
    AGENT_MASKS,
    BARGE_MASKS,
    CALLER_MASKS,
    HUMAN_MASKS,
    LISTEN_MASKS,
    MUSIC_MASKS,
    WHISPER_MASKS,
    Masks,
    Mixer,
    Participant,
)
from engine.media.frame import FRAME_BYTES, FRAME_SAMPLES

LEVELS = {"caller": 1, "agent": 10, "human": 100, "sup": 1000}


def _const(value: int) -> bytes:
    return np.full(FRAME_SAMPLES, value, dtype="<i2").tobytes()


def _hears(masks: dict[str, Masks]) -> dict[str, int]:
    """Each participant's mix, as the sum of the levels it hears (levels are decimal digits)."""
    mixer = Mixer()
    heard: dict[str, int] = {}
    for name, m in masks.items():
        pcm = _const(LEVELS[name])

        def sink(frame: bytes, name: str = name) -> None:
            heard[name] = int(np.frombuffer(frame, dtype="<i2")[0])

        mixer.add(Participant(name, m, source=lambda pcm=pcm: pcm, sink=sink))
    mixer.tick()
    return heard


def test_agent_hears_caller_and_human_but_no_supervisor() -> None:
    heard = _hears({"caller": CALLER_MASKS, "agent": AGENT_MASKS, "human": HUMAN_MASKS,
                    "sup": BARGE_MASKS})
    assert heard["agent"] == 1 + 100
    assert heard["caller"] == 10 + 100 + 1000
    assert heard["sup"] == 1 + 10 + 100


def test_listening_supervisor_hears_all_and_is_heard_by_nobody() -> None:
    heard = _hears({"caller": CALLER_MASKS, "agent": AGENT_MASKS, "human": HUMAN_MASKS,
                    "sup": LISTEN_MASKS})
    assert heard["sup"] == 1 + 10 + 100
    assert heard["caller"] == 10 + 100 and heard["human"] == 1 + 10 and heard["agent"] == 1 + 100


def test_whisper_is_heard_by_the_human_agent_only() -> None:
    heard = _hears({"caller": CALLER_MASKS, "agent": AGENT_MASKS, "human": HUMAN_MASKS,
                    "sup": WHISPER_MASKS})
    assert heard["human"] == 1 + 10 + 1000
    assert heard["caller"] == 10 + 100 and heard["agent"] == 1 + 100


def test_hold_music_reaches_the_caller_only_and_mutes_and_silence() -> None:
    mixer = Mixer()
    got: dict[str, bytes] = {}
    music = Participant("music", MUSIC_MASKS, source=lambda: _const(7))
    caller = Participant("caller", CALLER_MASKS, source=lambda: None,
                         sink=lambda f: got.__setitem__("caller", f))
    agent = Participant("agent", AGENT_MASKS, source=lambda: _const(3),
                        sink=lambda f: got.__setitem__("agent", f))
    for p in (music, caller, agent):
        mixer.add(p)
    mixer.tick()
    assert np.frombuffer(got["caller"], "<i2")[0] == 10
    assert got["agent"] == bytes(FRAME_BYTES)  # nothing it may hear: silence, still a frame
    agent.muted = True
    mixer.tick()
    assert np.frombuffer(got["caller"], "<i2")[0] == 7


def test_mix_clips_instead_of_wrapping() -> None:
    mixer = Mixer()
    out: list[bytes] = []
    mixer.add(Participant("a", AGENT_MASKS, source=lambda: _const(30000)))
    mixer.add(Participant("b", HUMAN_MASKS, source=lambda: _const(30000)))
    mixer.add(Participant("caller", CALLER_MASKS, sink=out.append))
    mixer.tick()
    assert np.frombuffer(out[0], "<i2").min() == 32767


def test_recorder_tap_gets_caller_left_and_everyone_heard_right() -> None:
    mixer = Mixer()
    taps: list[tuple[bytes, bytes]] = []
    mixer.taps.append(lambda left, right: taps.append((left, right)))
    mixer.add(Participant("caller", CALLER_MASKS, source=lambda: _const(1)))
    mixer.add(Participant("agent", AGENT_MASKS, source=lambda: _const(10)))
    mixer.add(Participant("sup", LISTEN_MASKS, source=lambda: _const(1000)))
    mixer.tick()
    left, right = taps[0]
    assert np.frombuffer(left, "<i2")[0] == 1 and np.frombuffer(right, "<i2")[0] == 10
