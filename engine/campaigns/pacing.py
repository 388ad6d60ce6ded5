"""Pacing: at most ``calls_per_minute`` dials a minute, spread evenly (pure; no clock).

Dials are spaced ``60 / calls_per_minute`` seconds apart, so any minute (a half-open span of 60
seconds) holds at most ``calls_per_minute`` of them, and a campaign never bursts its whole
minute's share at once (carriers flag bursts). A dial that comes late does not earn a catch-up
burst: the next one is spaced from the late one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Pacer:
    """When the next dial of one campaign may go out."""

    calls_per_minute: int
    last: datetime | None = None

    @property
    def spacing(self) -> timedelta:
        return timedelta(seconds=60.0 / max(self.calls_per_minute, 1))

    def next_at(self) -> datetime | None:
        """The earliest instant the next dial may go (None: now, nothing was dialled yet)."""
        return None if self.last is None else self.last + self.spacing

    def ready(self, now: datetime) -> bool:
        due = self.next_at()
        return due is None or now >= due

    def dialled(self, now: datetime) -> None:
        self.last = now


__all__ = ["Pacer"]
