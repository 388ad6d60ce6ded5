"""Reading slot values out of what a caller said: digits, dates, times, names, yes/no, choices."""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | {"oh": 0, "o": 0, "nil": 0}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
             "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
             "nineteenth": 19, "twentieth": 20, "thirtieth": 30}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_YES = {"yes", "yeah", "yep", "yup", "sure", "correct", "right", "absolutely", "definitely", "ok",
        "okay", "affirmative", "indeed", "please"}
_NO = {"no", "nope", "nah", "wrong", "incorrect", "negative", "not"}
_NAME_PREFIXES = re.compile(
    r"^(?:(?:yes|yeah|sure|okay|ok|hi|hello|um|uh|so|well)[,.]?\s+)*"
    r"(?:my (?:full )?name is|the name is|name's|it's|it is|this is|i'm|i am|call me)\s+",
    re.IGNORECASE,
)
_NOT_NAMES = _YES | _NO | {"the", "a", "an", "and", "is", "my", "i", "to", "for", "book", "appointment",
                           "what", "sorry", "hello", "hi", "um", "uh"}
MORNING_CUTOFF_HOUR = 8  # a bare hour before this one means the afternoon (the clinic opens at 8)
FUZZY_CHOICE_MIN = 0.75  # difflib ratio for a spoken choice to match an allowed value


def _words(text: str) -> list[str]:
    return re.findall(r"\d+(?:st|nd|rd|th)?|[a-z]+", text.lower().replace("'", ""))


def parse_digits(text: str) -> str:
    """Digits spoken or written one by one ("four two seven", "4-2-7", "double five", "forty two")."""
    out: list[str] = []
    words = re.findall(r"\d+|[a-z]+", text.lower().replace("'", ""))
    repeat = 1
    i = 0
    while i < len(words):
        word = words[i]
        if word.isdigit():
            out.append(word * repeat)
            repeat = 1
        elif word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
        elif word in _TENS:
            value = _TENS[word]
            if i + 1 < len(words) and words[i + 1] in _NUMBER_WORDS and 0 < _NUMBER_WORDS[words[i + 1]] < 10:
                value += _NUMBER_WORDS[words[i + 1]]
                i += 1
            out.append(str(value))
        elif word in _NUMBER_WORDS and not (word == "o" and not out):
            out.append(str(_NUMBER_WORDS[word]) * repeat)
            repeat = 1
        i += 1
    return "".join(out)


def _ordinal_day(words: Sequence[str], i: int) -> tuple[int, int] | None:
    """A day of month at words[i]: "14", "14th", "fourteenth", "twenty first"; (day, words used)."""
    word = words[i]
    if m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", word):
        day = int(m.group(1))
        return (day, 1) if 1 <= day <= 31 else None
    if word in _ORDINALS:
        return _ORDINALS[word], 1
    if word in ("twenty", "thirty") and i + 1 < len(words) and words[i + 1] in _ORDINALS:
        day = _TENS[word] + _ORDINALS[words[i + 1]]
        return (day, 2) if day <= 31 else None
    if word in _NUMBER_WORDS and 1 <= _NUMBER_WORDS[word] <= 19:
        return _NUMBER_WORDS[word], 1
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, today: date) -> date | None:
    """A day from "tomorrow", "next Tuesday", "March the 14th", "the 14th of March", "3/14"."""
    lowered = text.lower()
    if "day after tomorrow" in lowered:
        return today + timedelta(days=2)
    if re.search(r"\btomorrow\b", lowered):
        return today + timedelta(days=1)
    if re.search(r"\btoday\b", lowered):
        return today
    if m := re.search(r"\b(\d{1,2})/(\d{1,2})\b", lowered):
        found = _safe_date(today.year, int(m.group(1)), int(m.group(2)))
        if found and found < today:
            found = _safe_date(today.year + 1, int(m.group(1)), int(m.group(2)))
        return found
    words = [w for w in _words(text) if w not in ("the", "of", "on")]
    for i, word in enumerate(words):
        if (word in _MONTHS and word not in ("may",)) or (word == "may" and i + 1 < len(words)):
            month = _MONTHS[word]
            after = _ordinal_day(words, i + 1) if i + 1 < len(words) else None
            before = _ordinal_day(words, i - 1) if i > 0 else None
            day = after or before
            if day is None:
                continue
            found = _safe_date(today.year, month, day[0])
            if found and found < today:
                found = _safe_date(today.year + 1, month, day[0])
            return found
    for word in words:
        if word in _WEEKDAYS:
            ahead = (_WEEKDAYS[word] - today.weekday()) % 7 or 7  # "next Tuesday": the coming one
            return today + timedelta(days=ahead)
    for i, word in enumerate(words):
        compound = word in ("twenty", "thirty") and i + 1 < len(words) and words[i + 1] in _ORDINALS
        if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)", word) or word in _ORDINALS or compound:
            day = _ordinal_day(words, i)
            if day is None:
                continue
            found = _safe_date(today.year, today.month, day[0])
            if found and found < today:
                month = today.month % 12 + 1
                found = _safe_date(today.year + (today.month == 12), month, day[0])
            return found
    return None


