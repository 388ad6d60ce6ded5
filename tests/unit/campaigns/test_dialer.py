"""The dialer over a real SQLite store, in virtual time: a clock the test moves and a placer
whose calls end when the test says (what the telephony service does with real SIP is in
tests/integration/campaigns). Concurrency, pacing, calling hours in each lead's zone, retries,
do-not-call, completion, and a restart that finds attempts under way."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from engine.campaigns import Dialer
from engine.events import CampaignProgress, EventBus, parse_event
from engine.store import Agent, Call, Campaign, DoNotCall, Lead, PhoneNumber, SipTrunk, session_scope
from tests.harness.stores import fresh_store

WEDNESDAY_10_NY = datetime(2027, 1, 6, 15, 0, tzinfo=UTC)  # 10:00 in New York, 07:00 in LA
FROM_NUMBERS = itertools.count(100)
NY_LEADS = [f"+1202555{n:04d}" for n in range(101, 199)]  # America/New_York by region


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class ScriptedPlacer:
    """Places calls by leaving them up to the test: each ends when the test ends it, writing
    its row as the telephony service would."""

    db: Engine
    dials: bool = True
    calls: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    most_at_once: int = 0

    def dial(self, call_id: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.calls[call_id] = future
        self.order.append(call_id)
        self.most_at_once = max(self.most_at_once, len(self.live))
        return future

    async def settled(self) -> None:
        return None

    @property
    def live(self) -> list[str]:
        return [c for c, f in self.calls.items() if not f.done()]

    def answer(self, call_id: str, at: datetime) -> None:
        self._write(call_id, status="in_progress", answered_at=at)

    async def end(self, call_id: str, status: str, at: datetime, **fields: Any) -> None:
        self._write(call_id, status=status, ended_at=at, **fields)
        self.calls[call_id].set_result(None)
        await asyncio.sleep(0)  # the dialer's done-callback runs

    def _write(self, call_id: str, **fields: Any) -> None:
        with session_scope(self.db) as session:
            call = session.get(Call, call_id)
            assert call is not None
            for name, value in fields.items():
                setattr(call, name, value)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    db, org = fresh_store(tmp_path / "store.db")
    yield db, org
    db.dispose()


def make_campaign(db: Engine, org: str, numbers: list[str], **fields: Any) -> str:
    with session_scope(db) as session:
        agent = Agent(organization_id=org, name="Reminders", first_message="Hi {{first_name}}")
        trunk = SipTrunk(organization_id=org, name="Carrier", host="127.0.0.1", port=5060)
        number = PhoneNumber(organization_id=org, number=f"+1415555{next(FROM_NUMBERS):04d}",
                             sip_trunk_id=trunk.id)
        values: dict[str, Any] = {
            "name": "Check-ups", "agent_id": agent.id, "phone_number_id": number.id,
            "status": "running", "timezone": "UTC", "calling_hours_start": "00:00",
            "calling_hours_end": "24:00", "calling_days": list(range(7)), "max_concurrent": 2,
            "calls_per_minute": 60, "max_attempts": 3, "retry_busy_minutes": 10,
            "retry_no_answer_minutes": 60, "retry_delay_minutes": 30,
            "voicemail_message": "Hi {first_name}, call us back.", **fields}
        campaign = Campaign(organization_id=org, **values)
        session.add_all([agent, trunk, number, campaign])
        for index, phone in enumerate(numbers):
            session.add(Lead(organization_id=org, campaign_id=campaign.id, phone_number=phone,
                             name=f"Person{index} Smith", variables={"plan": "gold"},
                             created_at=WEDNESDAY_10_NY + timedelta(seconds=index)))
        return campaign.id


def leads(db: Engine, campaign_id: str) -> dict[str, Lead]:
    with session_scope(db) as session:
        return {lead.phone_number: lead for lead in session.exec(
            select(Lead).where(Lead.campaign_id == campaign_id)).all()}


def call(db: Engine, call_id: str) -> Call:
    with session_scope(db) as session:
        row = session.get(Call, call_id)
        assert row is not None
        return row


def campaign_status(db: Engine, campaign_id: str) -> str:
    with session_scope(db) as session:
        row = session.get(Campaign, campaign_id)
        assert row is not None
        return row.status


pytestmark = pytest.mark.timeout(60)


async def test_at_most_max_concurrent_and_calls_per_minute(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id = make_campaign(db, org, NY_LEADS[:7], max_concurrent=2, calls_per_minute=6)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    dialled_at: dict[str, datetime] = {}
    for _ in range(400):  # 400 virtual seconds, a pass a second
        for call_id in placer.live:
            if clock.now - dialled_at[call_id] >= timedelta(seconds=25):
                await placer.end(call_id, "completed", clock.now, answered_at=dialled_at[call_id])
        await dialer.step()
        for call_id in placer.order:
            dialled_at.setdefault(call_id, clock.now)
        assert len(placer.live) <= 2
        clock.advance(1)
    assert placer.most_at_once == 2
    times = sorted(dialled_at.values())
    assert len(times) == 7
    # ten seconds apart, or five when a dial the concurrency held catches up with the pace
    assert all(b - a >= timedelta(seconds=5) for a, b in itertools.pairwise(times))
    for start in times:  # never more than six in any minute
        assert sum(1 for t in times if start <= t < start + timedelta(minutes=1)) <= 6
    assert {lead.status for lead in leads(db, campaign_id).values()} == {"completed"}
    assert campaign_status(db, campaign_id) == "completed"


async def test_each_lead_is_called_in_its_own_calling_hours(store: tuple[Engine, str]) -> None:
    db, org = store
    numbers = ["+12025550101", "+16285550102", "+12025550103"]  # New York, Los Angeles, NY
    campaign_id = make_campaign(db, org, numbers, calling_hours_start="09:00",
                                calling_hours_end="17:00", calling_days=[0, 1, 2, 3, 4],
                                timezone="Europe/London")
    with session_scope(db) as session:  # the third lead lives in Tokyo whatever its number says
        lead = session.exec(select(Lead).where(Lead.phone_number == numbers[2])).one()
        lead.timezone = "Asia/Tokyo"
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    due = await dialer.step()
    assert [call(db, c).to_number for c in placer.order] == ["+12025550101"]
    waiting = leads(db, campaign_id)
    assert waiting["+16285550102"].next_attempt_at == datetime(2027, 1, 6, 17, 0, tzinfo=UTC)
    assert waiting["+12025550103"].next_attempt_at == datetime(2027, 1, 7, 0, 0, tzinfo=UTC)
    assert due == datetime(2027, 1, 6, 17, 0, tzinfo=UTC)  # the next lead whose window opens
    await placer.end(placer.order[0], "completed", clock.now)
    clock.now = datetime(2027, 1, 6, 16, 59, tzinfo=UTC)
    await dialer.step()
    assert len(placer.order) == 1
    clock.now = datetime(2027, 1, 6, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles
    await dialer.step()
    assert [call(db, c).to_number for c in placer.order][1:] == ["+16285550102"]


async def test_a_lead_waits_across_a_daylight_saving_change(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id = make_campaign(db, org, ["+12025550101"], calling_hours_start="09:00",
                                calling_hours_end="17:00", calling_days=[0, 1, 2, 3, 4])
    clock = Clock(datetime(2027, 3, 12, 23, 0, tzinfo=UTC))  # Friday 18:00 EST
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    await dialer.step()
    monday = datetime(2027, 3, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert leads(db, campaign_id)["+12025550101"].next_attempt_at == monday
    clock.now = monday - timedelta(minutes=1)
    await dialer.step()
    assert placer.order == []
    clock.now = monday
    await dialer.step()
    assert len(placer.order) == 1


async def test_retries_follow_the_outcome(store: tuple[Engine, str]) -> None:
    db, org = store
    busy, unknown, silent = "+12025550120", "+12025550199", "+12025550130"
    campaign_id = make_campaign(db, org, [busy, unknown, silent], max_concurrent=3)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    for _ in range(3):
        await dialer.step()
        clock.advance(1)
    by_number = {call(db, c).to_number: c for c in placer.order}
    assert set(by_number) == {busy, unknown, silent}
    await placer.end(by_number[busy], "busy", clock.now, sip_status_code=486)
    await placer.end(by_number[unknown], "failed", clock.now, sip_status_code=404)
    await placer.end(by_number[silent], "no_answer", clock.now, sip_status_code=408)
    ended_at = clock.now
    await dialer.step()
    state = leads(db, campaign_id)
    assert (state[busy].status, state[busy].attempts) == ("busy", 1)
    assert state[busy].next_attempt_at == ended_at + timedelta(minutes=10)
    assert call(db, by_number[busy]).retry_at == ended_at + timedelta(minutes=10)
    assert (state[unknown].status, state[unknown].next_attempt_at) == ("failed", None)
    assert state[silent].next_attempt_at == ended_at + timedelta(minutes=60)
    assert call(db, by_number[unknown]).retry_at is None
    clock.now = ended_at + timedelta(minutes=10) - timedelta(seconds=1)
    await dialer.step()
    assert len(placer.order) == 3
    clock.now = ended_at + timedelta(minutes=10)
    await dialer.step()
    assert len(placer.order) == 4 and call(db, placer.order[3]).to_number == busy
    assert leads(db, campaign_id)[busy].attempts == 2
    assert campaign_status(db, campaign_id) == "running"


@dataclass
class LateRowPlacer(ScriptedPlacer):
    """While the dialer waits for ended calls' rows, one more call ends: its future is done but
    its row is written only after the wait (the telephony's last writes are queued)."""

    ending_during_wait: str | None = None
    at: datetime | None = None

    async def settled(self) -> None:
        call_id, self.ending_during_wait = self.ending_during_wait, None
        if call_id is not None:
            self.calls[call_id].set_result(None)
            await asyncio.sleep(0)  # the dialer's done-callback runs; the row says in_progress


async def test_a_call_ending_while_rows_are_awaited_is_settled_on_the_next_pass(
        store: tuple[Engine, str]) -> None:
    db, org = store
    first, second = "+12025550140", "+12025550141"
    campaign_id = make_campaign(db, org, [first, second], max_attempts=1)
    clock = Clock(WEDNESDAY_10_NY)
    placer = LateRowPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    for _ in range(2):
        await dialer.step()
        clock.advance(1)
    by_number = {call(db, c).to_number: c for c in placer.order}
    await placer.end(by_number[first], "completed", clock.now, answered_at=clock.now)
    placer.answer(by_number[second], clock.now)
    placer.ending_during_wait = by_number[second]
    await dialer.step()  # settles the first; the second ends during the wait, its row not yet
    assert leads(db, campaign_id)[first].status == "completed"
    placer._write(by_number[second], status="completed", ended_at=clock.now)  # the row lands
    clock.advance(1)
    await dialer.step()
    assert leads(db, campaign_id)[second].status == "completed"  # not left calling
    clock.advance(1)
    await dialer.step()
    assert campaign_status(db, campaign_id) == "completed"


async def test_do_not_call_numbers_are_never_dialled(store: tuple[Engine, str]) -> None:
    db, org = store
    campaign_id = make_campaign(db, org, ["+12025550101", "+12025550102"])
    with session_scope(db) as session:
        session.add(DoNotCall(organization_id=org, number="+12025550102", reason="asked"))
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    events = bus.subscribe(org)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, bus=bus, clock=clock)
    await dialer.step()
    clock.advance(5)
    await dialer.step()
    assert [call(db, c).to_number for c in placer.order] == ["+12025550101"]
    assert leads(db, campaign_id)["+12025550102"].status == "do_not_call"
    placed = call(db, placer.order[0])
    assert placed.campaign_id == campaign_id and placed.lead_id is not None
    assert placed.dynamic_variables["first_name"] == "Person0"
    assert placed.dynamic_variables["plan"] == "gold"
    assert placed.metadata_["amd_mode"] == "detect"
    assert placed.metadata_["voicemail_message"] == "Hi Person0, call us back."
    await placer.end(placer.order[0], "completed", clock.now, disconnect_reason="voicemail")
    await dialer.step()
    assert leads(db, campaign_id)["+12025550101"].status == "voicemail"
    seen = []
    while not events.queue.empty():
        event = parse_event(events.queue.get_nowait())
        if isinstance(event, CampaignProgress):
            seen.append((event.lead_status, event.done, event.total))
    assert seen[0] == ("calling", 0, 2)
    assert ("do_not_call", 1, 2) in seen
    assert seen[-1][0] == "voicemail"  # a retry waits: not done yet
    assert seen[-1][1:] == (1, 2)


