"""The calls list query on a real SQLite store: NULL-aware keyset scans and deep-page bookmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy import inspect as sa_inspect

from engine.calls import listing
from engine.store import CALL_SORTS, Call, TranscriptEntry, iso, make_engine, migrate, sqlite_url

ORG = "org-a"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _row(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    obj = model.model_validate(values)
    return {a.columns[0].key: getattr(obj, a.key) for a in sa_inspect(model).mapper.column_attrs}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[dict[str, Any]]]]:
    db = make_engine(sqlite_url(Path(tmp_path_factory.mktemp("store")) / "calls.db"))
    migrate(db)
    rnd = random.Random(3)
    calls = []
    for i in range(700):
        answered = rnd.random() < 0.6
        initiated = START + timedelta(minutes=i * 7 + rnd.randint(0, 3))
        calls.append(_row(Call, {
            "organization_id": ORG if i % 10 else "org-b",
            "status": rnd.choice(["completed", "failed", "no_answer"]),
            "from_number": f"+1415555{i:04d}", "to_number": "+14155550100",
            "initiated_at": initiated, "created_at": initiated,
            "answered_at": initiated + timedelta(seconds=5) if answered else None,
            "ended_at": initiated + timedelta(seconds=60) if rnd.random() < 0.8 else None,
            "duration_seconds": rnd.randint(1, 30) if answered else None,  # many ties
        }))
    entries = [_row(TranscriptEntry, {"organization_id": c["organization_id"], "call_id": c["id"],
                                      "source": "user", "text": "please refund me" if n % 3 else "hello"})
               for n, c in enumerate(calls)]
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), calls)  # type: ignore[attr-defined]
        conn.execute(insert(TranscriptEntry.__table__), entries)  # type: ignore[attr-defined]
    yield db, [c for c in calls if c["organization_id"] == ORG]
    db.dispose()


def expected(calls: list[dict[str, Any]], sort_by: str, order: str) -> list[str]:
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[sort_by]
        value = iso(value) if isinstance(value, datetime) else value
        return (value is not None, value if value is not None else 0, row["id"])
    return [r["id"] for r in sorted(calls, key=key, reverse=order == "desc")]


def page(db: Engine, f: listing.CallFilter, sort_by: str, order: str, offset: int, limit: int) -> list[str]:
    with db.connect() as conn:
        where = listing.conditions(conn, f)
        position, rest = listing.POSITIONS.locate(conn, f, where, sort_by, order, offset,
                                                  listing.generation(conn))
        return [k[1] for k in listing.scan(conn, f, where, sort_by, order, position=position,
                                           offset=rest, limit=limit)]


@pytest.mark.parametrize("sort_by", CALL_SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_deep_pages_through_bookmarks(store: tuple[Engine, list[dict[str, Any]]], sort_by: str,
                                      order: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db, calls = store
    monkeypatch.setattr(listing, "POSITION_STEP", 37)
    listing.POSITIONS.clear()
    f = listing.CallFilter(ORG)
    want = expected(calls, sort_by, order)
    for offset in (0, 36, 37, 38, 200, 111, 500, 620, len(want) - 3, len(want), len(want) + 80):
        assert page(db, f, sort_by, order, offset, 9) == want[offset:offset + 9], offset


@pytest.mark.parametrize("sort_by", ["initiated_at", "duration_seconds"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_walk_with_filters(store: tuple[Engine, list[dict[str, Any]]], sort_by: str,
                                  order: str) -> None:
    db, calls = store
    since, until = START + timedelta(days=1), START + timedelta(days=2)
    f = listing.CallFilter(ORG, statuses=("completed", "failed"), since=since, until=until, q="refund")
    with db.connect() as conn:
        ids_with_refund = {c["id"] for n, c in enumerate(calls)} & {
            row[0] for row in conn.exec_driver_sql(
                "SELECT call_id FROM transcript_fts WHERE transcript_fts MATCH 'refund'")}
        wanted = [c for c in calls if c["status"] in ("completed", "failed")
                  and since <= c["initiated_at"] < until and c["id"] in ids_with_refund]
        where = listing.conditions(conn, f)
        walked: list[str] = []
        position = None
        while True:
            keys = listing.scan(conn, f, where, sort_by, order, position=position, offset=0, limit=4)
            walked += [k[1] for k in keys]
            if len(keys) < 4:
                break
            position = keys[-1]
        assert walked == expected(wanted, sort_by, order)
        assert listing.count(conn, f, where, listing.generation(conn)) == len(wanted)


def test_positions_are_dropped_when_a_call_is_added(store: tuple[Engine, list[dict[str, Any]]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = store
    monkeypatch.setattr(listing, "POSITION_STEP", 4)
    listing.POSITIONS.clear()
    f = listing.CallFilter("org-b")  # the other organization: the other tests' rows stay as they are
    before = page(db, f, "initiated_at", "desc", 30, 5)
    assert len(before) == 5
    newest = _row(Call, {"organization_id": "org-b", "status": "completed",
                         "initiated_at": START + timedelta(days=365)})
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), [newest])  # type: ignore[attr-defined]
    after = page(db, f, "initiated_at", "desc", 30, 5)
    assert after[1:] == before[:4]
