"""A campaign dials the demo's simulated people over real SIP on loopback: a person answers, a
line is busy, a phone rings out, a number does not exist (404), a voicemail box answers. Each
lead ends its attempt as its call did, with its attempts, last call and next attempt; each lead
is dialled once; the call carries the campaign, the lead, the lead's variables and retry time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.demo.catalog import CALLEES_NUMBER
from engine.demo.seed import seed
from engine.events import CampaignProgress, Subscription, parse_event
from engine.store import parse_iso
from tests.harness.sip_engine import settled, sip_settings

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = [pytest.mark.timeout(180), pytest.mark.asyncio(loop_scope="module")]

# engine.simulator.number_plan.demo_plan
PERSON = "+12025550101"  # order_status answers
VOICEMAIL = "+12025550110"  # a greeting and a beep
BUSY = "+12025550120"  # 486
RINGS_OUT = "+12025550130"  # 180, never an answer
UNKNOWN = "+12025550250"  # outside the plan: 404
RINGING_S = 5  # the campaign's calls ring this long (the dialer's setting)
AGENT_LIMIT_S = 6  # an answered call ends within this (the agent's max duration)


@dataclass
class Dialled:
    engine: Engine
    client: Client
    campaign: dict[str, Any]
    leads: dict[str, dict[str, Any]]
    calls: dict[str, dict[str, Any]]  # by number
    progress: list[CampaignProgress]


async def _events(sub: Subscription) -> list[CampaignProgress]:
    found = []
    while not sub.queue.empty():
        event = parse_event(sub.queue.get_nowait())
        if isinstance(event, CampaignProgress):
            found.append(event)
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dialled(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dialled]:
    engine = Engine(sip_settings(tmp_path_factory.mktemp("campaign-calls")))
    key = engine.setup()
    assert key is not None
    seed(engine.db, engine.organization_id, calls=0, leads=0)
    await engine.start()
    try:
        assert engine.telephony is not None and engine.dialer is not None
        assert engine.callees is not None
        await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
        engine.dialer.ringing_timeout_s = RINGING_S
        sub = engine.bus.subscribe(engine.organization_id)
        client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                        timeout=30)
        number = next(n for n in await client.phone_numbers.all() if n["number"] == CALLEES_NUMBER)
        agent = await client.agents.create(
            name="Reminders", first_message="Hello {{first_name}}, this is Northwind calling.",
            max_duration_seconds=AGENT_LIMIT_S, stt={"engine": "whisper", "model": "tiny.en"},
            tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 190})
        campaign = await client.campaigns.create(
            name="Reminders", agent_id=agent["id"], phone_number_id=number["id"],
            calling_hours_start="00:00", calling_hours_end="24:00", calling_days=list(range(7)),
            max_concurrent=5, calls_per_minute=120, max_attempts=3, retry_busy_minutes=60,
            retry_no_answer_minutes=90, retry_delay_minutes=30, amd="off")
        imported = await client.import_leads(campaign["id"], [
            {"phone_number": PERSON, "name": "Ann Lee", "variables": {"plan": "gold"}},
            {"phone_number": VOICEMAIL, "name": "Bob Ray"},
            {"phone_number": BUSY, "name": "Cy Moe"},
            {"phone_number": RINGS_OUT, "name": "Di Fox"},
            {"phone_number": UNKNOWN, "name": "Ed Poe"}])
        assert imported["imported"] == 5, imported
        await client.start_campaign(campaign["id"])
        async with asyncio.timeout(90):
            while True:
                leads = await client.leads(campaign["id"]).all()
                if all(lead["status"] not in ("pending", "calling") for lead in leads):
                    break
                await asyncio.sleep(0.5)
        await settled(engine, 30)
        calls = (await client.list_calls(campaign_id=campaign["id"], limit=100)).items
        details = {c["to_number"]: await client.get_call(c["id"]) for c in calls}
        yield Dialled(engine, client, await client.campaigns.get(campaign["id"]),
                      {lead["phone_number"]: lead for lead in await client.leads(campaign["id"]).all()},
                      details, await _events(sub))
        await client.aclose()
    finally:
        await engine.stop()
        engine.close()


async def test_each_lead_is_dialled_once(dialled: Dialled) -> None:
    assert sorted(dialled.calls) == sorted(dialled.leads)
    assert len({c["lead_id"] for c in dialled.calls.values()}) == 5
    assert all(lead["attempts"] == 1 for lead in dialled.leads.values())
    assert len(dialled.engine.dialer.dialled) == 5  # type: ignore[union-attr]
    for number, lead in dialled.leads.items():
        call = dialled.calls[number]
        assert lead["last_call_id"] == call["id"]
        assert call["campaign_id"] == dialled.campaign["id"] and call["lead_id"] == lead["id"]
        assert call["direction"] == "outbound" and call["from_number"] == CALLEES_NUMBER


async def test_a_person_answers_and_hears_their_name(dialled: Dialled) -> None:
    lead, call = dialled.leads[PERSON], dialled.calls[PERSON]
    assert (lead["status"], lead["next_attempt_at"]) == ("completed", None)
    assert call["status"] == "completed" and call["answered_at"]
    assert call["dynamic_variables"]["first_name"] == "Ann"
    assert call["dynamic_variables"]["plan"] == "gold"
    assert call["metadata"]["amd_mode"] == "off"
    said = " ".join(e["text"] for e in call["transcript"]["entries"] if e["source"] == "agent")
    assert "Hello Ann, this is Northwind calling." in said, said


async def test_a_busy_line_is_tried_again_after_the_busy_wait(dialled: Dialled) -> None:
    lead, call = dialled.leads[BUSY], dialled.calls[BUSY]
    assert (lead["status"], call["status"], call["metadata"]["sip_status_code"]) == ("busy", "busy", 486)
    assert lead["next_attempt_at"] == call["retry_at"]
    wait = parse_iso(lead["next_attempt_at"]) - parse_iso(call["ended_at"])
    assert timedelta(minutes=59) < wait < timedelta(minutes=61)


async def test_a_phone_that_rings_out_is_no_answer(dialled: Dialled) -> None:
    lead, call = dialled.leads[RINGS_OUT], dialled.calls[RINGS_OUT]
    assert (lead["status"], call["status"]) == ("no_answer", "no_answer")
    assert call["answered_at"] is None
    wait = parse_iso(lead["next_attempt_at"]) - parse_iso(call["ended_at"])
    assert timedelta(minutes=89) < wait < timedelta(minutes=91)


async def test_a_number_that_does_not_exist_is_not_tried_again(dialled: Dialled) -> None:
    lead, call = dialled.leads[UNKNOWN], dialled.calls[UNKNOWN]
    assert (lead["status"], call["status"], call["metadata"]["sip_status_code"]) == \
        ("failed", "failed", 404)
    assert lead["next_attempt_at"] is None and call["retry_at"] is None


async def test_a_voicemail_box_answers(dialled: Dialled) -> None:
    """Without answering-machine detection the box's greeting is a caller like any other: the
    call completes. With detection (disconnect_reason voicemail, or an amd_result of machine)
    the lead is voicemail and waits for its retry."""
    lead, call = dialled.leads[VOICEMAIL], dialled.calls[VOICEMAIL]
    assert call["answered_at"] and call["status"] == "completed"
    machine = call["disconnect_reason"] == "voicemail" or \
        (call["metadata"].get("amd_result") or {}).get("decision") == "machine"
    assert lead["status"] == ("voicemail" if machine else "completed")


async def test_progress_and_stats(dialled: Dialled) -> None:
    stats = await dialled.client.campaign_stats(dialled.campaign["id"])
    assert (stats["calls"], stats["answered"], stats["attempts"]) == (5, 2, 5)
    assert stats["answer_rate"] == 0.4
    assert stats["leads"]["by_status"]["busy"] == 1
    assert stats["leads"]["by_status"]["no_answer"] == 1
    assert stats["leads"]["waiting_for_retry"] >= 2
    assert stats["progress"]["total"] == 5
    assert stats["average_duration_seconds"] is not None
    assert dialled.campaign["status"] == "running"  # two leads wait for their retries
    by_lead: dict[str, list[str]] = {}
    for event in dialled.progress:
        assert event.campaign_id == dialled.campaign["id"] and event.total == 5
        by_lead.setdefault(event.lead_id, []).append(event.lead_status)
    statuses = {dialled.leads[n]["id"]: dialled.leads[n]["status"] for n in dialled.leads}
    assert {lead: seen[-1] for lead, seen in by_lead.items()} == statuses
    assert all(seen[0] == "calling" for seen in by_lead.values())
    assert dialled.progress[-1].done == stats["progress"]["done"]
