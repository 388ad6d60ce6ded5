"""The batch writer queues engine rows with the model's defaults, refuses malformed ones, and a
flush returns only once every row queued before it is committed."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, select

from engine.store import CallEvent, TranscriptEntry, make_engine, migrate, sqlite_url
from engine.store.writer import BatchWriter


def _writer(tmp_path: Path) -> BatchWriter:
    db = make_engine(sqlite_url(tmp_path / "rows.db"))
    migrate(db)
    return BatchWriter(db)


def test_defaults_are_filled_and_rows_land_on_flush(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    first = writer.add(CallEvent, {"organization_id": "org", "call_id": "c1", "provider": "sip",
                                   "event_type": "invite_received", "sip_status_code": 100})
    second = writer.add(CallEvent, {"organization_id": "org", "call_id": "c1", "provider": "sip",
                                    "event_type": "bye_received"})
    assert first["id"] != second["id"] and len(first["id"]) == 36
    assert isinstance(first["created_at"], datetime) and first["status"] is None
    assert first["payload"] == {} and first["payload"] is not second["payload"]
    line = writer.add(TranscriptEntry, {"organization_id": "org", "call_id": "c1", "index": 3,
                                        "source": "agent", "text": "Hello.",
                                        "metadata_": {"kind": "greeting"}})
    assert line["interrupted"] is False and line["metadata_"] == {"kind": "greeting"}
    assert writer.flush() == 3
    with Session(writer._engine) as session:
        events = session.exec(select(CallEvent).order_by(CallEvent.event_type)).all()
        entry = session.exec(select(TranscriptEntry)).one()
    assert [(e.event_type, e.sip_status_code) for e in events] == [
        ("bye_received", None), ("invite_received", 100)]
    assert entry.metadata_ == {"kind": "greeting"} and entry.index == 3


def test_unknown_or_missing_fields_are_refused_at_once(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    with pytest.raises(ValueError, match="sip_code"):
        writer.add(CallEvent, {"organization_id": "org", "call_id": "c1", "provider": "sip",
                               "event_type": "invite_received", "sip_code": 100})
    with pytest.raises(ValueError, match="event_type"):
        writer.add(CallEvent, {"organization_id": "org", "call_id": "c1", "provider": "sip"})
    assert writer.flush() == 0


def test_a_flush_returns_only_once_rows_taken_by_another_flush_are_committed(
        tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    db = writer._engine
    release = threading.Event()

    @contextlib.contextmanager
    def slow_begin() -> Iterator[Any]:  # the background flush, caught mid-transaction
        release.wait(10.0)
        with db.begin() as conn:
            yield conn

    writer._engine = SimpleNamespace(begin=slow_begin)  # type: ignore[assignment]
    writer.add(CallEvent, {"organization_id": "org", "call_id": "c1", "provider": "sip",
                           "event_type": "cancel_sent"})
    background = threading.Thread(target=writer.flush)
    background.start()
    while writer._pending:  # taken by the background flush
        time.sleep(0.001)
    reader = threading.Thread(target=writer.flush)  # e.g. GET /v1/calls/{id}/events
    reader.start()
    reader.join(0.2)
    assert reader.is_alive()  # waits for the rows it was about to read
    release.set()
    reader.join(10.0)
    background.join(10.0)
    with Session(db) as session:
        assert [e.event_type for e in session.exec(select(CallEvent)).all()] == ["cancel_sent"]
