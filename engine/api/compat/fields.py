"""Switchboard's call fields in the forms the platforms use: dollars, IVR menu matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MICRO_PER_USD = 1_000_000  # costs are stored in micro-USD (engine.calls.costs)
CURRENCY = "USD"


def usd(micro: int | None) -> float | None:
    """A stored cost in US dollars (the platforms show costs as a plain number)."""
    return None if micro is None else micro / MICRO_PER_USD


def menu_match(raw: Mapping[str, Any] | str) -> dict[str, Any]:
    """One IVR menu match as ``{menuItemId, menuItemLabel, confidence, matchedText}``.

    Calls store matches as ``{digit, label}`` (live) or ``{digit, option}`` (demo history); a
    key press is an exact match (confidence 1.0); a spoken match carries its own confidence."""
    if isinstance(raw, str):
        return {"menuItemId": None, "menuItemLabel": raw, "confidence": None, "matchedText": None}
    digit = raw.get("digit")
    label = raw.get("label") or raw.get("option") or raw.get("menu_item_label")
    confidence = raw.get("confidence")
    if confidence is None and digit is not None:
        confidence = 1.0
    matched = raw.get("matched_text") or raw.get("phrase") or digit
    return {"menuItemId": raw.get("menu_item_id") or digit, "menuItemLabel": label,
            "confidence": confidence, "matchedText": matched}


def final_selection(raw: Any, matches: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The final menu selection (stored as a label, or as a match) in the match shape."""
    if raw is None:
        return None
    if isinstance(raw, str):
        for match in reversed(matches):
            if match["menuItemLabel"] == raw:
                return dict(match)
    if isinstance(raw, (str, Mapping)):
        return menu_match(raw)
    return None


__all__ = ["CURRENCY", "final_selection", "menu_match", "usd"]
