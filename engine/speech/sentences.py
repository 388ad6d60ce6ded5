"""Sentence splitting for speech: whole sentences out of streamed text, so TTS starts early."""

from __future__ import annotations

import re

# A boundary is sentence punctuation followed by whitespace; "3.5" and "e.g.x" never split.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc e.g i.e no approx dept inc ltd co mt ft a.m p.m".split()
)
MIN_SENTENCE_CHARS = 2  # a lone "." or "1." is held back and joined to what follows


def _ends_with_abbreviation(sentence: str) -> bool:
    words = sentence.rstrip().split()
    if not words:
        return False
    last = words[-1].rstrip(".").lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha() and len(words) > 1)


def split_sentences(text: str) -> list[str]:
    """Splits a whole text into sentences (whitespace trimmed, empty ones dropped)."""
    aggregator = SentenceAggregator()
    return [*aggregator.push(text), *aggregator.flush()]


class SentenceAggregator:
    """Collects streamed text and hands out each sentence as soon as it is complete."""

    def __init__(self) -> None:
        self._buffer = ""

    def push(self, text: str) -> list[str]:
        """Adds text; returns the sentences it completed."""
        self._buffer += text
        out: list[str] = []
        start = 0
        for match in _BOUNDARY.finditer(self._buffer):
            candidate = self._buffer[start : match.start()].strip()
            if len(candidate) < MIN_SENTENCE_CHARS or _ends_with_abbreviation(candidate):
                continue
            out.append(candidate)
            start = match.end()
        self._buffer = self._buffer[start:]
        return out

    def flush(self) -> list[str]:
        """The rest of the text as a last sentence (none when it is blank)."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []
