"""Number plans of simulated callees: what answers a dialled number (pure data, no SIP).

A behaviour per number: a persona (answers after a ring and plays the persona's steps), a
voicemail box (a spoken greeting, a beep, then silence while it records), busy (486), no
answer (rings until the caller cancels), or a fast answer (picks up at once, sends silence and
hangs up after a fixed time: a peer for load, costing the callee side almost nothing). A plan
maps numbers to behaviours, and may add a rule for a range: a number in it that is not listed
gets the behaviour of its last digit, so any campaign lead in the range is answered the same
way every time. Numbers are compared by their
digits (``+1 (202) 555-0101``, ``12025550101`` and ``+12025550101`` are one number).

The default plan uses the North American numbers reserved for fiction, 555-0100 to 555-0199
(NANPA): named ones in area code 202, and any ``+1 NPA 555 01XX`` by its last digit.

A custom plan is a mapping of number to behaviour, each a :data:`Behaviour` or a word::

    {"+15550100001": "persona:order_status",   # or just "order_status"
     "+15550100002": "voicemail",
     "+15550100003": "busy",
     "+15550100004": "no_answer",
     "+15550100005": "fast_answer"}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# What the voicemail box says before its beep (espeak-ng), in a voice apart from the personas'
# en-gb and the demo agents' en-us / en-gb-x-rp ones
VOICEMAIL_GREETING = ("Hi, you've reached the voicemail of Alex Morgan. I'm not available "
                      "right now. Please leave a message after the tone.")
VOICEMAIL_VOICE = "en-us+m3"
VOICEMAIL_RATE = 165
# Answering machines beep at about 1 kHz for about half a second
BEEP_HZ = 1000.0
BEEP_S = 0.5
# A voicemail box takes a message this long at most, then hangs up
VOICEMAIL_LIMIT_S = 60.0
# Rings before a pick-up: a person takes a moment, a voicemail box a few rings
PERSONA_RING_S = 1.0
VOICEMAIL_RING_S = 2.0
# A fast answer hangs up this long after picking up: about a short "yes, got it" call, long
# enough for the caller's agent to start its greeting
FAST_HANGUP_S = 1.5


@dataclass(frozen=True)
class PersonaAnswer:
    """Answers after ``ring_s`` and plays the persona ``persona`` (resources/personas)."""

    persona: str
    ring_s: float = PERSONA_RING_S

    @property
    def name(self) -> str:
        return self.persona


@dataclass(frozen=True)
class Voicemail:
    """Answers after ``ring_s``, says ``greeting``, beeps, then records until the caller hangs
    up or ``limit_s`` is over."""

    greeting: str = VOICEMAIL_GREETING
    voice: str = VOICEMAIL_VOICE
    rate: int = VOICEMAIL_RATE
    ring_s: float = VOICEMAIL_RING_S
    limit_s: float = VOICEMAIL_LIMIT_S
    name: str = field(default="voicemail", init=False)


@dataclass(frozen=True)
class Busy:
    """486 Busy Here."""

    name: str = field(default="busy", init=False)


@dataclass(frozen=True)
class NoAnswer:
    """180 Ringing, and never an answer: until the caller cancels."""

    name: str = field(default="no_answer", init=False)


@dataclass(frozen=True)
class FastAnswer:
    """200 OK at once (no ring), silence sent while up, hung up after ``hangup_s``: a peer that
    answers load cheaply (no recogniser, no speech rendered)."""

    hangup_s: float = FAST_HANGUP_S
    name: str = field(default="fast_answer", init=False)

    def __post_init__(self) -> None:
        if not self.hangup_s > 0:
            raise ValueError(f"hangup_s: expected more than 0 seconds, got {self.hangup_s}")


Behaviour = PersonaAnswer | Voicemail | Busy | NoAnswer | FastAnswer
BEHAVIOUR_WORDS = ("voicemail", "busy", "no_answer", "fast_answer", "persona:<name>",
                   "<persona name>")


def digits(number: str) -> str:
    """The number's digits, in order (what plans compare)."""
    return "".join(ch for ch in number if ch.isdigit())


def behaviour_of(spec: Behaviour | str, where: str = "behaviour") -> Behaviour:
    """A behaviour, or its word: ``voicemail``, ``busy``, ``no_answer``, ``persona:<name>`` or a
    persona's name; ValueError naming ``where``."""
    if isinstance(spec, PersonaAnswer | Voicemail | Busy | NoAnswer | FastAnswer):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{where}: expected one of {', '.join(BEHAVIOUR_WORDS)}, got {spec!r}")
    word = spec.strip()
    fixed: dict[str, Behaviour] = {"voicemail": Voicemail(), "busy": Busy(),
                                   "no_answer": NoAnswer(), "no-answer": NoAnswer(),
                                   "fast_answer": FastAnswer(), "fast-answer": FastAnswer()}
    if word.lower() in fixed:
        return fixed[word.lower()]
    name = word.removeprefix("persona:").strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"{where}: {spec!r} is no behaviour nor persona name; expected one of "
                         f"{', '.join(BEHAVIOUR_WORDS)}")
    return PersonaAnswer(name)


