from __future__ import annotations

from engine.speech.sentences import SentenceAggregator, split_sentences


def test_split_keeps_abbreviations_and_decimals() -> None:
    assert split_sentences("Hello Dr. Smith. Your total is 4.50 dollars! Anything else? Bye") == [
        "Hello Dr. Smith.",
        "Your total is 4.50 dollars!",
        "Anything else?",
        "Bye",
    ]


def test_streamed_text_gives_each_sentence_once_complete() -> None:
    aggregator = SentenceAggregator()
    assert aggregator.push("Sure thing") == []
    assert aggregator.push(".") == []  # the boundary needs the following whitespace
    assert aggregator.push(" Let me check.") == ["Sure thing."]
    assert aggregator.push(" One moment") == ["Let me check."]
    assert aggregator.flush() == ["One moment"]
    assert aggregator.flush() == []
