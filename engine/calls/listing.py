"""The calls list query: filters, sorts, counts and pages that stay fast at millions of calls.

Every list is answered in two steps (a deferred join): first the page's ids are read in sort
order from a covering index ``(organization_id, <filter>, <sort>, id)`` with a keyset condition
and a short ``OFFSET``, then only those rows are fetched with their agent's name. Deep pages start
from bookmarks (``Positions``) instead of skipping hundreds of thousands of index entries. Totals
are counted over an index alone and kept briefly per organization and filter set when large,
since counting a million index entries costs more than the page itself. Searches that match few
calls (full text, number substrings) are answered from the matching ids.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)

from engine.calls.serialize import SUMMARY_FIELDS, summary_row
from engine.store import Agent, Call
from engine.store.timeutil import iso

CALL = Call.__table__  # type: ignore[attr-defined]
AGENT = Agent.__table__  # type: ignore[attr-defined]

TRIGRAM_MIN = 3  # the trigram index answers substrings of three characters or more
# A search matching at most this many calls is answered from their ids (primary-key lookups and a
# small sort); more matches are dense enough that walking the sort index finds a page at once.
MATCH_IDS_MAX = 2000
# Counting costs ~1 ms per 100k index entries (measured on the reference machine); below this a
# total is always exact, above it a total may be up to COUNT_TTL_S old.
COUNT_CACHE_MIN = 20_000
COUNT_TTL_S = 5.0
_COUNT_CACHE_SIZE = 256

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class CallFilter:
    """What the caller asked for; every field narrows the list."""

    organization_id: str
    statuses: tuple[str, ...] = ()
    direction: str | None = None
    agent_id: str | None = None
    campaign_id: str | None = None
    phone_number_id: str | None = None
    number: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


def fts_query(text_: str, prefix_last: bool = True) -> str | None:
    """User text as a safe FTS5 query: each word quoted (so no operator syntax leaks through),
    all words required, the last one also matching as a prefix (search as you type)."""
    tokens = _TOKEN.findall(text_)
    if not tokens:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    if prefix_last:
        quoted[-1] += "*"
    return " ".join(quoted)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(conn: Connection, f: CallFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter, but for its time range (see ``time_conditions``)."""
    c = CALL.c
    where: list[ColumnElement[bool]] = [c.organization_id == f.organization_id]
    if len(f.statuses) == 1:
        where.append(c.status == f.statuses[0])
    elif f.statuses:
        where.append(c.status.in_(f.statuses))
    if f.direction:
        where.append(c.direction == f.direction)
    if f.agent_id:
        where.append(c.agent_id == f.agent_id)
    if f.campaign_id:
        where.append(c.campaign_id == f.campaign_id)
    if f.phone_number_id:
        where.append(c.phone_number_id == f.phone_number_id)
    sqlite = conn.dialect.name == "sqlite"
    matches: list[set[str]] = []
    if f.number:
        needle = f.number.strip()
        if sqlite and len(needle) >= TRIGRAM_MIN:
            match = '"' + needle.replace('"', '""') + '"'
            found = text("SELECT DISTINCT call_id FROM call_number_fts WHERE numbers MATCH :m LIMIT :n")
            ids = _few(conn, found.bindparams(m=match, n=MATCH_IDS_MAX + 1))
            if ids is not None:
                matches.append(ids)
            else:
                where.append(c.id.in_(
                    select(literal_column("call_id")).select_from(text("call_number_fts"))
                    .where(text("call_number_fts.numbers MATCH :number_match")
                           .bindparams(number_match=match))
                ))
        else:
            pattern = f"%{_like_escape(needle)}%"
            where.append(or_(c.from_number.like(pattern, escape="\\"),
                             c.to_number.like(pattern, escape="\\")))
    if f.q:
        if sqlite:
            query = fts_query(f.q)
            found = text("SELECT DISTINCT call_id FROM transcript_fts WHERE transcript_fts MATCH :m "
                         "LIMIT :n")
            ids = _few(conn, found.bindparams(m=query, n=MATCH_IDS_MAX + 1))
            if ids is not None:
                matches.append(ids)
            else:
                where.append(c.id.in_(
                    select(literal_column("call_id")).select_from(text("transcript_fts"))
                    .where(text("transcript_fts MATCH :q_match").bindparams(q_match=query))
                ))
        else:
            entries = select(literal_column("call_id")).select_from(text("transcript_entry")).where(
                text("transcript_entry.text ILIKE :q_like").bindparams(q_like=f"%{_like_escape(f.q)}%"))
            where.append(c.id.in_(entries))
    if matches:
        # Few matches: fetch them by primary key and sort those, rather than walk a sort index
        # probing every row. The unary + keeps SQLite off the organization-led indexes.
        ids = set.intersection(*matches)
        where[0] = text('+"call".organization_id = :org_scope').bindparams(org_scope=f.organization_id)
        where.append(c.id.in_(sorted(ids)))
    return where


