"""Word error rate, with the normalisation speech tests need (numbers as words, no punctuation)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SYMBOLS = {"*": " star ", "#": " pound ", "&": " and ", "%": " percent ", "@": " at "}


def number_words(number: str) -> str:
    """``42`` as "forty two"; four or more digits are read one by one."""
    if len(number) > 3 or (len(number) > 1 and number.startswith("0")):
        return " ".join(_ONES[int(d)] for d in number)
    n = int(number)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return (_TENS[n // 10] + " " + (_ONES[n % 10] if n % 10 else "")).strip()
    rest = n % 100
    return f"{_ONES[n // 100]} hundred" + (f" {number_words(str(rest))}" if rest else "")


def normalise_words(text: str) -> list[str]:
    """Lower case words: digits spelled out, punctuation and hyphens gone, "ok" as "okay"."""
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text.lower())
    text = re.sub(r"\d+", lambda m: f" {number_words(m.group(0))} ", text)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("-", " ")).replace("'", "")
    return ["okay" if w == "ok" else w for w in text.split()]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one utterance."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    return edit_distance(ref, hyp) / max(1, len(ref))


def corpus_wer(pairs: Iterable[tuple[str, str]]) -> float:
    """Word errors over reference words, summed over (reference, hypothesis) pairs."""
    errors = words = 0
    for reference, hypothesis in pairs:
        ref = normalise_words(reference)
        errors += edit_distance(ref, normalise_words(hypothesis))
        words += len(ref)
    return errors / max(1, words)
