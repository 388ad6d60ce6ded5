"""The typed events: every type round-trips (engine builds -> wire dict -> client parses ->
equal), unknown types and keys survive, the wire format is the one producers sent as dicts, and
the bus delivers ``emit`` and ``publish`` the same way."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

import engine.events
from engine.api.resources import RESOURCES
from engine.events import (
    AgentSpeaking,
    CallControl,
    CallUpdated,
    CampaignLeadsImported,
    Event,
    EventBus,
    MetricsTurn,
    RecordEvent,
    Snapshot,
    StreamOverflow,
    TranscriptFinal,
    TranscriptPartial,
    TransferOffered,
    UnknownEvent,
    parse_event,
    record_event,
)
from engine.events.base import ENVELOPE, REGISTRY
from engine.events.bus import SUBSCRIBER_QUEUE
from engine.store.timeutil import iso

AT = "2026-01-01T10:00:00.000000Z"
# a value of each annotation the event fields use (``X | None`` takes X's)
SAMPLES: dict[str, Any] = {"str": "text", "int": 7, "float": 0.5, "bool": True,
                           "Record": {"key": "value", "nested": {"n": 1}},
                           "list[Record]": [{"role": "user", "text": "hi"}]}


def sample(cls: type[Event]) -> Event:
    """An event of ``cls`` with every field set (to a value other than its default)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in ENVELOPE:
            continue
        kind = str(f.type).removesuffix(" | None")
        values[f.name] = f"{f.name}-value" if kind == "str" else SAMPLES[kind]
    call_id = None if cls is StreamOverflow else "call-1"
    organization_id = "" if cls in (Snapshot, StreamOverflow) else "org-1"
    return cls(organization_id=organization_id, call_id=call_id, **values)


@pytest.mark.parametrize("cls", sorted(REGISTRY.values(), key=lambda c: c.type), ids=lambda c: c.type)
def test_every_event_type_round_trips_through_json(cls: type[Event]) -> None:
    event = sample(cls)
    wire = json.loads(json.dumps(event.to_wire(AT)))
    assert wire["type"] == cls.type
    parsed = parse_event(wire)
    assert type(parsed) is cls
    assert parsed == event
    assert parsed.to_wire() == wire


def test_the_registry_holds_a_class_per_type_and_the_package_exports_them() -> None:
    assert len(REGISTRY) >= 55
    for type_, cls in REGISTRY.items():
        assert cls.type == type_
        assert dataclasses.is_dataclass(cls) and not hasattr(sample(cls), "__dict__"), cls
        assert cls.__name__ in engine.events.__all__, cls
    for name in engine.events.__all__:
        assert hasattr(engine.events, name), name


def test_events_are_frozen() -> None:
    event = sample(TranscriptFinal)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.text = "changed"  # type: ignore[misc]


def test_an_unknown_type_parses_into_an_unknown_event_that_sends_back_the_same() -> None:
    wire = {"type": "call.teleported", "organization_id": "org-1", "call_id": "call-1", "at": AT,
            "data": {"to": "mars", "nested": {"a": [1, 2]}}}
    event = parse_event(wire)
    assert isinstance(event, UnknownEvent)
    assert event.name == "call.teleported" and event.data == wire["data"]
    assert event.call_id == "call-1" and event.organization_id == "org-1"
    assert event.to_wire() == wire


@pytest.mark.parametrize("wire", [
    {"type": "transcript.final", "call_id": "c", "data": {"text": "no index"}},
    {"type": "call.participant_joined", "data": {}},
    {"type": None, "data": {}},
    {"type": ["not", "a", "name"]},
    {"data": "not an object"},
], ids=["missing-key", "empty-data", "no-type", "unhashable-type", "no-type-bad-data"])
def test_a_known_type_without_its_required_data_and_junk_parse_as_unknown(
        wire: dict[str, Any]) -> None:
    assert isinstance(parse_event(wire), UnknownEvent)


