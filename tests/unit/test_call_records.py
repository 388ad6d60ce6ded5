"""Call-row writes queued together land in one transaction, in the order they were made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from engine.calls.records import SerialRunner, SqlCallRecords
from engine.store import Call
from engine.store.writer import BatchWriter
from tests.harness.stores import fresh_store


@dataclass
class Store:
    db: Engine
    runner: SerialRunner
    records: SqlCallRecords
    call_id: str


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A call row queued (not yet written) on a running writer."""
    db, org = fresh_store(tmp_path / "calls.db")
    runner = SerialRunner(db)
    runner.start()
    records = SqlCallRecords(db, BatchWriter(db), None, runner)
    call_id = records.create_call({"organization_id": org, "status": "ringing",
                                   "direction": "inbound"})
    try:
        yield Store(db, runner, records, call_id)
    finally:
        await runner.stop()


async def test_queued_writes_land_in_submission_order(store: Store) -> None:
    records, call_id = store.records, store.call_id
    # one batch: a metadata read-and-merge, a plain UPDATE, another merge, a plain UPDATE
    records.update_call(call_id, {"status": "in_progress", "metadata_": {"codec": "PCMA"}})
    records.update_call(call_id, {"status": "transferring"})
    records.update_call(call_id, {"metadata_": {"barge_in_count": 2}})
    records.update_call(call_id, {"duration_seconds": 12})
    await store.runner.drained()
    with Session(store.db) as session:
        call = session.get(Call, call_id)
        assert call is not None
        assert call.status == "transferring"  # the merge before it does not win
        assert call.metadata_ == {"codec": "PCMA", "barge_in_count": 2}
        assert call.duration_seconds == 12


async def test_a_failing_write_loses_only_itself(store: Store) -> None:
    def broken(_session: Session) -> None:
        raise RuntimeError("a bad write")

    store.runner.submit(broken)
    store.records.update_call(store.call_id, {"status": "in_progress"})
    await store.runner.drained()
    with Session(store.db) as session:
        call = session.get(Call, store.call_id)
        assert call is not None and call.status == "in_progress"


async def test_on_commit_callbacks_run_only_for_writes_that_committed(store: Store) -> None:
    ran: list[str] = []

    def broken(_session: Session) -> None:
        raise RuntimeError("a bad write")

    store.runner.submit(broken, after=lambda: ran.append("ended: broken"),
                        on_commit=lambda: ran.append("committed: broken"))
    store.runner.submit(lambda _session: None, after=lambda: ran.append("ended: fine"),
                        on_commit=lambda: ran.append("committed: fine"))
    await store.runner.drained()
    assert ran == ["ended: broken", "ended: fine", "committed: fine"]
