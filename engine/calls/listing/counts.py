"""How many calls a filter matches: the total shown above a calls list.

Equality filters (status, direction, agent, campaign, phone number) are summed from
``call_count``, kept by triggers, so they are exact and O(1); a time range with at most status and
direction from ``call_count_day`` plus its two partial days; a search alone is the size of its
matched set; the rest (time ranges with other filters, short number substrings, combinations with
a search) are counted over an index and kept briefly per organization and filter set when large.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Result, Select, func, select, text, true
from sqlalchemy.sql.compiler import SQLCompiler

from engine.calls.listing.filters import TRIGRAM_MIN, CallFilter, conditions, time_conditions
from engine.calls.listing.tables import CALL
from engine.store.calls import TEST_CALLS_INDEX

# Totals of filters that call_count cannot answer: counting costs ~1 ms per 100k index entries
# (measured on the reference machine); below this a total is always exact, above it a total may be
# up to COUNT_TTL_S old.
COUNT_CACHE_MIN = 20_000
COUNT_TTL_S = 5.0
_COUNT_CACHE_SIZE = 256


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


def _tallied(conn: Connection, f: CallFilter) -> int | None:
    """The total from ``call_count`` (one row per organization, status, direction, agent, campaign
    and number, kept by triggers) when the filter has no time range or search: exact and O(1)."""
    if conn.dialect.name != "sqlite" or f.since or f.until or f.q or f.number or f.untallied:
        return None
    clauses = ["organization_id = :org"]
    params: dict[str, Any] = {"org": f.organization_id}
    if f.statuses:
        names = [f"s{i}" for i in range(len(f.statuses))]
        clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, f.statuses, strict=True))
    for column in ("direction", "agent_id", "campaign_id", "phone_number_id"):
        value = getattr(f, column)
        if value:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    stmt = text(f"SELECT coalesce(sum(calls), 0) FROM call_count WHERE {' AND '.join(clauses)}")
    return int(conn.execute(stmt, params).scalar_one())


def days(conn: Connection, f: CallFilter) -> int | None:
    """The total of a time range (with at most a status and direction filter) from
    ``call_count_day``: whole days summed from the table, the partial days at either end counted
    over the initiated_at index (a day is ~2,700 calls in the benchmark store)."""
    if (conn.dialect.name != "sqlite" or f.q or f.number or f.agent_id or f.campaign_id
            or f.phone_number_id or f.untallied or (f.since is None and f.until is None)):
        return None
    first = _day_start(f.since, up=True) if f.since is not None else None
    end = _day_start(f.until, up=False) if f.until is not None else None
    if first is not None and end is not None and first >= end:
        return None  # under two days: counted over the index as it is
    clauses = ["organization_id = :org", "day != ''"]
    params: dict[str, Any] = {"org": f.organization_id}
    if first is not None:
        clauses.append("day >= :first")
        params["first"] = first.strftime("%Y-%m-%d")
    if end is not None:
        clauses.append("day < :end")
        params["end"] = end.strftime("%Y-%m-%d")
    if f.statuses:
        names = [f"s{i}" for i in range(len(f.statuses))]
        clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, f.statuses, strict=True))
    if f.direction:
        clauses.append("direction = :direction")
        params["direction"] = f.direction
    stmt = text(f"SELECT coalesce(sum(calls), 0) FROM call_count_day WHERE {' AND '.join(clauses)}")
    total = int(conn.execute(stmt, params).scalar_one())
    base = conditions(conn, CallFilter(f.organization_id, statuses=f.statuses, direction=f.direction,
                                       include_tests=True))  # as the day table counts
    edges = []
    if f.since is not None and first is not None and f.since < first:
        edges.append((f.since, first))
    if f.until is not None and end is not None and end < f.until:
        edges.append((end, f.until))
    for lo, hi in edges:
        total += int(conn.execute(select(func.count()).select_from(CALL).where(
            *base, CALL.c.initiated_at >= lo, CALL.c.initiated_at < hi)).scalar_one())
    return total


def _day_start(moment: datetime, *, up: bool) -> datetime:
    """The start of the UTC day of ``moment``; with ``up``, of the next day unless it is one."""
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1) if up and start < moment else start


def _alone(conn: Connection, organization_id: str) -> bool:
    """Whether no other organization has calls (so a search's matches are all this one's)."""
    other = conn.execute(text("SELECT 1 FROM call_count WHERE organization_id != :org AND calls > 0 "
                              "LIMIT 1"), {"org": organization_id}).first()
    return other is None


def _test_calls(conn: Connection, f: CallFilter, matched: frozenset[int] | None) -> int:
    """How many of the calls the filter matches (test calls included) are test calls; a
    search's ``matched`` seqs, when known, are intersected with the test calls' seqs."""
    searches_as_sets = matched is not None and (f.number is None or len(f.number) >= TRIGRAM_MIN)
    base = replace(f, include_tests=True, is_test=None, q=None, number=None) \
        if searches_as_sets else replace(f, include_tests=True, is_test=None)
    where = [*conditions(conn, base), *time_conditions(f), CALL.c.is_test == true()]
    if searches_as_sets:
        assert matched is not None
        seqs = _on_test_calls(conn, select(CALL.c.seq).where(*where)).scalars()
        return sum(1 for seq in seqs if seq in matched)
    return int(_on_test_calls(conn, select(func.count()).select_from(CALL).where(*where))
               .scalar_one())


def _on_test_calls(conn: Connection, stmt: Select[Any]) -> Result[Any]:
    """``stmt`` over the test calls' index: SQLite would otherwise walk the filter's own index
    over every call, where the test calls' index holds the few there are with the filter's
    columns. (SQLAlchemy renders no table hint for SQLite.)"""
    if conn.dialect.name != "sqlite":
        return conn.execute(stmt)
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    sql = re.sub(r"\bFROM call(?=\s)", f"FROM call INDEXED BY {TEST_CALLS_INDEX}", compiled.string,
                 count=1)
    params = compiled.construct_params()
    values = tuple(_bound(compiled, conn, name, params[name]) for name in compiled.positiontup or ())
    return conn.exec_driver_sql(sql, values)


def _bound(compiled: SQLCompiler, conn: Connection, name: str, value: Any) -> Any:
    """A parameter as the statement itself would send it: through its column type's bind
    processing (a time becomes the stored ISO text, not sqlite3's own "YYYY-MM-DD HH:MM:SS").
    An expanded IN parameter (``name_1``) is typed as the parameter it came from."""
    bind = compiled.binds.get(name)
    if bind is None:
        bind = compiled.binds.get(name.rpartition("_")[0])
    process = bind.type.bind_processor(conn.dialect) if bind is not None else None
    return process(value) if process is not None else value


def count(conn: Connection, f: CallFilter, where: Sequence[ColumnElement[bool]],
          generation: int) -> int:
    """How many calls match: from ``call_count`` for equality filters, the size of the matched set
    for a search alone, the test calls' own index for test calls only, else counted over an
    index (and cached when large)."""
    seqs = getattr(where, "matched", None)
    if f.tests == "only":  # few: counted over their partial index, whatever the filter
        return _test_calls(conn, f, seqs)
    tallied = _tallied(conn, f)
    if tallied is None:
        tallied = days(conn, f)
    only_search = not (f.untallied or f.statuses or f.direction or f.agent_id or f.campaign_id
                       or f.phone_number_id or f.since or f.until) and (
        f.number is None or len(f.number) >= TRIGRAM_MIN)
    if tallied is None and seqs is not None and only_search and _alone(conn, f.organization_id):
        tallied = len(seqs)
    if tallied is not None:  # the tables and the matches count test calls too
        left_out = getattr(where, "tests_left_out", False)
        return tallied - (_test_calls(conn, f, seqs) if left_out else 0)
    cached = COUNTS.get(f, generation)
    if cached is not None:
        return cached
    where = [*where, *time_conditions(f)]
    total = int(conn.execute(select(func.count()).select_from(CALL).where(*where)).scalar_one())
    if total >= COUNT_CACHE_MIN:
        COUNTS.put(f, generation, total)
    return total


__all__ = ["COUNTS", "COUNT_CACHE_MIN", "COUNT_TTL_S", "CountCache", "count", "days"]