def test_keys_a_type_does_not_name_are_kept_in_extra_and_sent_again() -> None:
    wire = {"type": "transcript.partial", "organization_id": "o", "call_id": "c", "at": AT,
            "data": {"call_id": "c", "index": 3, "source": "user", "text": "hel", "partial": True,
                     "started_at": AT, "emitted_at": 1.5, "speaker_id": "s1"}}
    event = parse_event(wire)
    assert isinstance(event, TranscriptPartial)
    assert event.extra == {"emitted_at": 1.5, "speaker_id": "s1"}
    assert event.to_wire() == wire


def test_a_call_id_only_in_data_still_reaches_the_event() -> None:
    event = parse_event({"type": "agent.speaking", "data": {"call_id": "c9", "state": "thinking",
                                                            "speaking": False}})
    assert isinstance(event, AgentSpeaking) and event.call_id == "c9" and not event.speaking


# -- the wire format is the one the producers built by hand --------------------------------------


def test_transcript_final_from_an_agent_line_row_is_what_the_agent_leg_published() -> None:
    started, ended = datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC), datetime(2026, 1, 1, 10, 0, 2, tzinfo=UTC)
    latency = {"eou_ms": 300, "stt_ms": 212, "brain_ms": 35, "tts_ttfb_ms": 4, "voice_to_voice_ms": 640}
    row = {"organization_id": "org-1", "call_id": "call-1", "index": 4, "source": "agent",
           "text": "Hello there", "started_at": started, "ended_at": ended, "provider": "espeak",
           "model": "en", "confidence": None, "interrupted": True, **latency,
           "metadata_": {"kind": "turn"}}
    # what engine/calls/agent_leg.py built by hand
    by_hand = {**row, "started_at": iso(row["started_at"]), "ended_at": iso(row["ended_at"]),
               "partial": False, "metadata": row["metadata_"]}
    by_hand.pop("metadata_")
    event = TranscriptFinal.from_row(row)
    assert event.payload() == by_hand
    assert event.call_id == "call-1" and event.organization_id == "org-1"


def test_transcript_final_of_a_transfer_note_keeps_every_key_it_had() -> None:
    now = datetime(2026, 1, 1, 10, 0, 1, tzinfo=UTC)
    row = {"organization_id": "org-1", "call_id": "call-1", "index": 9, "source": "system",
           "text": "Transfer to Sales: no answer.", "started_at": now, "ended_at": now,
           "metadata_": {"event": "transfer", "step": "attempt_failed", "transfer_id": "t1"}}
    # what engine/calls/warm.py built by hand
    data = {key: value for key, value in row.items() if key != "metadata_"}
    by_hand = {**data, "started_at": iso(now), "ended_at": iso(now), "partial": False,
               "metadata": row["metadata_"]}
    payload = TranscriptFinal.from_row(row).payload()
    assert {k: payload[k] for k in by_hand} == by_hand  # and the agent line's keys, empty


def test_payloads_of_the_converted_producers_are_unchanged() -> None:
    assert CampaignLeadsImported(organization_id="o", campaign_id="c1", imported=3).payload() == \
        {"id": "c1", "campaign_id": "c1", "imported": 3}
    summary = {"id": "c1", "status": "completed", "agent_name": "Ava"}
    assert CallUpdated(organization_id="o", call_id="c1", call=summary).to_wire(AT) == \
        {"type": "call.updated", "organization_id": "o", "call_id": "c1", "at": AT, "data": summary}
    assert CallControl(organization_id="o", call_id="c1", command="say", actor="api_key:k",
                       content="Hi", result="queued", status="in_progress").payload() == \
        {"call_id": "c1", "type": "say", "actor": "api_key:k", "content": "Hi", "result": "queued",
         "status": "in_progress"}
    assert AgentSpeaking(organization_id="o", call_id="c1", state="speaking").payload() == \
        {"call_id": "c1", "state": "speaking", "speaking": True}
    assert MetricsTurn(organization_id="o", call_id="c1", index=4, turn=1, eou_ms=3).payload() == \
        {"call_id": "c1", "index": 4, "turn": 1, "eou_ms": 3, "stt_ms": None, "brain_ms": None,
         "tts_ttfb_ms": None, "voice_to_voice_ms": None}
    assert Snapshot(organization_id="o", calls=[summary]).to_wire() == \
        {"type": "snapshot", "call_id": None, "data": {"calls": [summary]}}
    assert Snapshot(organization_id="o", call_id="c1", call=summary).to_wire() == \
        {"type": "snapshot", "call_id": "c1", "data": {"call": summary}}
    assert StreamOverflow().to_wire() == {"type": "stream.overflow", "data": {}}


