"""An engine process killed (SIGKILL) in the middle of a campaign, and started again, resumes it
from the store: the attempts under way when it died are settled (an answered call counts as
reached), nobody reached before is dialled again, and the leads not called yet are."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from engine.app import Engine
from engine.client import Client
from engine.demo.catalog import CALLEES_NUMBER
from engine.demo.seed import seed
from engine.settings import Settings
from tests.harness.engine_host import TEST_KEY, RunningEngine, start_engine

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = pytest.mark.timeout(240)

# engine.simulator.number_plan.demo_plan: people who answer (by the last digit of 555-01XX)
PEOPLE = ["+12025550141", "+12025550142", "+12025550144", "+12025550149", "+12025550151"]
SIP_ARGS = ("--sip-host", "127.0.0.1", "--sip-port", "0")
AGENT_LIMIT_S = 12  # an answered call lasts at most this: long enough to be killed during


def _seeded(data_dir: Path) -> None:
    engine = Engine(Settings(data_dir=data_dir, api_key=TEST_KEY))
    engine.setup()
    seed(engine.db, engine.organization_id, calls=0, leads=0)
    engine.close()


def _start(data_dir: Path) -> RunningEngine:
    return start_engine(data_dir, extra_args=SIP_ARGS, timeout=120,
                        extra_env={"HF_HUB_OFFLINE": "1"})


async def _until(what: str, within: float, check: Any) -> Any:
    async with asyncio.timeout(within):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.3)
    raise AssertionError(what)  # pragma: no cover


async def test_a_killed_engine_resumes_its_campaign_without_calling_anyone_twice(
        tmp_path: Path) -> None:
    _seeded(tmp_path)
    first = _start(tmp_path)
    try:
        async with Client(first.url, first.api_key, timeout=30) as api:
            number = next(n for n in await api.phone_numbers.all() if n["number"] == CALLEES_NUMBER)
            agent = await api.agents.create(
                name="Reminders", first_message="Hello {{first_name}}, this is Northwind calling.",
                max_duration_seconds=AGENT_LIMIT_S, stt={"engine": "whisper", "model": "tiny.en"},
                tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 190})
            campaign = await api.campaigns.create(
                name="Reminders", agent_id=agent["id"], phone_number_id=number["id"],
                calling_hours_start="00:00", calling_hours_end="24:00", calling_days=list(range(7)),
                max_concurrent=2, calls_per_minute=120, retry_delay_minutes=0, amd="off")
            cid = campaign["id"]
            await api.import_leads(cid, [{"phone_number": n, "name": f"Lead{i} Test"}
                                         for i, n in enumerate(PEOPLE)])
            await api.start_campaign(cid)

            async def mid_campaign() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
                leads = await api.leads(cid).all()
                calls = (await api.list_calls(campaign_id=cid, limit=100)).items
                done = [lead for lead in leads if lead["status"] == "completed"]
                talking = [c for c in calls if c["status"] == "in_progress"]
                return (leads, calls) if done and talking else None

            leads_then, calls_then = await _until("a lead done and a call under way", 90,
                                                  mid_campaign)
    finally:
        first.process.kill()  # SIGKILL: nothing is cleaned up
        first.process.wait(10)
    reached = {lead["id"]: lead["last_call_id"] for lead in leads_then
               if lead["status"] == "completed"}
    cut = {c["id"] for c in calls_then if c["status"] == "in_progress"}

    second = _start(tmp_path)
    try:
        async with Client(second.url, second.api_key, timeout=30) as api:
            async def completed() -> dict[str, Any] | None:
                found = await api.campaigns.get(cid)
                return found if found["status"] == "completed" else None

            await _until("the campaign completed after the restart", 120, completed)
            leads = {lead["id"]: lead for lead in await api.leads(cid).all()}
            calls = (await api.list_calls(campaign_id=cid, limit=100)).items
    finally:
        second.stop()
    by_lead: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        by_lead.setdefault(call["lead_id"], []).append(call)
    assert set(by_lead) == set(leads)  # every lead was called
    for lead_id, last_call in reached.items():  # reached before the kill: never dialled again
        assert [c["id"] for c in by_lead[lead_id]] == [last_call]
        assert leads[lead_id]["attempts"] == 1
    for lead in leads.values():
        assert lead["attempts"] == len(by_lead[lead["id"]])
        assert lead["status"] == "completed"
    for call in calls:
        assert call["status"] not in ("queued", "ringing", "in_progress")
        if call["id"] in cut:  # answered when the engine died: ended by the restart
            assert call["disconnect_reason"] == "engine_restart" and call["status"] == "completed"
