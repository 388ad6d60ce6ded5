"""Call-row writes queued together land in one transaction, in the order they were made."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from engine.calls.telephony import SerialRunner, SqlCallRecords
from engine.store import Call
from engine.store.writer import BatchWriter
from tests.unit.stores import fresh_store


async def test_queued_writes_land_in_submission_order(tmp_path: Path) -> None:
    db, org = fresh_store(tmp_path / "calls.db")
    runner = SerialRunner(db)
    runner.start()
    records = SqlCallRecords(db, BatchWriter(db), None, runner)
    try:
        call_id = records.create_call({"organization_id": org, "status": "ringing",
                                       "direction": "inbound"})
        # one batch: a read-and-merge (ORM), a plain UPDATE, another merge, a plain UPDATE
        records.update_call(call_id, {"status": "in_progress", "metadata_": {"codec": "PCMA"}})
        records.update_call(call_id, {"status": "transferring"})
        records.update_call(call_id, {"metadata_": {"barge_in_count": 2}})
        records.update_call(call_id, {"duration_seconds": 12})
        await runner.drained()
    finally:
        await runner.stop()
    with Session(db) as session:
        call = session.get(Call, call_id)
        assert call is not None
        assert call.status == "transferring"  # the merge before it does not win
        assert call.metadata_ == {"codec": "PCMA", "barge_in_count": 2}
        assert call.duration_seconds == 12


async def test_a_failing_write_loses_only_itself(tmp_path: Path) -> None:
    db, org = fresh_store(tmp_path / "calls.db")
    runner = SerialRunner(db)
    runner.start()
    records = SqlCallRecords(db, BatchWriter(db), None, runner)
    try:
        call_id = records.create_call({"organization_id": org, "status": "ringing",
                                       "direction": "inbound"})

        def broken(_session: Session) -> None:
            raise RuntimeError("a bad write")

        runner.submit(broken)
        records.update_call(call_id, {"status": "in_progress"})
        await runner.drained()
    finally:
        await runner.stop()
    with Session(db) as session:
        call = session.get(Call, call_id)
        assert call is not None and call.status == "in_progress"
