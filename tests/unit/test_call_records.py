"""Call-row writes queued together land in one transaction, in the order they were made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from engine.calls.telephony import SerialRunner, SqlCallRecords
from engine.store import Call
from engine.store.writer import BatchWriter
from tests.unit.stores import fresh_store


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
    # one batch: a read-and-merge (ORM), a plain UPDATE, another merge, a plain UPDATE
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
