"""End of turn in virtual time: the detector's only clock is the frames' media time."""

from __future__ import annotations

import pytest

from engine.speech.audio import frames_of
from engine.speech.tts import EspeakTTS
from engine.speech.vad import (
    VAD_SPECULATIVE_MS,
    VAD_STOP_MS,
    TurnDetector,
    TurnEvent,
    TurnSignal,
    WebRtcVad,
)

S = TurnSignal


def feed(detector: TurnDetector, pattern: str, start: float = 0.0) -> list[TurnEvent]:
    """``pattern``: one character per 20 ms frame, ``#`` voiced and ``.`` silent."""
    events: list[TurnEvent] = []
    for i, mark in enumerate(pattern):
        events += detector.push_decision(mark == "#", start + i * 0.02)
    return events


def test_end_of_turn_comes_stop_ms_after_the_last_voiced_frame() -> None:
    detector = TurnDetector(is_speech=lambda _: False)
    events = feed(detector, "....." + "#" * 50 + "." * 20)
    assert [e.signal for e in events] == [S.SPEECH_STARTED, S.SILENCE_BEGAN, S.END_OF_TURN]
    started, silence, end = events
    assert started.speech_started_at == pytest.approx(0.10)  # the first voiced frame, not the 3rd
    assert end.last_voiced_at == pytest.approx(1.10)
    assert silence.at - end.last_voiced_at == pytest.approx(VAD_SPECULATIVE_MS / 1000)
    assert end.at - end.last_voiced_at == pytest.approx(VAD_STOP_MS / 1000)


def test_clicks_do_not_start_a_turn() -> None:
    detector = TurnDetector(is_speech=lambda _: False)
    assert feed(detector, "..#....#.#.....##....") == []


def test_a_short_pause_inside_a_turn_is_speculated_on_then_discarded() -> None:
    detector = TurnDetector(is_speech=lambda _: False)
    pause = "." * (VAD_SPECULATIVE_MS // 20 + 2)  # past silence onset, well short of the end of turn
    events = feed(detector, "#" * 20 + pause + "#" * 20 + "." * 15)
    assert [e.signal for e in events] == [
        S.SPEECH_STARTED, S.SILENCE_BEGAN, S.SPEECH_RESUMED, S.SILENCE_BEGAN, S.END_OF_TURN,
    ]
    assert events[-1].speech_started_at == pytest.approx(0.0)  # still one turn


def test_pause_shorter_than_silence_onset_signals_nothing() -> None:
    detector = TurnDetector(is_speech=lambda _: False)
    events = feed(detector, "#" * 10 + "..." + "#" * 10)
    assert [e.signal for e in events] == [S.SPEECH_STARTED]


def test_webrtcvad_finds_the_end_of_real_speech() -> None:
    speech = EspeakTTS().render("I would like to check my order status.")
    frames = frames_of(bytes(640 * 10) + speech + bytes(640 * 25))
    detector = TurnDetector(WebRtcVad())
    events: list[TurnEvent] = []
    for i, frame in enumerate(frames):
        events += detector.push(frame, i * 0.02)
    signals = [e.signal for e in events]
    assert signals[0] is S.SPEECH_STARTED and signals[-1] is S.END_OF_TURN
    speech_end = 0.2 + len(speech) / 32000
    assert abs(events[-1].last_voiced_at - speech_end) < 0.25
    assert events[0].speech_started_at == pytest.approx(0.2, abs=0.1)
