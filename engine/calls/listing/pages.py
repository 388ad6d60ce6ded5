"""A page of a calls list: keyset scans of the sort indexes, deep-page bookmarks, and the rows.

Every list is answered in two steps (a deferred join): first the page's ids are read in sort
order from an index with a keyset condition and a short ``OFFSET`` (``scan``), then only those rows
are fetched with their agent's name (``summaries``). The sort indexes ``(organization_id, <sort>,
id)`` also carry initiated_at, status, direction and seq, so a sorted walk filtered by those reads
the index alone; filters on agent, campaign or number id on the default sort use
``(organization_id, <filter>, initiated_at, id)``. Deep pages start from bookmarks (``Positions``)
instead of skipping hundreds of thousands of index entries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select, tuple_

from engine.calls.listing.filters import CallFilter, time_conditions
from engine.calls.listing.tables import AGENT, CALL, Key
from engine.calls.serialize import SUMMARY_COLUMNS, summary_row
from engine.store.timeutil import iso

# A time range holding at most this many calls is read through the initiated_at index and sorted;
# a wider one is filtered while walking the sort index (which carries initiated_at).
RANGE_SORT_MAX = 5000


def _walk_range(conn: Connection, f: CallFilter, where: Sequence[ColumnElement[bool]],
                sort_by: str) -> bool:
    """Whether a time range is wide enough that walking the sort index beats sorting the range
    (decided once per sort for a ``Where``)."""
    if sort_by == "initiated_at" or (f.since is None and f.until is None):
        return False
    walks = getattr(where, "walks", None)
    if walks is not None and sort_by in walks:
        return bool(walks[sort_by])
    probe = select(CALL.c.id).where(*where, *time_conditions(f)).limit(RANGE_SORT_MAX + 1)
    size = conn.execute(select(func.count()).select_from(probe.subquery())).scalar_one()
    wide = int(size) > RANGE_SORT_MAX
    if walks is not None:
        walks[sort_by] = wide
    return wide


def _stored(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def _ordered(stmt: Select[Any], column: Any, order: str, by_id_only: bool = False) -> Select[Any]:
    ids = CALL.c.id
    if by_id_only:
        return stmt.order_by(ids.desc() if order == "desc" else ids.asc())
    if order == "desc":
        return stmt.order_by(column.desc(), ids.desc())
    return stmt.order_by(column.asc(), ids.asc())


def _regions(order: str) -> tuple[str, str]:
    """SQLite puts NULLs first when ascending and last when descending."""
    return ("null", "value") if order == "asc" else ("value", "null")


def _after(column: Any, order: str, position: Key) -> tuple[str, ColumnElement[bool]]:
    """The region of a position and the keyset condition for the rows after it in that region.

    Row-value comparisons seek in the index; NULL rows are a region of their own, so no ``OR``
    (which would turn the seek into a scan) is ever needed."""
    value, ident = position
    ids = CALL.c.id
    if value is None:
        return "null", and_(column.is_(None), ids < ident if order == "desc" else ids > ident)
    if order == "desc":
        return "value", tuple_(column, ids) < tuple_(value, ident)
    return "value", tuple_(column, ids) > tuple_(value, ident)


def scan(conn: Connection, f: CallFilter, where: Sequence[ColumnElement[bool]], sort_by: str,
         order: str, *, position: Key | None, offset: int, limit: int) -> list[Key]:
    """Up to ``limit`` (sort value, id) pairs in order, ``offset`` rows past ``position`` (or past
    the start), read from the covering index."""
    column = CALL.c[sort_by]
    walk = _walk_range(conn, f, where, sort_by)
    where = [*where, *time_conditions(f, sort_by, order, position, walk=walk)]
    base = select(CALL.c.id, column).where(*where)
    if position is None:
        stmt = _ordered(base, column, order).limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        return [(_stored(r[1]), r[0]) for r in conn.execute(stmt)]
    regions = _regions(order)
    region, condition = _after(column, order, position)
    out: list[Key] = []
    for name in regions[regions.index(region):]:
        if name != region:
            condition = column.is_(None) if name == "null" else column.is_not(None)
        stmt = _ordered(base.where(condition), column, order, by_id_only=name == "null")
        got = [(_stored(r[1]), r[0]) for r in
               conn.execute(stmt.limit(limit - len(out)).offset(offset or None))]
        out.extend(got)
        if len(out) >= limit:
            break
        if got:
            offset = 0
        elif offset:  # the region had no more than ``offset`` rows: skip them
            size = conn.execute(select(func.count()).select_from(
                select(CALL.c.id).where(*where, condition).limit(offset).subquery())).scalar_one()
            offset -= int(size)
    return out


POSITION_STEP = 1000  # a bookmark every this many rows: a deep page skips fewer than this
POSITION_TTL_S = 30.0
_POSITION_CACHE_SIZE = 64


@dataclass
class _Marks:
    generation: int
    stamp: float
    keys: list[Key]  # keys[i]: the row at offset (i + 1) * POSITION_STEP - 1
    complete: bool = False


class Positions:
    """Bookmarks into a sorted, filtered list, so a deep ``page`` costs a seek plus a short skip.

    ``OFFSET n`` walks n index entries on every request (measured: 67 ms at n = 500,000 on the
    reference machine). The first deep request lays a bookmark every ``POSITION_STEP`` rows on its
    way; later requests at any depth up to there start from the nearest one. Bookmarks are dropped
    when a call is added or after ``POSITION_TTL_S``; between those, rows whose sort value or
    status changes may shift a deep page by a few rows, as any offset paging over live data does
    (the keyset ``cursor`` is the exact way through a changing list)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[CallFilter, str, str], _Marks] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def locate(self, conn: Connection, f: CallFilter, where: Sequence[ColumnElement[bool]],
               sort_by: str, order: str, offset: int, generation: int) -> tuple[Key | None, int]:
        """The bookmark to start from and the rows still to skip after it."""
        if offset < POSITION_STEP:
            return None, offset
        key = (f, sort_by, order)
        now = time.monotonic()
        with self._lock:
            marks = self._entries.get(key)
        if marks is None or marks.generation != generation or now - marks.stamp > POSITION_TTL_S:
            marks = _Marks(generation, now, [])
        wanted = offset // POSITION_STEP
        keys = list(marks.keys)
        complete = marks.complete
        while len(keys) < wanted and not complete:
            got = scan(conn, f, where, sort_by, order, position=keys[-1] if keys else None,
                       offset=POSITION_STEP - 1, limit=1)
            if got:
                keys.append(got[0])
            else:
                complete = True
        if len(keys) > len(marks.keys) or complete != marks.complete:
            with self._lock:
                if len(self._entries) >= _POSITION_CACHE_SIZE:
                    self._entries.pop(next(iter(self._entries)))
                self._entries[key] = _Marks(marks.generation, marks.stamp, keys, complete)
        depth = min(wanted, len(keys))
        if depth == 0:
            return None, offset
        return keys[depth - 1], offset - depth * POSITION_STEP


POSITIONS = Positions()


def summaries(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The list rows of these calls, in the order given, with their agent's name."""
    if not ids:
        return []
    cols = [CALL.c[name] for name in SUMMARY_COLUMNS]
    stmt = (
        select(*cols, AGENT.c.name.label("agent_name"))
        .select_from(CALL.outerjoin(AGENT, AGENT.c.id == CALL.c.agent_id))
        .where(CALL.c.id.in_(list(ids)))
    )
    by_id = {row.id: summary_row(cast(Mapping[str, Any], row._mapping), row.agent_name)
             for row in conn.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


__all__ = ["POSITIONS", "POSITION_STEP", "POSITION_TTL_S", "RANGE_SORT_MAX", "Positions", "scan",
           "summaries"]
