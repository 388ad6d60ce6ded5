"""Data for the API tests: a child organization of their own (a tenant), seeded with finished
calls, and a scratch organization for tests that add calls.

The API cannot create finished calls, so they are written straight into the engine's SQLite file
(WAL lets a second writer in) with Core inserts of fully validated rows, as the engine's writer
does. The tenant isolates these tests from every other test that shares the engine.
"""

from __future__ import annotations

import random
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from engine.client import Client
from engine.store import Call, CallEvent, TranscriptEntry, Transfer, UsageLog, make_engine, sqlite_url
from tests.harness.engine_host import RunningEngine

SEED_CALLS = 45
BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = ("completed", "completed", "completed", "failed", "no_answer", "busy", "in_progress")
TOPICS = (
    ("I would like to book an appointment for Tuesday", "Your appointment is booked, see you then"),
    ("My invoice shows a double charge, I want a refund", "I have filed the refund for your invoice"),
    ("Can you tell me your opening hours", "We are open nine to five on weekdays"),
    ("Please transfer me to a human", "Transferring you to a colleague now"),
    ("I forgot my password and cannot log in", "I sent a reset link to your email"),
)


def rows_of(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """A complete row for a Core insert: the model fills defaults; keys are column names."""
    obj = model.model_validate(values)
    return {attr.columns[0].key: getattr(obj, attr.key) for attr in sa_inspect(model).mapper.column_attrs}


def write_rows(db: Engine, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        with db.begin() as conn:
            conn.execute(insert(model.__table__), [rows_of(model, r) for r in rows])  # type: ignore[attr-defined]


@dataclass
class Tenant:
    """A child organization with its own admin key and the rows the tests made in it."""

    organization_id: str
    key: str
    url: str
    data_dir: Path
    agents: list[dict[str, Any]] = field(default_factory=list)
    campaign: dict[str, Any] = field(default_factory=dict)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # the Call rows as written
    template: dict[str, Any] = field(default_factory=dict)

    def db(self) -> Engine:
        return make_engine(sqlite_url(self.data_dir / "switchboard.db"))


def _seed_calls(tenant: Tenant, rnd: random.Random) -> None:
    org = tenant.organization_id
    calls: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    for i in range(SEED_CALLS):
        status = STATUSES[i % len(STATUSES)]
        initiated = BASE_TIME + timedelta(hours=i, seconds=rnd.randint(0, 59))
        answered = initiated + timedelta(seconds=rnd.randint(2, 15)) if status in (
            "completed", "in_progress") else None
        duration = rnd.randint(20, 600) if status == "completed" else None
        ended = (answered + timedelta(seconds=duration or 0)) if answered and duration else (
            None if status == "in_progress" else initiated + timedelta(seconds=30))
        agent = tenant.agents[i % len(tenant.agents)]
        number = tenant.numbers[i % len(tenant.numbers)]
        direction = "inbound" if i % 3 else "outbound"
        caller = f"+1415555{i:04d}"
        topic = TOPICS[i % len(TOPICS)]
        call = {
            "organization_id": org, "direction": direction, "status": status,
            "from_number": caller if direction == "inbound" else number["number"],
            "to_number": number["number"] if direction == "inbound" else caller,
            "agent_id": agent["id"], "phone_number_id": number["id"],
            "campaign_id": tenant.campaign["id"] if i % 4 == 0 else None,
            "initiated_at": initiated, "answered_at": answered, "ended_at": ended,
            "duration_seconds": duration,
            "created_at": initiated + timedelta(microseconds=rnd.randint(0, 10**6)),
            "updated_at": initiated,
            "summary": f"Call {i} about {topic[0][:20]}",
            "cost_stt_micro_usd": 1000 * i, "cost_tts_micro_usd": 500, "cost_llm_micro_usd": 0,
            "cost_telephony_micro_usd": 2000, "cost_total_micro_usd": 1000 * i + 2500,
            "cost_details": {"stt_audio_duration_seconds": 12.5, "tts_characters": 140},
            "latency_p50_ms": 300 + i, "latency_p95_ms": 500 + i,
            "latency_turns": [{"turn": 0, "voice_to_voice_ms": 320}],
            "metadata_": {"sip_call_id": f"sip-{i}"},
            "transcript": f"user: {topic[0]}\nagent: {topic[1]}",
        }
        row = rows_of(Call, call)
        calls.append(row)
        if status in ("completed", "in_progress"):
            for index, (source, text) in enumerate((("agent", "Hello, how can I help?"),
                                                    ("user", topic[0]), ("agent", topic[1]),
                                                    ("user", "Thanks, that is great"))):
                entries.append({"organization_id": org, "call_id": row["id"], "index": index,
                                "source": source, "text": text,
                                "started_at": initiated + timedelta(seconds=5 * index)})
        for offset, (event_type, code) in enumerate((("call.initiated", None), ("sip.invite", 100),
                                                     ("sip.ringing", 180), (f"call.{status}", 200))):
            events.append({"organization_id": org, "call_id": row["id"], "provider": "sip",
                           "event_type": event_type, "sip_status_code": code,
                           "occurred_at": initiated + timedelta(seconds=3 - offset)
                           if offset == 0 else initiated + timedelta(seconds=offset * 2)})
        usage.append({"organization_id": org, "call_id": row["id"], "kind": "stt",
                      "quantity": 12.5, "unit": "seconds", "cost_micro_usd": 1000 * i,
                      "occurred_at": initiated})
        usage.append({"organization_id": org, "call_id": row["id"], "kind": "telephony",
                      "quantity": 1.0, "unit": "minutes", "cost_micro_usd": 2000,
                      "occurred_at": initiated})
    db = tenant.db()
    try:
        with db.begin() as conn:
            conn.execute(insert(Call.__table__), calls)  # type: ignore[attr-defined]
        write_rows(db, TranscriptEntry, entries)
        write_rows(db, CallEvent, events)
        write_rows(db, UsageLog, usage)
        first = calls[0]
        write_rows(db, Transfer, [{"organization_id": org, "call_id": first["id"], "kind": "warm",
                                   "status": "completed", "transfer_to": "+14155550199",
                                   "summary": "caller wants billing"}])
    finally:
        db.dispose()
    tenant.calls = calls


def write_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a plain tone pattern; returns the file's bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytes((i * 7) % 256 for i in range(int(seconds * rate) * 2))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path.read_bytes()


@dataclass
class Scratch:
    """A fresh child organization with one agent and one number, for tests that add calls."""

    api: Client
    organization_id: str
    agent: dict[str, Any]
    number: dict[str, Any]


def make_tenant(engine: RunningEngine) -> Tenant:
    """A child organization seeded with agents, numbers, a campaign and finished calls."""
    admin = {"Authorization": f"Bearer {engine.api_key}"}
    with httpx.Client(base_url=engine.url, timeout=30) as http:
        created = http.post("/v1/organizations", json={"name": "API tests"}, headers=admin)
        assert created.status_code == 201, created.text
        body = created.json()
        t = Tenant(body["organization"]["id"], body["api_key"]["key"], engine.url, engine.data_dir)
        own = {"Authorization": f"Bearer {t.key}"}

        def post(path: str, payload: dict[str, Any]) -> dict[str, Any]:
            response = http.post(path, json=payload, headers=own)
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        t.template = post("/v1/analysis-templates", {
            "name": "Booking", "outcomes": ["appointment_booked", "refund_requested", "other"],
            "structured_data_schema": {"type": "object", "properties": {
                "appointment_day": {"type": "string", "format": "date"},
                "caller_name": {"type": "string"}}},
        })
        t.agents = [post("/v1/agents", {"name": name, "analysis_template_id": t.template["id"]})
                    for name in ("Ava", "Bert", "Cleo")]
        t.numbers = [post("/v1/phone-numbers", {"number": n, "agent_id": t.agents[0]["id"]})
                     for n in ("+14155550100", "+442071838750")]
        t.campaign = post("/v1/campaigns", {"name": "Spring", "agent_id": t.agents[0]["id"]})
    _seed_calls(t, random.Random(7))
    return t


@asynccontextmanager
async def open_scratch(api: Client) -> AsyncIterator[Scratch]:
    """A fresh child organization (made with the admin client ``api``) with one agent and one
    number, and its own admin client."""
    created = await api.create_organization("scratch")
    async with Client(api.base_url, created["api_key"]["key"]) as client:
        agent = await client.agents.create(name="Scratch agent")
        number = await client.phone_numbers.create(number="+14155550100", agent_id=agent["id"])
        yield Scratch(client, created["id"], agent, number)