def test_a_transfer_offer_sends_its_call_data_under_data() -> None:
    offer = TransferOffered(organization_id="o", call_id="c1", transfer_id="t1", user_id="u1",
                            call_data={"order": "A-17"}, last_turns=[{"role": "user", "text": "hi"}])
    payload = offer.payload()
    assert payload["data"] == {"order": "A-17"} and "call_data" not in payload
    assert payload["call_id"] == "c1" and payload["transfer_id"] == "t1"


def test_every_crud_resource_has_its_three_record_events() -> None:
    for res in RESOURCES:
        for change in ("created", "updated", "deleted"):
            event = record_event(f"{res.name}.{change}", organization_id="o", record={"id": "x"})
            assert isinstance(event, RecordEvent)
            assert (event.resource, event.change, event.record_id) == (res.name, change, "x")
    with pytest.raises(LookupError):
        record_event("transcript.final", organization_id="o", record={})


# -- the bus --------------------------------------------------------------------------------------


async def test_emit_and_publish_deliver_the_same_wire_dict() -> None:
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    sub = bus.subscribe("org-1")
    other = bus.subscribe("org-2")
    event = TranscriptPartial(organization_id="org-1", call_id="c1", index=1, source="user", text="hi")
    sent = bus.emit(event)
    bus.publish("transcript.partial", "org-1", event.payload(), call_id="c1")
    emitted, published = sub.queue.get_nowait(), sub.queue.get_nowait()
    assert emitted is sent
    assert set(emitted) == set(published) == {"type", "organization_id", "call_id", "at", "data"}
    assert {**emitted, "at": None} == {**published, "at": None}
    assert emitted["at"].endswith("Z") and published["at"].endswith("Z")
    assert parse_event(emitted) == event
    assert other.queue.empty()


async def test_a_slow_subscriber_loses_its_oldest_events_and_is_told_so() -> None:
    """Sending on the loop to a full queue neither raises into the producer nor loses the new
    event."""
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    sub = bus.subscribe("o")
    for index in range(SUBSCRIBER_QUEUE + 3):
        bus.emit(MetricsTurn(organization_id="o", call_id="c", index=index, turn=index))
    assert sub.queue.qsize() == SUBSCRIBER_QUEUE
    events = [parse_event(sub.queue.get_nowait()) for _ in range(SUBSCRIBER_QUEUE)]
    assert sum(isinstance(e, StreamOverflow) for e in events) >= 1
    turns = [e.index for e in events if isinstance(e, MetricsTurn)]
    assert turns[-1] == SUBSCRIBER_QUEUE + 2 and turns == sorted(turns)


def test_emitting_without_a_loop_answers_the_wire_dict() -> None:
    wire = EventBus().emit(CallUpdated(organization_id="o", call_id="c", call={"id": "c"}))
    assert wire["type"] == "call.updated" and wire["data"] == {"id": "c"}


def test_the_event_types_import_nothing_of_the_store() -> None:
    """The console imports them: no SQLAlchemy, no engine.store, no server."""
    code = ("import sys, engine.events, engine.client; "
            "print(sorted(m for m in sys.modules if m.startswith(('engine.store', 'engine.api', "
            "'sqlalchemy', 'sqlmodel', 'fastapi'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
