"""Whose clock a lead's calling hours follow: the lead's own time zone, else the one its number's
region has (``phonenumbers``), else the campaign's."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

ZONES_CACHED = 4096  # distinct (number prefix) lookups kept; a 10,000-lead list has a few hundred


@lru_cache(maxsize=ZONES_CACHED)
def number_zone(number: str) -> str | None:
    """The one time zone ``number``'s region is in, or None (unknown, or several: a mobile
    number of a country that spans zones)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    found = {z for z in number_zones.time_zones_for_number(parsed) if z != "Etc/Unknown"}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=ZONES_CACHED)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def lead_zone(lead_timezone: str | None, number: str, campaign_timezone: str) -> ZoneInfo:
    """The zone a lead is called in: its own, its number's region's, or the campaign's."""
    for name in (lead_timezone, number_zone(number), campaign_timezone):
        if name:
            found = _zone(name)
            if found is not None:
                return found
    return ZoneInfo("UTC")


__all__ = ["lead_zone", "number_zone"]
