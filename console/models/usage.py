"""Usage rows of ``GET /v1/usage`` arranged for the chart and the table (plain Python)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

KINDS = ("stt", "llm", "tts", "telephony")
KIND_LABELS = {"stt": "Speech to text", "llm": "Language model", "tts": "Text to speech",
               "telephony": "Telephony"}
MAX_DAILY_BARS = 45  # beyond this many days the chart shows weeks, so its labels stay readable


@dataclass
class UsageTable:
    """Cost per period and kind (micro-USD), quantities per kind, and the grand totals."""

    periods: list[date] = field(default_factory=list)
    first: date | None = None  # the days the chart spans, both included
    last: date | None = None
    weekly: bool = False
    cost: dict[str, list[int]] = field(default_factory=dict)  # kind -> cost per period
    daily: list[dict[str, Any]] = field(default_factory=list)  # one row per day, newest first
    totals: dict[str, int] = field(default_factory=dict)  # kind -> cost
    quantities: dict[str, tuple[float, str]] = field(default_factory=dict)  # kind -> (quantity, unit)

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def span_days(self) -> int:
        return (self.last - self.first).days + 1 if self.first and self.last else 0


def period_start(days: int | None, today: date) -> date | None:
    """The first day of "the last ``days`` days", today being the last of them (None: all time)."""
    return today - timedelta(days=days - 1) if days else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def arrange(rows: list[dict[str, Any]], first: date | None = None,
            last: date | None = None) -> UsageTable:
    """The API's rows by day and kind, on a chart spanning ``first`` to ``last`` (by default the
    first and last days with usage); days without usage are zero bars."""
    table = UsageTable()
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    quantities: dict[str, float] = defaultdict(float)
    units: dict[str, str] = {}
    for row in rows:
        day = _day(row.get("day"))
        kind = str(row.get("kind", ""))
        if day is None or not kind:
            continue
        by_day[day][kind] = by_day[day].get(kind, 0) + int(row.get("cost_micro_usd") or 0)
        quantities[kind] += float(row.get("quantity") or 0)
        units.setdefault(kind, str(row.get("unit") or ""))
    kinds = [k for k in KINDS if any(d.get(k) for d in by_day.values())] + sorted(
        {k for d in by_day.values() for k in d if k not in KINDS and d[k]})
    table.totals = {k: sum(d.get(k, 0) for d in by_day.values()) for k in kinds}
    table.quantities = {k: (quantities[k], units.get(k, "")) for k in kinds}
    days = sorted(by_day)
    table.daily = [{"day": d.isoformat(), **{k: by_day[d].get(k, 0) for k in kinds},
                    "total": sum(by_day[d].get(k, 0) for k in kinds)} for d in reversed(days)]
    if not days:
        return table
    table.first = min(first or days[0], days[0])
    table.last = max(last or days[-1], days[-1])
    table.weekly = table.span_days > MAX_DAILY_BARS
    buckets: dict[date, dict[str, int]] = {}
    for offset in range(table.span_days):
        d = table.first + timedelta(days=offset)
        key = d - timedelta(days=d.weekday()) if table.weekly else d
        bucket = buckets.setdefault(key, dict.fromkeys(kinds, 0))
        for k in kinds:
            bucket[k] += by_day[d].get(k, 0) if d in by_day else 0
    table.periods = sorted(buckets)
    table.cost = {k: [buckets[p][k] for p in table.periods] for k in kinds}
    return table
