"""The calls list query on a real SQLite store: NULL-aware keyset scans and deep-page bookmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
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
    monkeypatch.setattr(listing.pages, "POSITION_STEP", 37)
    listing.POSITIONS.clear()
    f = listing.CallFilter(ORG)
    want = expected(calls, sort_by, order)
    for offset in (0, 36, 37, 38, 200, 111, 500, 620, len(want) - 3, len(want), len(want) + 80):
        assert page(db, f, sort_by, order, offset, 9) == want[offset:offset + 9], offset


@pytest.mark.parametrize("plan", ["few", "walk"])  # search by seq list, or walk the sort index
@pytest.mark.parametrize("sort_by", ["initiated_at", "duration_seconds"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_walk_with_filters(store: tuple[Engine, list[dict[str, Any]]], sort_by: str,
                                  order: str, plan: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db, calls = store
    if plan == "walk":
        monkeypatch.setattr(listing.filters, "MATCH_IDS_MAX", 0)
        monkeypatch.setattr(listing.pages, "RANGE_SORT_MAX", 0)
    since, until = START + timedelta(days=1), START + timedelta(days=2)
    f = listing.CallFilter(ORG, statuses=("completed", "failed"), since=since, until=until, q="refund")
    with db.connect() as conn:
        ids_with_refund = {c["id"] for n, c in enumerate(calls)} & {
            row[0] for row in conn.exec_driver_sql(
                "SELECT c.id FROM call_text_fts AS f JOIN call AS c ON c.seq = f.rowid "
                "WHERE call_text_fts MATCH 'refund'")}
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
    monkeypatch.setattr(listing.pages, "POSITION_STEP", 4)
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


@pytest.mark.parametrize("plan", ["few", "walk"])  # walk: each row's seq tested against the set
@pytest.mark.parametrize("sort_by", ["initiated_at", "ended_at"])
def test_searches_page_and_count(store: tuple[Engine, list[dict[str, Any]]], sort_by: str, plan: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db, calls = store
    if plan == "walk":
        monkeypatch.setattr(listing.filters, "MATCH_IDS_MAX", 0)
        monkeypatch.setattr(listing.pages, "POSITION_STEP", 23)
    listing.POSITIONS.clear()
    with db.connect() as conn:
        refund = {row[0] for row in conn.exec_driver_sql(
            "SELECT call_id FROM transcript_entry WHERE text LIKE '%refund%'")}
    for f, keep in (
        (listing.CallFilter(ORG, q="refund"), lambda c: c["id"] in refund),
        (listing.CallFilter(ORG, number="5550"), lambda c: True),
        (listing.CallFilter(ORG, number="55502", q="refu", statuses=("completed",)),
         lambda c: c["id"] in refund and c["status"] == "completed" and "55502" in c["from_number"]),
    ):
        want = expected([c for c in calls if keep(c)], sort_by, "desc")
        assert want
        for offset in (0, 5, 40, len(want) - 2):
            assert page(db, f, sort_by, "desc", offset, 7) == want[offset:offset + 7], (f, offset)
        with db.connect() as conn:
            where = listing.conditions(conn, f)
            assert listing.count(conn, f, where, listing.generation(conn)) == len(want), f


def test_counts_table_follows_inserts_updates_and_deletes(tmp_path: Path) -> None:
    db = make_engine(sqlite_url(tmp_path / "counts.db"))
    migrate(db)
    rows = [_row(Call, {"organization_id": org, "status": status, "direction": direction,
                        "agent_id": agent, "initiated_at": START})
            for org in ("o1", "o2") for status in ("completed", "failed")
            for direction in ("inbound", "outbound") for agent in (None, "a1", "a2")]
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), rows)  # type: ignore[attr-defined]
        conn.exec_driver_sql("UPDATE call SET status = 'busy' WHERE agent_id = 'a1'")
        conn.exec_driver_sql("UPDATE call SET agent_id = 'a9' WHERE agent_id IS NULL AND "
                             "direction = 'inbound'")
        conn.exec_driver_sql("DELETE FROM call WHERE agent_id = 'a2' AND status = 'failed'")
    filters = [listing.CallFilter(org, statuses=statuses, direction=direction, agent_id=agent)
               for org in ("o1", "o2", "o3") for statuses in ((), ("busy",), ("completed", "failed"))
               for direction in (None, "outbound") for agent in (None, "a1", "a9")]
    with db.connect() as conn:
        for f in filters:
            where = listing.conditions(conn, f)
            tallied = listing.count(conn, f, where, listing.generation(conn))
            counted = conn.execute(select(func.count()).select_from(Call).where(*where)).scalar_one()
            assert tallied == counted, f
    db.dispose()


def test_upgrade_from_the_first_schema_fills_seq_search_and_counts(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS_DIR

    db = make_engine(sqlite_url(tmp_path / "old.db"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    calls = [_row(Call, {"organization_id": ORG, "status": "completed",
                         "from_number": f"+1212555{i:04d}", "initiated_at": START + timedelta(minutes=i)})
             for i in range(30)]
    for call in calls:
        del call["seq"], call["tags"]  # not columns yet
    entries = [_row(TranscriptEntry, {"organization_id": ORG, "call_id": c["id"], "index": n,
                                      "source": "user", "text": word})
               for i, c in enumerate(calls) for n, word in enumerate(("hello", f"word{i % 3}"))]
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), calls)  # type: ignore[attr-defined]
        conn.execute(insert(TranscriptEntry.__table__), entries)  # type: ignore[attr-defined]
    migrate(db)
    listing.MATCHES.clear()
    with db.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT seq FROM call ORDER BY rowid")] == list(
            range(1, 31))
        f = listing.CallFilter(ORG, q="hello word1")
        assert listing.count(conn, f, listing.conditions(conn, f), listing.generation(conn)) == 10
        f = listing.CallFilter(ORG, number="5550007")
        keys = listing.scan(conn, f, listing.conditions(conn, f), "initiated_at", "desc",
                            position=None, offset=0, limit=5)
        assert [k[1] for k in keys] == [calls[7]["id"]]
        f = listing.CallFilter(ORG, statuses=("completed",))
        assert listing.count(conn, f, listing.conditions(conn, f), 0) == 30
    with db.begin() as conn:  # the triggers keep it current after the upgrade
        conn.execute(insert(TranscriptEntry.__table__), [_row(TranscriptEntry, {  # type: ignore[attr-defined]
            "organization_id": ORG, "call_id": calls[0]["id"], "index": 2, "source": "agent",
            "text": "zebra"})])
    with db.connect() as conn:
        f = listing.CallFilter(ORG, q="hello zebra")
        keys = listing.scan(conn, f, listing.conditions(conn, f), "initiated_at", "desc",
                            position=None, offset=0, limit=5)
        assert [k[1] for k in keys] == [calls[0]["id"]]
    db.dispose()


def test_time_range_totals_from_days_and_partial_days(tmp_path: Path) -> None:
    db = make_engine(sqlite_url(tmp_path / "days.db"))
    migrate(db)
    rnd = random.Random(5)
    rows = [_row(Call, {"organization_id": "o1", "status": rnd.choice(["completed", "busy"]),
                        "direction": rnd.choice(["inbound", "outbound"]),
                        "initiated_at": START + timedelta(minutes=rnd.randint(0, 60 * 24 * 9))})
            for _ in range(400)]
    rows.append(_row(Call, {"organization_id": "o1", "status": "queued"}))  # not initiated yet
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), rows)  # type: ignore[attr-defined]
        conn.exec_driver_sql("UPDATE call SET initiated_at = '2026-01-03T05:00:00.000000Z', "
                             "status = 'ringing' WHERE status = 'queued'")
        conn.exec_driver_sql("DELETE FROM call WHERE rowid % 17 = 0")
    hour = timedelta(hours=1)
    ranges = [(START + 30 * hour + timedelta(seconds=7), START + 150 * hour + timedelta(minutes=5)),
              (START + 48 * hour, START + 96 * hour), (None, START + 100 * hour),
              (START + 13 * hour, None), (START + 50 * hour, START + 60 * hour)]
    with db.connect() as conn:
        for since, until in ranges:
            for statuses, direction in (((), None), (("busy",), "outbound"), (("ringing",), None)):
                f = listing.CallFilter("o1", statuses=statuses, direction=direction, since=since,
                                       until=until)
                where = listing.conditions(conn, f)
                counted = conn.execute(select(func.count()).select_from(Call).where(
                    *where, *listing.time_conditions(f))).scalar_one()
                assert listing.count(conn, f, where, listing.generation(conn)) == counted, f
                assert (listing.counts.days(conn, f) is None) == ((since, until) == ranges[-1])
    db.dispose()


def test_test_calls_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    db = make_engine(sqlite_url(tmp_path / "tests.db"))
    migrate(db)
    rnd = random.Random(9)
    rows = [_row(Call, {"organization_id": "o1", "status": rnd.choice(["completed", "busy"]),
                        "is_test": i % 7 == 0, "type": "test_call" if i % 7 == 0 else "phone_call",
                        "initiated_at": START + timedelta(minutes=rnd.randint(0, 60 * 24 * 5))})
            for i in range(300)]
    entries = [_row(TranscriptEntry, {"organization_id": "o1", "call_id": c["id"], "source": "user",
                                      "text": "refund please"}) for c in rows[::2]]
    with db.begin() as conn:
        conn.execute(insert(Call.__table__), rows)  # type: ignore[attr-defined]
        conn.execute(insert(TranscriptEntry.__table__), entries)  # type: ignore[attr-defined]
    real = [r for r in rows if not r["is_test"]]
    filters = [{}, {"statuses": ("busy",)}, {"q": "refund"},
               {"since": START + timedelta(hours=30), "until": START + timedelta(hours=100)},
               # bounds inside a day, open on one side: the time compares as the stored text does
               {"since": START + timedelta(hours=100, minutes=17)},
               {"until": START + timedelta(hours=50, minutes=3)},
               {"since": START + timedelta(hours=20, minutes=41), "statuses": ("busy",)}]
    with db.connect() as conn:
        for fields in filters:
            for include in (False, True):
                f = listing.CallFilter("o1", include_tests=include, **fields)
                where = listing.conditions(conn, f)
                keys = listing.scan(conn, f, where, "initiated_at", "desc", position=None, offset=0,
                                     limit=400)
                counted = listing.count(conn, f, where, listing.generation(conn))
                walked = {k[1] for k in keys}
                tests = {r["id"] for r in rows if r["is_test"]}
                assert counted == len(walked), (fields, include)
                assert bool(walked & tests) == include, (fields, include)
        f = listing.CallFilter("o1")
        assert listing.count(conn, f, listing.conditions(conn, f), listing.generation(conn)) == len(real)
    db.dispose()
