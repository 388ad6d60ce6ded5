"""Pacing: at most ``calls_per_minute`` dials in any minute, spread evenly (pure; no clock).

Dials follow a schedule spaced ``60 / calls_per_minute`` seconds apart, so a campaign never
bursts its minute's share at once (carriers flag bursts). A dial that goes late (the dialer was
busy, or the concurrency cap held it) keeps the schedule as long as it is late by less than
:data:`CATCH_UP` of a spacing (or :data:`CATCH_UP_FLOOR`, whichever is longer), so the work a
dial takes does not slow the pace down; later than that, the schedule starts again from it.
Whatever the schedule says, a dial waits until fewer than ``calls_per_minute`` went out in the
minute before it: the limit holds for any minute.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)
CATCH_UP = 0.5  # of a spacing: how late a dial may be and still keep the schedule
# ... and at least this long: a dialer pass takes 56-76 ms at p50 and 101-114 ms at p95 on the
# 2-core reference machine (bench/campaign.py, 10,000 leads at 600 and 1200 a minute), so at
# 600/min (100 ms apart) half a spacing restarted the schedule on most dials: 551/min was reached
CATCH_UP_FLOOR = timedelta(milliseconds=250)


@dataclass
class Pacer:
    """When the next dial of one campaign may go out."""

    calls_per_minute: int
    slot: datetime | None = None  # the next dial's place in the schedule
    recent: deque[datetime] = field(default_factory=deque)  # the last calls_per_minute dials

    @property
    def spacing(self) -> timedelta:
        return MINUTE / max(self.calls_per_minute, 1)

    def next_at(self) -> datetime | None:
        """The earliest instant the next dial may go (None: now, nothing was dialled yet)."""
        if self.slot is None:
            return None
        limit = max(self.calls_per_minute, 1)
        if len(self.recent) >= limit:
            return max(self.slot, self.recent[-limit] + MINUTE)
        return self.slot

    def ready(self, now: datetime) -> bool:
        due = self.next_at()
        return due is None or now >= due

    def dialled(self, now: datetime) -> None:
        slack = max(self.spacing * CATCH_UP, CATCH_UP_FLOOR)
        base = now if self.slot is None else max(self.slot, now - slack)
        self.slot = base + self.spacing
        self.recent.append(now)
        while len(self.recent) > max(self.calls_per_minute, 1):
            self.recent.popleft()


__all__ = ["CATCH_UP", "CATCH_UP_FLOOR", "Pacer"]