@dataclass(frozen=True)
class RangeRule:
    """Numbers whose digits match ``pattern`` (a full match) get ``by_last_digit[d]``, where
    ``d`` is their last digit."""

    pattern: str
    by_last_digit: tuple[Behaviour, ...]

    def __post_init__(self) -> None:
        if len(self.by_last_digit) != 10:
            raise ValueError(f"by_last_digit: expected 10 behaviours (digits 0-9), got "
                             f"{len(self.by_last_digit)}")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern: {self.pattern!r} is not a regular expression: "
                             f"{exc}") from None

    def behaviour(self, number: str) -> Behaviour | None:
        found = digits(number)
        if not found or re.fullmatch(self.pattern, found) is None:
            return None
        return self.by_last_digit[int(found[-1])]


@dataclass(frozen=True)
class NumberPlan:
    """Who answers which number: ``numbers`` (by digits) first, then ``ranges`` in order; a
    number neither has is unknown (404)."""

    numbers: Mapping[str, Behaviour] = field(default_factory=dict)
    ranges: tuple[RangeRule, ...] = ()

    @classmethod
    def from_mapping(cls, plan: Mapping[str, Behaviour | str], *,
                     ranges: tuple[RangeRule, ...] = ()) -> NumberPlan:
        """A plan of ``number → behaviour`` (a :data:`Behaviour` or its word); ValueError
        naming the number whose entry is wrong."""
        if not isinstance(plan, Mapping):
            raise ValueError(f"plan: expected a mapping of number to behaviour, got "
                             f"{type(plan).__name__}")
        numbers: dict[str, Behaviour] = {}
        for number, spec in plan.items():
            key = digits(str(number))
            if not key:
                raise ValueError(f"plan[{number!r}]: a number needs digits")
            if key in numbers:
                raise ValueError(f"plan[{number!r}]: the same number as another entry")
            numbers[key] = behaviour_of(spec, f"plan[{number!r}]")
        return cls(numbers, ranges)

    def __post_init__(self) -> None:
        for key in self.numbers:
            if key != digits(key) or not key:
                raise ValueError(f"numbers[{key!r}]: keys are digits only (use from_mapping)")

    def behaviour(self, number: str) -> Behaviour | None:
        """What answers ``number``; None: nobody (404)."""
        key = digits(number)
        if key in self.numbers:
            return self.numbers[key]
        for rule in self.ranges:
            found = rule.behaviour(number)
            if found is not None:
                return found
        return None

    def personas(self) -> list[str]:
        """Every persona the plan may play, sorted."""
        behaviours = list(self.numbers.values()) + [b for r in self.ranges
                                                    for b in r.by_last_digit]
        return sorted({b.persona for b in behaviours if isinstance(b, PersonaAnswer)})


# NANPA's fictitious range: any area code, exchange 555, lines 0100-0199
FICTITIOUS_RANGE = r"1\d{3}55501\d\d"
DEMO_AREA = "+1202555"
DEMO_NUMBERS: dict[str, Behaviour | str] = {
    f"{DEMO_AREA}0101": "order_status",
    f"{DEMO_AREA}0102": "appointment_booking",
    f"{DEMO_AREA}0103": "wants_human",
    f"{DEMO_AREA}0104": "interrupter",
    f"{DEMO_AREA}0105": "ivr_presser",
    f"{DEMO_AREA}0106": "silent_caller",
    f"{DEMO_AREA}0110": "voicemail",
    f"{DEMO_AREA}0120": "busy",
    f"{DEMO_AREA}0130": "no_answer",
}
# A campaign's leads in the range, by last digit: mostly people who talk, some voicemail, a
# busy line and one that rings out, as a real list has
DEMO_BY_LAST_DIGIT: tuple[Behaviour, ...] = (
    Voicemail(),                           # 0
    PersonaAnswer("order_status"),         # 1
    PersonaAnswer("appointment_booking"),  # 2
    PersonaAnswer("wants_human"),          # 3
    PersonaAnswer("order_status"),         # 4
    Voicemail(),                           # 5
    Busy(),                                # 6
    PersonaAnswer("interrupter"),          # 7
    NoAnswer(),                            # 8
    PersonaAnswer("appointment_booking"),  # 9
)


def demo_plan() -> NumberPlan:
    """The default plan: :data:`DEMO_NUMBERS`, and any fictitious 555-01XX number by its last
    digit (:data:`DEMO_BY_LAST_DIGIT`)."""
    return NumberPlan.from_mapping(DEMO_NUMBERS,
                                   ranges=(RangeRule(FICTITIOUS_RANGE, DEMO_BY_LAST_DIGIT),))


__all__ = ["BEEP_HZ", "BEEP_S", "DEMO_BY_LAST_DIGIT", "DEMO_NUMBERS", "FAST_HANGUP_S",
           "FICTITIOUS_RANGE", "Behaviour", "Busy", "FastAnswer", "NoAnswer", "NumberPlan",
           "PersonaAnswer", "RangeRule", "Voicemail", "behaviour_of", "demo_plan", "digits"]