async def test_paused_and_canceled_campaigns_dial_nobody(store: tuple[Engine, str]) -> None:
    db, org = store
    make_campaign(db, org, ["+12025550101"], status="paused")
    make_campaign(db, org, ["+12025550102"], status="canceled")
    make_campaign(db, org, ["+12025550103"], status="scheduled",
                  scheduled_at=WEDNESDAY_10_NY + timedelta(hours=1))
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    dialer = Dialer(db, placer, clock=clock)
    await dialer.step()
    assert placer.order == []
    clock.advance(3600)  # the scheduled one starts
    await dialer.step()
    assert [call(db, c).to_number for c in placer.order] == ["+12025550103"]


async def test_a_restart_settles_the_attempts_under_way_and_dials_nobody_twice(
        store: tuple[Engine, str]) -> None:
    db, org = store
    numbers = NY_LEADS[:4]
    campaign_id = make_campaign(db, org, numbers, max_concurrent=2)
    clock = Clock(WEDNESDAY_10_NY)
    placer = ScriptedPlacer(db)
    first = Dialer(db, placer, clock=clock)
    await first.step()
    clock.advance(1)
    await first.step()
    a, b = placer.order
    await placer.end(a, "completed", clock.now, answered_at=clock.now)
    clock.advance(1)
    await first.step()  # settles a, dials a third
    c = placer.order[2]
    placer.answer(c, clock.now)  # c is answered; b still rings; then the engine dies
    clock.advance(30)
    again = ScriptedPlacer(db)
    second = Dialer(db, again, clock=clock)
    await second.step()
    state = leads(db, campaign_id)
    to = {call(db, x).to_number: x for x in (a, b, c)}
    assert state[call(db, a).to_number].status == "completed"
    assert state[call(db, c).to_number].status == "completed"  # answered before the kill
    assert call(db, c).disconnect_reason == "engine_restart"
    rang = state[call(db, b).to_number]
    assert (rang.status, rang.attempts) == ("failed", 1) and rang.next_attempt_at is not None
    assert call(db, b).status == "failed"
    # the new run dialled only the lead nobody had called yet
    assert [call(db, x).to_number for x in again.order] == [numbers[3]]
    assert numbers[3] not in to
