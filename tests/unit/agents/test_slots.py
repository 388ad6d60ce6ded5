from __future__ import annotations

from datetime import date

import pytest

from engine.agents.matching import best_intent
from engine.agents.slots import (
    format_value,
    parse_date,
    parse_digits,
    parse_person_name,
    parse_time,
    parse_yes_no,
)
from engine.agents.template import fill

MONDAY = date(2025, 3, 10)


@pytest.mark.parametrize(("said", "digits"), [
    ("My order number is 4 2 7 1 5.", "42715"),
    ("four two seven one five", "42715"),
    ("4-2-7-1-5", "42715"),
    ("double five three oh", "5530"),
    ("forty two", "42"),
])
def test_digits(said: str, digits: str) -> None:
    assert parse_digits(said) == digits


@pytest.mark.parametrize(("said", "day"), [
    ("tomorrow", date(2025, 3, 11)),
    ("next Tuesday", date(2025, 3, 11)),
    ("Friday please", date(2025, 3, 14)),
    ("March the 14th", date(2025, 3, 14)),
    ("the 14th of March", date(2025, 3, 14)),
    ("on the twenty first", date(2025, 3, 21)),
    ("the 3rd", date(2025, 4, 3)),
    ("January 5th", date(2026, 1, 5)),
    ("whenever", None),
])
def test_dates(said: str, day: date | None) -> None:
    assert parse_date(said, MONDAY) == day


@pytest.mark.parametrize(("said", "time"), [
    ("10 a.m.", "10 AM"), ("ten in the morning", "10 AM"), ("half past two", "2:30 PM"),
    ("at 3", "3 PM"), ("noon", "12 PM"), ("14:00", "2 PM"), ("two thirty pm", "2:30 PM"), ("soon", None),
])
def test_times(said: str, time: str | None) -> None:
    assert parse_time(said) == time


def test_names_yes_no_and_formats() -> None:
    assert parse_person_name("My name is jane doe.") == "Jane Doe"
    assert parse_person_name("yes") is None
    assert parse_yes_no("Yeah, that's right") is True
    assert parse_yes_no("no, it's wrong") is False
    assert parse_yes_no("hmm") is None
    assert format_value("42715", "digits") == "4 2 7 1 5"
    assert format_value("2025-03-11", "date") == "Tuesday, March 11"
    order = {"order": {"id": "12", "status": "late"}}
    assert fill("Order {order.id:digits} is {order.status}.{missing}", order) == "Order 1 2 is late."


def test_intents_by_keyword_pattern_and_fuzzy_example() -> None:
    intents = [
        {"name": "hours", "keywords": ["open", "hours"]},
        {"name": "refund", "patterns": [r"money back"], "examples": ["I want a refund for my purchase"]},
    ]
    assert best_intent("what are your hours", intents).name == "hours"  # type: ignore[union-attr]
    assert best_intent("can I get my money back", intents).name == "refund"  # type: ignore[union-attr]
    assert best_intent("I want a refnd for my purchse", intents).name == "refund"  # type: ignore[union-attr]
    assert best_intent("the weather is nice", intents) is None
