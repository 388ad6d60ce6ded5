"""What a generated conversation is: its turns and what the call's analysis will say about it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SENTIMENT_SCORES = {"positive": (7, 10), "neutral": (4, 6), "negative": (0, 3)}


@dataclass
class ToolUse:
    """A tool the agent called during its turn, with arguments and the answer it got."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    ok: bool = True


@dataclass
class Turn:
    source: str  # user | agent | human_agent | system
    text: str
    intent: str | None = None
    tool: ToolUse | None = None
    dtmf: str | None = None  # the caller keyed this instead of speaking
    barge_in: bool = False  # the caller spoke over this agent line
    pause_s: float = 0.0  # silence before this line (the caller on hold during a transfer)


@dataclass
class TransferPlan:
    kind: str  # blind | warm
    reason: str
    succeeds: bool


@dataclass
class Conversation:
    """Turns plus the facts a heuristic analysis would extract from them."""

    turns: list[Turn] = field(default_factory=list)
    outcome: str = "resolved"
    success: bool = True
    sentiment: str = "neutral"
    summary: str = ""
    structured_data: dict[str, Any] = field(default_factory=dict)
    transfer: TransferPlan | None = None
    ended_by: str = "customer"  # customer | agent
    menu_matches: list[dict[str, str]] = field(default_factory=list)

    def agent(self, text: str, **kwargs: Any) -> None:
        self.turns.append(Turn("agent", text, **kwargs))

    def user(self, text: str, **kwargs: Any) -> None:
        self.turns.append(Turn("user", text, **kwargs))


@dataclass
class CallContext:
    """What a conversation may draw on: the caller, the call's time, the campaign's variables."""

    rng: random.Random
    at: datetime
    caller_name: str
    direction: str
    variables: dict[str, Any] = field(default_factory=dict)


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def spoken_digits(digits: str) -> str:
    """How a caller says a number one digit at a time: ``4 2 7 1 9``."""
    return " ".join(digits)


def digit_words(digits: str) -> str:
    """How the agent reads it back: ``four two seven one nine``."""
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def day_phrase(day: datetime) -> str:
    """``Tuesday, March 12``."""
    return f"{day:%A}, {day:%B} {day.day}"


def future_day(ctx: CallContext, lo: int, hi: int, *, weekdays_only: bool = True) -> datetime:
    day = ctx.at + timedelta(days=ctx.rng.randint(lo, hi))
    while weekdays_only and day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


__all__ = ["SENTIMENT_SCORES", "CallContext", "Conversation", "ToolUse", "TransferPlan", "Turn",
           "day_phrase", "digit_words", "future_day", "pick", "spoken_digits"]
