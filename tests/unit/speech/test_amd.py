"""Answering-machine detection on generated audio: the beep detector on tones and on speech,
the decisions on the labelled espeak-ng set (people and voicemail systems, 8 kHz mu-law), what
the recogniser's word count adds, and when a machine's message may start."""

from __future__ import annotations

import numpy as np
import pytest

from engine.speech.amd import (
    AmdSettings,
    AnsweringMachineDetector,
    BeepDetector,
    tone_hz,
)
from engine.speech.amd_corpus import (
    CORPUS_RATE,
    HUMAN_GREETINGS,
    MACHINE_GREETINGS,
    VOICES,
    AmdSample,
    amd_corpus,
    mu_law,
    speech,
    tone,
)

FRAME = CORPUS_RATE // 50  # 20 ms


def frames_of(audio: np.ndarray, rate: int = CORPUS_RATE) -> list[np.ndarray]:
    size = rate // 50
    return [audio[i:i + size] * 32767.0 for i in range(0, len(audio) - size + 1, size)]


def run(sample: AmdSample) -> tuple[AnsweringMachineDetector, str | None, float | None]:
    """The detector after the whole sample, the message cue and when it came (ms)."""
    detector = AnsweringMachineDetector(CORPUS_RATE)
    cue: str | None = None
    cue_ms: float | None = None
    for frame in sample.frames():
        detector.feed(frame)
        if cue is None and detector.message_cue is not None:
            cue, cue_ms = detector.message_cue, detector.now_ms
    return detector, cue, cue_ms


@pytest.fixture(scope="module")
def corpus() -> list[AmdSample]:
    return amd_corpus(seed=3)


@pytest.mark.parametrize("hz", [440.0, 850.0, 1000.0, 1400.0, 1950.0])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_steady_tone_in_the_band_is_a_beep_at_either_rate(hz: float, rate: int) -> None:
    beep = BeepDetector(rate)
    frames = frames_of(mu_law(tone(hz, 0.5, rate)), rate)
    found = [i for i, frame in enumerate(frames) if beep.feed(frame)]
    assert found == [9]  # the tenth 20 ms frame: 200 ms of tone
    assert beep.hz is not None and abs(beep.hz - hz) <= 50
    beep.feed(np.zeros(rate // 50))
    assert beep.ended and beep.beeps == 1


@pytest.mark.parametrize("hz", [200.0, 3000.0])
def test_a_tone_outside_the_band_is_not_a_beep(hz: float) -> None:
    beep = BeepDetector(CORPUS_RATE)
    assert not any(beep.feed(frame) for frame in frames_of(tone(hz, 1.0)))
    assert beep.beeps == 0


def test_a_short_or_quiet_tone_is_not_a_beep() -> None:
    short = BeepDetector(CORPUS_RATE)
    assert not any(short.feed(frame) for frame in frames_of(tone(1000.0, 0.16)))
    quiet = BeepDetector(CORPUS_RATE)
    assert not any(quiet.feed(frame) for frame in frames_of(tone(1000.0, 1.0, amplitude=0.003)))
    assert tone_hz(np.zeros(FRAME), CORPUS_RATE) is None


def test_speech_is_not_a_beep() -> None:
    """Every greeting of the set, in every voice, through a beep detector: no beep."""
    beeps = 0
    for text in HUMAN_GREETINGS + MACHINE_GREETINGS:
        for voice, rate, pitch in VOICES:
            audio = np.frombuffer(speech(text, voice, rate, pitch), "<i2").astype(np.float64)
            beep = BeepDetector(CORPUS_RATE)
            beeps += sum(beep.feed(audio[i:i + FRAME]) for i in range(0, len(audio) - FRAME, FRAME))
    assert beeps == 0


def test_the_set_is_labelled_and_the_same_for_a_seed(corpus: list[AmdSample]) -> None:
    humans = [s for s in corpus if s.label == "human"]
    machines = [s for s in corpus if s.label == "machine"]
    assert len(humans) == len(HUMAN_GREETINGS) * 3
    assert len(machines) == len(MACHINE_GREETINGS) * 3 * 2
    assert sum(s.beep_hz is not None for s in machines) == len(machines) // 2
    assert len({s.voice for s in corpus}) >= 4
    again = amd_corpus(seed=3)
    assert [s.pcm for s in again] == [s.pcm for s in corpus]
    assert amd_corpus(seed=4)[0].pcm != corpus[0].pcm


def test_people_are_decided_human(corpus: list[AmdSample]) -> None:
    decisions = [(s.name, run(s)[0].result) for s in corpus if s.label == "human"]
    right = [name for name, result in decisions if result is not None
             and result.decision == "human" and result.cause == "short greeting then silence"]
    wrong = [(name, result) for name, result in decisions if result is None
             or result.decision == "machine"]
    assert len(right) >= len(decisions) - 2, decisions  # a margin: the set's clear cases
    assert len(wrong) <= 1, wrong


def test_voicemail_systems_are_decided_machine_and_cue_the_message(
        corpus: list[AmdSample]) -> None:
    machines = [s for s in corpus if s.label == "machine"]
    right = 0
    cued_after_beep = 0
    for sample in machines:
        detector, cue, cue_ms = run(sample)
        result = detector.result
        assert result is not None, sample.name
        if result.decision == "machine":
            right += 1
            assert result.cause in ("long greeting", "beep"), (sample.name, result)
            assert result.decision_ms <= DEFAULT_WINDOW_MS, (sample.name, result)
        if sample.beep_hz is not None and cue == "beep":
            assert cue_ms is not None and cue_ms >= sample.greeting_end_ms, sample.name
            cued_after_beep += 1
        if sample.beep_hz is None:
            assert cue in ("end of greeting", None), (sample.name, cue)
    assert right >= len(machines) - 2
    assert cued_after_beep >= len(machines) // 2 - 2


DEFAULT_WINDOW_MS = AmdSettings().window_ms


def test_a_beep_alone_is_a_machine() -> None:
    detector = AnsweringMachineDetector(16000)
    audio = np.concatenate([np.zeros(3200), tone(1000.0, 0.5, 16000), np.zeros(16000)])
    results = [r for f in frames_of(audio, 16000)
               if (r := detector.feed(f.astype("<i2").tobytes())) is not None]
    assert [(r.decision, r.cause) for r in results] == [("machine", "beep")]
    assert results[0].decision_ms == 400  # 200 ms of silence, then 200 ms of tone
    assert detector.message_cue == "beep"


def test_silence_is_unknown_at_the_window_end() -> None:
    settings = AmdSettings(window_ms=2000)
    detector = AnsweringMachineDetector(CORPUS_RATE, settings)
    results = [r for _ in range(200) if (r := detector.feed(bytes(FRAME * 2))) is not None]
    assert [r.as_dict() for r in results] == [
        {"decision": "unknown", "cause": "silence", "decision_ms": 2000}]


def test_many_words_decide_a_machine_before_the_greeting_is_long() -> None:
    """A first sentence of eight words, then a pause: the word count decides."""
    detector = AnsweringMachineDetector(CORPUS_RATE)
    said = np.frombuffer(speech("Hi, you've reached the voicemail of Chris Taylor.", "en-gb",
                                175, 50), "<i2").astype(np.float64)
    said = np.concatenate([said, np.zeros(CORPUS_RATE // 2)])  # then a pause
    asked_at: float | None = None
    for i in range(0, len(said) - FRAME, FRAME):
        assert detector.feed(said[i:i + FRAME].astype("<i2").tobytes()) is None or asked_at
        if asked_at is None and detector.wants_words:
            asked_at = detector.now_ms
            break
    assert asked_at is not None  # the pause after the sentence
    assert not detector.wants_words  # asked once
    result = detector.heard_words(8)
    assert result is not None and (result.decision, result.cause) == ("machine", "many words")
    few = AnsweringMachineDetector(CORPUS_RATE)
    assert few.heard_words(3) is None and few.result is None


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match="window_ms"):
        AmdSettings(window_ms=0)
    with pytest.raises(ValueError, match="sample_rate"):
        AnsweringMachineDetector(44100)