def time_conditions(f: CallFilter, sort_by: str | None = None, order: str = "desc",
                    position: Key | None = None) -> list[ColumnElement[bool]]:
    """The ``since``/``until`` clauses. When a scan on ``initiated_at`` starts from a position
    inside the range, the bound behind it is implied by the keyset condition and left out: SQLite
    would otherwise seek by that bound and walk every row up to the position."""
    since, until = f.since, f.until
    if position is not None and sort_by == "initiated_at" and isinstance(position[0], str):
        if order == "desc" and until is not None and position[0] < iso(until):
            until = None
        if order == "asc" and since is not None and position[0] >= str(iso(since)):
            since = None
    out: list[ColumnElement[bool]] = []
    if since is not None:
        out.append(CALL.c.initiated_at >= since)
    if until is not None:
        out.append(CALL.c.initiated_at < until)
    return out


def _few(conn: Connection, query: Any) -> set[str] | None:
    """The ids a search query finds when there are at most MATCH_IDS_MAX of them, else None."""
    ids = {row[0] for row in conn.execute(query)}
    return ids if len(ids) <= MATCH_IDS_MAX else None


class CountCache:
    """Recent large totals per filter set, dropped after a TTL or when a call was added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[CallFilter, tuple[float, int, int]] = {}

    def get(self, key: CallFilter, generation: int) -> int | None:
        with self._lock:
            hit = self._entries.get(key)
        if hit is None:
            return None
        stamp, gen, total = hit
        if gen != generation or time.monotonic() - stamp > COUNT_TTL_S:
            return None
        return total

    def put(self, key: CallFilter, generation: int, total: int) -> None:
        with self._lock:
            if len(self._entries) >= _COUNT_CACHE_SIZE:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (time.monotonic(), generation, total)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


COUNTS = CountCache()


def generation(conn: Connection) -> int:
    """Changes whenever a call is inserted (SQLite: the largest rowid, an O(1) lookup)."""
    if conn.dialect.name != "sqlite":
        return 0
    return int(conn.execute(text("SELECT max(rowid) FROM call")).scalar() or 0)


def count(conn: Connection, f: CallFilter, where: Sequence[ColumnElement[bool]],
          generation: int) -> int:
    """How many calls match, answered from the cache when the number is large and recent."""
    cached = COUNTS.get(f, generation)
    if cached is not None:
        return cached
    where = [*where, *time_conditions(f)]
    total = int(conn.execute(select(func.count()).select_from(CALL).where(*where)).scalar_one())
    if total >= COUNT_CACHE_MIN:
        COUNTS.put(f, generation, total)
    return total


Key = tuple[Any, str]  # (sort value as stored, id): a position in a sorted list


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
    where = [*where, *time_conditions(f, sort_by, order, position)]
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
    cols = [CALL.c[name] for name in SUMMARY_FIELDS]
    stmt = (
        select(*cols, AGENT.c.name.label("agent_name"))
        .select_from(CALL.outerjoin(AGENT, AGENT.c.id == CALL.c.agent_id))
        .where(CALL.c.id.in_(list(ids)))
    )
    by_id = {row.id: summary_row(row._mapping, row.agent_name) for row in conn.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


__all__ = ["COUNTS", "POSITIONS", "CallFilter", "Key", "conditions", "count", "fts_query", "generation",
           "scan", "summaries", "time_conditions"]
