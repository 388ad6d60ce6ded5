"""The batch writer queues engine rows with the model's defaults and refuses malformed ones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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
