"""The calls list's filters on a real SQLite store: transport, type, test calls, outcome,
sentiment, disconnect reason, recording and tag each narrow the walk and its total exactly,
alone and with the tallied filters and a search; ``call_tag`` follows ``call.tags`` through
inserts, updates and deletes (migration 0008's triggers)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy import inspect as sa_inspect

from engine.calls import listing
from engine.store import Call, TranscriptEntry, make_engine, migrate, sqlite_url
from engine.store.calls import CALL_TAG

ORG = "org-filters"
START = datetime(2026, 2, 1, tzinfo=UTC)
CALL = Call.__table__  # type: ignore[attr-defined]


def _row(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    obj = model.model_validate(values)
    return {a.columns[0].key: getattr(obj, a.key) for a in sa_inspect(model).mapper.column_attrs}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[dict[str, Any]]]]:
    db = make_engine(sqlite_url(Path(tmp_path_factory.mktemp("filters")) / "calls.db"))
    migrate(db)
    rnd = random.Random(5)
    calls = []
    for i in range(300):
        kind = rnd.choice(["phone_call", "phone_call", "web_call", "test_call"])
        initiated = START + timedelta(minutes=i * 11)
        calls.append(_row(Call, {
            "organization_id": ORG if i % 6 else "org-other",
            "type": kind, "transport": "webrtc" if kind == "web_call" else "sip",
            "is_test": kind == "test_call",
            "direction": rnd.choice(["inbound", "outbound"]),
            "status": rnd.choice(["completed", "failed"]),
            "outcome": rnd.choice([None, "resolved", "transferred_to_human"]),
            "sentiment": rnd.choice([None, "positive", "negative"]),
            "disconnect_reason": rnd.choice([None, "caller_hangup", "agent_hangup"]),
            "recording_path": rnd.choice([None, f"/rec/{i}.wav"]),
            "tags": rnd.sample(["vip", "renewal", "late"], rnd.randint(0, 2)),
            "initiated_at": initiated, "created_at": initiated,
        }))
    entries = [_row(TranscriptEntry, {"organization_id": c["organization_id"], "call_id": c["id"],
                                      "source": "user", "text": "refund please" if n % 2 else "hi"})
               for n, c in enumerate(calls)]
    with db.begin() as conn:
        conn.execute(insert(CALL), calls)
        conn.execute(insert(TranscriptEntry.__table__), entries)  # type: ignore[attr-defined]
    for n, c in enumerate(calls):
        c["refund"] = bool(n % 2)
    yield db, [c for c in calls if c["organization_id"] == ORG]
    db.dispose()


def walk(db: Engine, f: listing.CallFilter) -> tuple[list[str], int]:
    """Every id of a keyset walk (pages of 7, newest first) and the filter's total."""
    listing.COUNTS.clear()
    with db.connect() as conn:
        where = listing.conditions(conn, f)
        total = listing.count(conn, f, where, listing.generation(conn))
        ids: list[str] = []
        position = None
        while True:
            keys = listing.scan(conn, f, where, "initiated_at", "desc", position=position, offset=0,
                                limit=7)
            ids += [k[1] for k in keys]
            if len(keys) < 7:
                return ids, total
            position = keys[-1]


def shown(c: dict[str, Any], f: listing.CallFilter) -> bool:
    """Whether the list should show call ``c`` for ``f`` (written out, not by the code under test)."""
    if f.is_test is True and not c["is_test"]:
        return False
    if (f.is_test is False or (f.is_test is None and not f.include_tests
                               and f.type != "test_call")) and c["is_test"]:
        return False
    for name in ("transport", "type", "outcome", "sentiment", "disconnect_reason", "direction"):
        if getattr(f, name) is not None and c[name] != getattr(f, name):
            return False
    if f.statuses and c["status"] not in f.statuses:
        return False
    if f.tag is not None and f.tag not in c["tags"]:
        return False
    if f.has_recording is not None and (c["recording_path"] is not None) != f.has_recording:
        return False
    return not (f.q is not None and not c["refund"])


FILTERS = [
    {"transport": "webrtc"}, {"transport": "sip"}, {"type": "web_call"}, {"type": "test_call"},
    {"is_test": True}, {"is_test": False}, {"include_tests": True},
    {"is_test": True, "statuses": ("completed",)}, {"is_test": True, "q": "refund"},
    {"outcome": "resolved"}, {"outcome": "resolved", "include_tests": True},
    {"sentiment": "negative", "statuses": ("failed",)}, {"disconnect_reason": "agent_hangup"},
    {"has_recording": True}, {"has_recording": False, "direction": "inbound"},
    {"tag": "vip"}, {"tag": "renewal", "q": "refund"}, {"tag": "late", "include_tests": True},
    {"transport": "sip", "type": "phone_call", "outcome": "transferred_to_human"},
    {"statuses": ("completed",), "q": "refund"},
]


@pytest.mark.parametrize("given", FILTERS, ids=lambda g: ",".join(f"{k}={v}" for k, v in g.items()))
def test_each_filter_walks_and_counts_exactly(store: tuple[Engine, list[dict[str, Any]]],
                                              given: dict[str, Any]) -> None:
    db, calls = store
    f = listing.CallFilter(ORG, **given)
    want = [c["id"] for c in sorted(calls, key=lambda c: (c["initiated_at"], c["id"]), reverse=True)
            if shown(c, f)]
    assert want, "the store should exercise this filter"
    ids, total = walk(db, f)
    assert ids == want
    assert total == len(want)


def test_every_filter_field_is_exercised() -> None:
    named = {k for g in FILTERS for k in g}
    assert {f.name for f in fields(listing.CallFilter)} - named - {
        "organization_id", "agent_id", "campaign_id", "phone_number_id", "number", "since",
        "until", "direction"} == set()


def test_call_tag_follows_the_calls_tags(store: tuple[Engine, list[dict[str, Any]]]) -> None:
    db, calls = store

    def tagged(call_id: str) -> set[str]:
        with db.connect() as conn:
            return set(conn.execute(select(CALL_TAG.c.tag).where(CALL_TAG.c.call_id == call_id))
                       .scalars())

    with db.connect() as conn:  # what the insert trigger filled: each call's tags, no more
        pairs = set(conn.execute(select(CALL_TAG.c.call_id, CALL_TAG.c.tag)
                                 .where(CALL_TAG.c.organization_id == ORG)).all())
    assert pairs == {(c["id"], t) for c in calls for t in c["tags"]}
    extra = _row(Call, {"organization_id": ORG, "tags": ["a", "b", "a"],
                        "initiated_at": START, "created_at": START})
    with db.begin() as conn:
        conn.execute(insert(CALL), [extra])
    assert tagged(extra["id"]) == {"a", "b"}
    with db.begin() as conn:
        conn.execute(update(CALL).where(CALL.c.id == extra["id"]).values(tags=["b", "c"]))
    assert tagged(extra["id"]) == {"b", "c"}
    with db.begin() as conn:
        conn.execute(update(CALL).where(CALL.c.id == extra["id"]).values(status="failed"))
    assert tagged(extra["id"]) == {"b", "c"}  # another column: the tags stay
    with db.begin() as conn:
        conn.execute(delete(CALL).where(CALL.c.id == extra["id"]))
    assert tagged(extra["id"]) == set()
