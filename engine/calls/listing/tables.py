"""The tables the calls list reads, a position in a sorted list of them, and their generation.

Every cache of the list (matched search sets, totals, deep-page bookmarks) is keyed on the
generation, so it is dropped as soon as a call is added.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from engine.store import Agent, Call
from engine.store.calls import CALL_TAG

CALL = Call.__table__  # type: ignore[attr-defined]
AGENT = Agent.__table__  # type: ignore[attr-defined]
TAG = CALL_TAG

Key = tuple[Any, str]  # (sort value as stored, id): a position in a sorted list


def generation(conn: Connection) -> int:
    """Changes whenever a call is inserted (SQLite: the largest rowid, an O(1) lookup)."""
    if conn.dialect.name != "sqlite":
        return 0
    return int(conn.execute(text("SELECT max(rowid) FROM call")).scalar() or 0)


__all__ = ["AGENT", "CALL", "TAG", "Key", "generation"]
