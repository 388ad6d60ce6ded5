"""Fictional people and phone numbers for the demo data.

Every number is in the North American 555-0100..0199 block, which is set aside for fiction, so no
demo call ever names a real subscriber.
"""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Noah", "Fatima", "Liam",
    "Sofia", "Ethan", "Hana", "Lucas", "Amara", "Daniel", "Grace", "Omar", "Chloe", "Ravi",
    "Emma", "Diego", "Yuki", "Samuel", "Nora", "Kwame", "Isabel", "Tomás", "Leah", "Arjun",
    "Zoe", "Malik", "Elena", "Ben", "Ingrid", "Felix", "Mei", "Jonah", "Camila", "Victor",
)
LAST_NAMES = (
    "Lopez", "Carter", "Okafor", "Wang", "Brennan", "Rossi", "Patel", "Kim", "Haddad", "Murphy",
    "Novak", "Schmidt", "Tanaka", "Silva", "Mensah", "Fischer", "Nguyen", "Cohen", "Dubois",
    "Iyer", "Walsh", "Moreno", "Sato", "Adeyemi", "Larsen", "Kowalski", "Reyes", "Hughes",
    "Bauer", "Ortiz", "Becker", "Ali", "Sullivan", "Park", "Costa", "Fraser",
)
AREA_CODES = ("212", "312", "415", "617", "646", "702", "206", "303", "512", "404", "305", "503")


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def fictional_number(rng: random.Random) -> str:
    """An E.164 number in a fictional 555-01xx block of a real area code."""
    return f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"


def unique_numbers(rng: random.Random, count: int, avoid: set[str] | None = None) -> list[str]:
    """``count`` distinct fictional numbers, none of them in ``avoid``."""
    taken = set(avoid or ())
    out: list[str] = []
    capacity = len(AREA_CODES) * 100 - len(taken)
    if count > capacity:
        raise ValueError(f"only {capacity} fictional numbers are available, asked for {count}")
    while len(out) < count:
        number = fictional_number(rng)
        if number not in taken:
            taken.add(number)
            out.append(number)
    return out


__all__ = ["AREA_CODES", "FIRST_NAMES", "LAST_NAMES", "fictional_number", "person_name",
           "unique_numbers"]
