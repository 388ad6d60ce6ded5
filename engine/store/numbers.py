"""Phone numbers as the store keeps them: E.164."""

from __future__ import annotations

import phonenumbers

E164_HINT = "write it with + and the country code, e.g. +14155550123"


def to_e164(value: str) -> str:
    """``value`` in E.164 form; ValueError in plain words (not the parser's) when it is not a
    phone number."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{value}” is not a phone number: {E164_HINT}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"“{value}” has too few or too many digits for a phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


__all__ = ["E164_HINT", "to_e164"]