def parse_time(text: str) -> str | None:
    """A time of day as "10 AM" / "2:30 PM" from "ten a.m.", "2:30", "half past two", "noon"."""
    lowered = text.lower().replace(".", "")
    if re.search(r"\b(?:noon|midday)\b", lowered):
        return "12 PM"
    meridiem = None
    if re.search(r"\b(?:am|in the morning)\b", lowered) or re.search(r"\d\s*am\b", lowered):
        meridiem = "AM"
    if re.search(r"\b(?:pm|in the afternoon|in the evening)\b", lowered) or re.search(r"\d\s*pm\b", lowered):
        meridiem = "PM"
    hour = minute = None
    if m := re.search(r"\b(\d{1,2})(?::(\d{2}))?\s*(?:am|pm|o\s*clock|oclock)?\b", lowered):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
    else:
        words = _words(lowered)
        half = "half past" in lowered or "half passed" in lowered
        quarter = "quarter past" in lowered
        for i, word in enumerate(words):
            if word in _NUMBER_WORDS and 1 <= _NUMBER_WORDS[word] <= 12 and word not in ("o", "oh"):
                hour, minute = _NUMBER_WORDS[word], 30 if half else 15 if quarter else 0
                nxt = words[i + 1] if i + 1 < len(words) else ""
                if nxt in _TENS and _TENS[nxt] < 60:
                    minute = _TENS[nxt]
                elif nxt in _NUMBER_WORDS and 10 <= _NUMBER_WORDS[nxt] < 60:
                    minute = _NUMBER_WORDS[nxt]
                break
    if hour is None or not 0 <= hour <= 23 or not 0 <= (minute or 0) <= 59:
        return None
    if hour > 12:
        meridiem, hour = "PM", hour - 12
    if meridiem is None:
        meridiem = "PM" if 1 <= hour < MORNING_CUTOFF_HOUR or hour == 12 else "AM"
    return f"{hour}:{minute:02d} {meridiem}" if minute else f"{hour} {meridiem}"


def parse_yes_no(text: str) -> bool | None:
    words = set(_words(text))
    if "dont" in words or ("not" in words and "right" in words):
        return False
    yes, no = bool(words & _YES), bool(words & _NO)
    if yes != no:
        return yes
    if re.search(r"\bthat'?s (?:right|correct|it)\b", text.lower()):
        return True
    return None


def parse_person_name(text: str) -> str | None:
    """A caller's name from "my name is Jane Doe", "it's Jane Doe", "Jane Doe"."""
    cleaned = _NAME_PREFIXES.sub("", text.strip()).strip(" .,!?")
    cleaned = re.sub(r"[.,!?].*$", "", cleaned)
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'\-]*", cleaned)]
    if not 1 <= len(words) <= 4 or any(w.lower() in _NOT_NAMES for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def parse_choice(text: str, choices: Sequence[str]) -> str | None:
    lowered = text.lower()
    for choice in choices:
        if re.search(rf"\b{re.escape(choice.lower())}\b", lowered):
            return choice
    lowered_choices = [c.lower() for c in choices]
    best = difflib.get_close_matches(lowered.strip(" .!?"), lowered_choices, n=1, cutoff=FUZZY_CHOICE_MIN)
    if best:
        return next(c for c in choices if c.lower() == best[0])
    return None


def extract(spec: Mapping[str, Any], text: str, today: date) -> Any | None:
    """The slot value ``spec`` (a script slot) finds in ``text``, or None."""
    kind = spec.get("type", "text")
    if kind == "digits":
        digits = parse_digits(text)
        low, high = int(spec.get("min_length", 1)), int(spec.get("max_length", 64))
        return digits if digits and low <= len(digits) <= high else None
    if kind == "date":
        found = parse_date(text, today)
        return found.isoformat() if found else None
    if kind == "time":
        return parse_time(text)
    if kind == "person_name":
        return parse_person_name(text)
    if kind == "yes_no":
        return parse_yes_no(text)
    if kind == "choice":
        return parse_choice(text, spec.get("choices") or [])
    stripped = text.strip()
    return stripped or None


def format_value(value: Any, style: str | None) -> str:
    """A value as the agent should say it: ``digits`` one by one, ``date`` in words."""
    if value is None:
        return ""
    if style == "digits":
        return " ".join(str(value))
    if style == "date":
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{calendar.day_name[day.weekday()]}, {calendar.month_name[day.month]} {day.day}"
    return str(value)
