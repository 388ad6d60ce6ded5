"""Intent matching for scripted agents: keywords, regex patterns and fuzzy example sentences."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KEYWORD_WEIGHT = 1.0
PATTERN_WEIGHT = 2.0
EXAMPLE_WEIGHT = 2.0  # times the fuzzy ratio above FUZZY_EXAMPLE_MIN
FUZZY_EXAMPLE_MIN = 0.6  # difflib ratio of normalised sentences; below it an example says nothing
MATCH_MIN_SCORE = 1.0  # one keyword is enough


def normalise(text: str) -> str:
    """Lower case, apostrophes kept, other punctuation as spaces, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def has_phrase(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` as whole words (both normalised)."""
    pattern = rf"(?<![a-z0-9']){re.escape(normalise(phrase))}(?![a-z0-9'])"
    return re.search(pattern, normalise(text)) is not None


def any_phrase(text: str, phrases: Iterable[str]) -> bool:
    return any(has_phrase(text, phrase) for phrase in phrases)


@dataclass(frozen=True, slots=True)
class IntentMatch:
    name: str
    score: float
    keywords: tuple[str, ...]
    pattern: bool
    example_ratio: float


def score_intent(text: str, intent: Mapping[str, Any]) -> IntentMatch:
    keywords = tuple(k for k in intent.get("keywords") or () if has_phrase(text, k))
    pattern = any(re.search(p, text, re.IGNORECASE) for p in intent.get("patterns") or ())
    said = normalise(text)
    ratio = max(
        (difflib.SequenceMatcher(None, said, normalise(e)).ratio() for e in intent.get("examples") or ()),
        default=0.0,
    )
    score = KEYWORD_WEIGHT * len(keywords) + (PATTERN_WEIGHT if pattern else 0.0)
    if ratio >= FUZZY_EXAMPLE_MIN:
        score += EXAMPLE_WEIGHT * ratio
    return IntentMatch(str(intent.get("name", "")), score, keywords, pattern, ratio)


def best_intent(text: str, intents: Sequence[Mapping[str, Any]]) -> IntentMatch | None:
    """The best-scoring intent at or above :data:`MATCH_MIN_SCORE` (the earlier one on a tie)."""
    best: IntentMatch | None = None
    for intent in intents:
        match = score_intent(text, intent)
        if match.score >= MATCH_MIN_SCORE and (best is None or match.score > best.score):
            best = match
    return best
