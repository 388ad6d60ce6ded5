"""Whisper's doubled sentences are dropped; what callers really repeat is kept."""

from __future__ import annotations

from engine.speech.whisper_stt import drop_repeated_sentences


def test_a_doubled_sentence_is_said_once() -> None:
    said = "The speed dial entry you've accessed is empty. The speed dial entry you've accessed is empty."
    assert drop_repeated_sentences(said) == "The speed dial entry you've accessed is empty."


def test_short_repeats_and_different_sentences_stay() -> None:
    assert drop_repeated_sentences("Hello? Hello?") == "Hello? Hello?"
    assert drop_repeated_sentences("No, no, no.") == "No, no, no."
    text = "I want to check my order. I want to check my refund too."
    assert drop_repeated_sentences(text) == text


def test_repeats_apart_from_case_and_punctuation_are_one() -> None:
    said = "my order number is four two seven. My order number is four two seven"
    assert drop_repeated_sentences(said) == "my order number is four two seven."
    assert drop_repeated_sentences("") == ""
