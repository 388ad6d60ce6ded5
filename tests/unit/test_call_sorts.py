"""The calls list's column sorts (status, direction, from number, agent, cost) on a real SQLite
store full of ties and missing agents: every page of a keyset walk, an offset walk through deep
bookmarks, and a filtered walk hold each call exactly once, in order, read from the sort's index."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy import inspect as sa_inspect

from engine.calls import listing
from engine.store import CALL_SORTS, Call, iso, make_engine, migrate, sqlite_url

ORG = "org-sorts"
START = datetime(2026, 3, 1, tzinfo=UTC)
COLUMN_SORTS = ("status", "direction", "from_number", "agent_id", "cost_total_micro_usd")
CALLS = 400
PAGE = 7


def _row(values: dict[str, Any]) -> dict[str, Any]:
    obj = Call.model_validate(values)
    return {a.columns[0].key: getattr(obj, a.key) for a in sa_inspect(Call).mapper.column_attrs}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[dict[str, Any]]]]:
    db = make_engine(sqlite_url(Path(tmp_path_factory.mktemp("sorts")) / "calls.db"))
    migrate(db)
    rnd = random.Random(11)
    calls = []
    for i in range(CALLS):
        initiated = START + timedelta(minutes=i * 5)
        calls.append(_row({
            "organization_id": ORG if i % 8 else "org-other",
            "status": rnd.choice(["completed", "failed", "busy"]),  # ~130 calls each
            "direction": rnd.choice(["inbound", "outbound"]),
            "from_number": rnd.choice(["+14155550100", "+14155550101", "web:visitor-1", ""]),
            "agent_id": rnd.choice(["agent-a", "agent-b", None]),  # a third have no agent
            "cost_total_micro_usd": rnd.choice([0, 0, 1200, 2500]),
            "initiated_at": initiated, "created_at": initiated,
        }))
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), calls)  # type: ignore[attr-defined]
    yield db, [c for c in calls if c["organization_id"] == ORG]
    db.dispose()


def expected(calls: list[dict[str, Any]], sort_by: str, order: str) -> list[str]:
    """SQLite's order: NULLs first ascending, last descending; ties broken by id."""
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[sort_by]
        value = iso(value) if isinstance(value, datetime) else value
        return (value is not None, value if value is not None else "", row["id"])
    return [r["id"] for r in sorted(calls, key=key, reverse=order == "desc")]


def keyset_walk(db: Engine, f: listing.CallFilter, sort_by: str, order: str) -> list[str]:
    walked: list[str] = []
    position = None
    with db.connect() as conn:
        where = listing.conditions(conn, f)
        while True:
            keys = listing.scan(conn, f, where, sort_by, order, position=position, offset=0,
                                limit=PAGE)
            walked += [k[1] for k in keys]
            if len(keys) < PAGE:
                return walked
            position = keys[-1]


def test_the_column_sorts_are_list_sorts() -> None:
    assert set(COLUMN_SORTS) <= set(CALL_SORTS)


@pytest.mark.parametrize("sort_by", COLUMN_SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_pages_through_ties_hold_each_call_once(store: tuple[Engine, list[dict[str, Any]]],
                                                       sort_by: str, order: str) -> None:
    db, calls = store
    walked = keyset_walk(db, listing.CallFilter(ORG), sort_by, order)
    assert len(walked) == len(set(walked)) == len(calls)
    assert walked == expected(calls, sort_by, order)


@pytest.mark.parametrize("sort_by", COLUMN_SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_offset_pages_from_bookmarks_hold_each_call_once(store: tuple[Engine, list[dict[str, Any]]],
                                                         sort_by: str, order: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db, calls = store
    monkeypatch.setattr(listing.pages, "POSITION_STEP", 19)  # bookmarks land inside runs of ties
    listing.POSITIONS.clear()
    f = listing.CallFilter(ORG)
    seen: list[str] = []
    with db.connect() as conn:
        where = listing.conditions(conn, f)
        for offset in range(0, len(calls) + PAGE, PAGE):
            position, rest = listing.POSITIONS.locate(conn, f, where, sort_by, order, offset,
                                                      listing.generation(conn))
            seen += [k[1] for k in listing.scan(conn, f, where, sort_by, order, position=position,
                                                offset=rest, limit=PAGE)]
    assert seen == expected(calls, sort_by, order)


@pytest.mark.parametrize("sort_by", COLUMN_SORTS)
def test_filtered_walk_keeps_order(store: tuple[Engine, list[dict[str, Any]]], sort_by: str) -> None:
    db, calls = store
    since, until = START + timedelta(hours=4), START + timedelta(hours=20)
    f = listing.CallFilter(ORG, statuses=("completed", "busy"), direction="inbound", since=since,
                           until=until)
    wanted = [c for c in calls if c["status"] in ("completed", "busy")
              and c["direction"] == "inbound" and since <= c["initiated_at"] < until]
    assert wanted
    assert keyset_walk(db, f, sort_by, "asc") == expected(wanted, sort_by, "asc")


@pytest.mark.parametrize("sort_by", COLUMN_SORTS)
def test_each_sort_reads_its_covering_index(store: tuple[Engine, list[dict[str, Any]]],
                                            sort_by: str) -> None:
    """A page is read from ``ix_call_<sort>`` alone (no table rows, no temporary sort), which is
    what keeps it fast over a big store."""
    db, _ = store
    column = Call.__table__.c[sort_by]  # type: ignore[attr-defined]
    with db.connect() as conn:
        f = listing.CallFilter(ORG)
        where = listing.conditions(conn, f)
        stmt = select(Call.__table__.c.id, column).where(*where).order_by(  # type: ignore[attr-defined]
            column.desc(), Call.__table__.c.id.desc()).limit(PAGE)  # type: ignore[attr-defined]
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert f"USING COVERING INDEX ix_call_{sort_by}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
