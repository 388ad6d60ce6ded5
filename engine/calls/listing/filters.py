"""What a calls list is narrowed by: a ``CallFilter`` and the WHERE clauses it becomes.

Searches (SQLite): full text and number substrings (three characters or more) are FTS5 tables
whose rowid is the call's ``seq``, so a match is a set of integers read from the index alone. Few
matches are fetched by seq and sorted; many are tested row by row while walking the sort index.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Select, func, literal_column, or_, select, text, true

from engine.calls.listing.tables import CALL, TAG, Key, generation
from engine.store.timeutil import iso

TRIGRAM_MIN = 3  # the trigram index answers substrings of three characters or more
# A search matching at most this many calls is answered from their seqs (index lookups and a small
# sort); more matches are dense enough that walking the sort index, testing each row's seq against
# the matched set, finds a page at once.
MATCH_IDS_MAX = 2000
# Matched sets at least this large are kept for MATCH_TTL_S (or until a call is added): fetching
# the 233,540 rowids of a common word costs ~60 ms on the reference machine, testing one row 0.3 us.
MATCH_CACHE_MIN = 20_000
MATCH_TTL_S = 30.0  # as long as the bookmarks (POSITION_TTL_S) that were laid over the set
_MATCH_CACHE_SIZE = 8
MATCH_FUNCTION = "sb_call_matched"  # SQL function: is this seq in the current search's matches

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
    include_tests: bool = False  # test calls (is_test) are left out unless asked for
    is_test: bool | None = None  # True: test calls only; False: none (as by default)
    transport: str | None = None
    type: str | None = None
    outcome: str | None = None
    sentiment: str | None = None
    disconnect_reason: str | None = None
    tag: str | None = None
    has_recording: bool | None = None

    @property
    def untallied(self) -> bool:
        """Whether a filter narrows by a column the ``call_count`` tables do not hold."""
        return any(getattr(self, name) is not None for name in UNTALLIED)

    @property
    def tests(self) -> str:
        """Which calls of the list are test calls: ``only``, ``none`` or ``all``. A ``type``
        of test_call asks for them."""
        if self.is_test is not None:
            return "only" if self.is_test else "none"
        return "all" if self.include_tests or self.type == "test_call" else "none"


# Filters that no tally answers: with any of them, a total is counted over an index
UNTALLIED = ("transport", "type", "outcome", "sentiment", "disconnect_reason", "tag",
             "has_recording")


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


class MatchCache:
    """Recent large sets of matched call seqs per search, dropped after a TTL or a new call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, int, frozenset[int]]] = {}

    def get(self, key: tuple[str, str], generation: int) -> frozenset[int] | None:
        with self._lock:
            hit = self._entries.get(key)
        if hit is None or hit[1] != generation or time.monotonic() - hit[0] > MATCH_TTL_S:
            return None
        return hit[2]

    def put(self, key: tuple[str, str], generation: int, seqs: frozenset[int]) -> None:
        with self._lock:
            if len(self._entries) >= _MATCH_CACHE_SIZE:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (time.monotonic(), generation, seqs)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


MATCHES = MatchCache()

_SEARCHES = {  # kind -> the statement listing the seqs of the calls that match :m
    "text": "SELECT rowid FROM call_text_fts WHERE call_text_fts MATCH :m",
    "number": "SELECT rowid FROM call_numbers_fts WHERE call_numbers_fts MATCH :m",
}


def _matched(conn: Connection, kind: str, match: str) -> frozenset[int]:
    """The seqs of every call (of any organization) the search matches."""
    gen = generation(conn)
    cached = MATCHES.get((kind, match), gen)
    if cached is not None:
        return cached
    raw = conn.connection.driver_connection
    if raw is not None and hasattr(raw, "execute"):  # sqlite3: skip SQLAlchemy's row processing
        seqs = frozenset(r[0] for r in raw.execute(_SEARCHES[kind].replace(":m", "?"), (match,)))
    else:
        seqs = frozenset(conn.execute(text(_SEARCHES[kind]), {"m": match}).scalars())
    if len(seqs) >= MATCH_CACHE_MIN:
        MATCHES.put((kind, match), gen, seqs)
    return seqs


class Where(list[ColumnElement[bool]]):
    """A filter's WHERE clauses, with what was learnt building them: the seqs its searches matched
    and, per sort, whether its time range is walked (see ``time_conditions``)."""

    matched: frozenset[int] | None = None
    tests_left_out: bool = False  # a clause leaves the organization's test calls out

    def __init__(self, clauses: Sequence[ColumnElement[bool]] = ()) -> None:
        super().__init__(clauses)
        self.walks: dict[str, bool] = {}


def has_test_calls(conn: Connection, organization_id: str) -> bool:
    """Whether the organization has any test call (one probe of the test calls' index)."""
    c = CALL.c
    return conn.execute(select(literal_column("1")).select_from(CALL).where(
        c.organization_id == organization_id, c.is_test == true()).limit(1)).first() is not None


_TEST_SEQS: dict[str, tuple[int, frozenset[int]]] = {}  # organization -> (generation, seqs)
_TEST_SEQS_LOCK = threading.Lock()


