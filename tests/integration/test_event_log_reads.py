"""A call's event log answers with every event recorded before the request, even those still
queued for the writer's next batch: a console that saw an event on the bus finds it in the log."""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.settings import Settings
from engine.store import Call, CallEvent, session_scope, utcnow


async def test_queued_events_are_in_the_log(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path, sip_enabled=False))
    key = engine.setup()
    assert key is not None
    engine.writer._interval = 3600.0  # the writer's own batches never come during the test
    await engine.start()
    client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                    timeout=30)
    try:
        with session_scope(engine.db) as session:
            call = Call(organization_id=engine.organization_id, status="in_progress",
                        direction="inbound")
            session.add(call)
        engine.writer.add(CallEvent, {"organization_id": engine.organization_id,
                                      "call_id": call.id, "provider": "engine",
                                      "event_type": "transfer.completed", "occurred_at": utcnow()})
        events = await client.call_events(call.id)
        assert [e["event_type"] for e in events] == ["transfer.completed"]
    finally:
        await client.aclose()
        await engine.stop()
        engine.close()