def test_call_seqs(conn: Connection, organization_id: str) -> frozenset[int]:
    """The seqs of the organization's test calls (from their own index), kept until a call is
    added (a call is a test call or not from its insert on)."""
    gen = generation(conn)
    with _TEST_SEQS_LOCK:
        hit = _TEST_SEQS.get(organization_id)
    if hit is not None and hit[0] == gen and gen:
        return hit[1]
    c = CALL.c
    seqs = frozenset(conn.execute(select(c.seq).where(c.organization_id == organization_id,
                                                      c.is_test == true())).scalars())
    with _TEST_SEQS_LOCK:
        _TEST_SEQS[organization_id] = (gen, seqs)
    return seqs


def conditions(conn: Connection, f: CallFilter) -> Where:
    """The WHERE clauses of a filter, but for its time range (see ``time_conditions``).

    On SQLite, searches yield the seqs of the matching calls (rowids of the search tables). Few
    matches become ``seq IN (...)``; many become a test of each walked row's seq against the set,
    through a function registered on this connection (``MATCH_FUNCTION``)."""
    c = CALL.c
    where = Where([c.organization_id == f.organization_id])
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
    for name in ("transport", "type", "outcome", "sentiment", "disconnect_reason"):
        value = getattr(f, name)
        if value is not None:
            where.append(c[name] == value)
    if f.has_recording is not None:
        where.append(c.recording_path.is_not(None) if f.has_recording else c.recording_path.is_(None))
    if f.tag is not None:
        where.append(c.id.in_(select(TAG.c.call_id).where(TAG.c.organization_id == f.organization_id,
                                                          TAG.c.tag == f.tag)))
    if f.tests == "only":
        where.append(c.is_test == true())
    leave_out = f.tests == "none" and has_test_calls(conn, f.organization_id)
    sqlite = conn.dialect.name == "sqlite"
    found: list[frozenset[int]] = []
    if f.number:
        needle = f.number.strip()
        if sqlite and len(needle) >= TRIGRAM_MIN:
            found.append(_matched(conn, "number", '"' + needle.replace('"', '""') + '"'))
        else:
            pattern = f"%{_like_escape(needle)}%"
            where.append(or_(c.from_number.like(pattern, escape="\\"),
                             c.to_number.like(pattern, escape="\\")))
    if f.q:
        query = fts_query(f.q)
        if sqlite and query is not None:
            found.append(_matched(conn, "text", query))
        else:
            entries: Select[Any] = select(literal_column("call_id")).select_from(
                text("transcript_entry")).where(
                text("transcript_entry.text ILIKE :q_like").bindparams(q_like=f"%{_like_escape(f.q)}%"))
            where.append(c.id.in_(entries))
    if found:
        seqs = found[0] if len(found) == 1 else frozenset.intersection(*found)
        if leave_out:  # the matches without the test calls: no other clause needed
            seqs = seqs - test_call_seqs(conn, f.organization_id)
            leave_out = False
        if len(seqs) <= MATCH_IDS_MAX:
            # Few matches: fetch them by seq and sort those, rather than walk a sort index. The
            # unary + keeps SQLite off the organization-led indexes.
            where[0] = cast(ColumnElement[bool], text(
                '+"call".organization_id = :org_scope').bindparams(org_scope=f.organization_id))
            where.append(c.seq.in_(sorted(seqs)))
        else:
            conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
                MATCH_FUNCTION, 1, seqs.__contains__)
            where.append(func.coalesce(getattr(func, MATCH_FUNCTION)(c.seq), False).is_(True))
        where.matched = seqs
    if leave_out:
        # by seq, which every sort index carries: the walk reads no row to leave them out
        where.append(c.seq.not_in(select(c.seq).where(c.organization_id == f.organization_id,
                                                       c.is_test == true())))
        where.tests_left_out = True
    return where


def time_conditions(f: CallFilter, sort_by: str | None = None, order: str = "desc",
                    position: Key | None = None, *,
                    walk: bool = False) -> list[ColumnElement[bool]]:
    """The ``since``/``until`` clauses. When a scan on ``initiated_at`` starts from a position
    inside the range, the bound behind it is implied by the keyset condition and left out: SQLite
    would otherwise seek by that bound and walk every row up to the position. With ``walk`` the
    clauses test each row of another sort's index (which carries initiated_at) instead of leading
    SQLite to seek by time and sort every row in the range."""
    since, until = f.since, f.until
    if position is not None and sort_by == "initiated_at" and isinstance(position[0], str):
        if order == "desc" and until is not None and position[0] < str(iso(until)):
            until = None
        if order == "asc" and since is not None and position[0] >= str(iso(since)):
            since = None
    column: Any = CALL.c.initiated_at
    if walk:
        column = literal_column('+"call".initiated_at', type_=CALL.c.initiated_at.type)
    out: list[ColumnElement[bool]] = []
    if since is not None:
        out.append(column >= since)
    if until is not None:
        out.append(column < until)
    return out


__all__ = ["MATCHES", "MATCH_CACHE_MIN", "MATCH_FUNCTION", "MATCH_IDS_MAX", "MATCH_TTL_S", "TRIGRAM_MIN",
           "UNTALLIED", "CallFilter", "MatchCache", "Where", "conditions", "fts_query", "time_conditions"]
