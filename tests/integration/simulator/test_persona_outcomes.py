"""Every persona against the demo agents over real SIP/RTP on loopback, judged twice: by the
caller itself (what it heard, who hung up) and by engine.simulator.outcome against the call's row
and events as the engine's API returns them.

The calls run a few at a time on one engine (whisper tiny.en hears both sides of each call);
each test then reads its persona's call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.demo.scripts import (
    END_CALL_TOOL,
    ORDER_LOOKUP_TOOL,
    TRANSFER_TOOL,
    appointments_script,
    billing_script,
    order_status_script,
)
from engine.simulator import CallResult, SimulatedCaller, load_persona, persona_names
from engine.simulator.outcome import (
    barge_ins,
    dtmf_received,
    outcome_missing,
    tools_called,
    transfer_requested,
    user_lines,
    words_misheard,
)
from engine.store import Agent, PhoneNumber, ToolTemplate, session_scope
from engine.store.vocabulary import call_problems
from tests.harness.sip_engine import settled, sip_settings

os.environ["HF_HUB_OFFLINE"] = "1"

ORDERS = "+14155550134"
BILLING = "+14155550178"
APPOINTMENTS = "+12125550142"
FRONT_DESK = "+14155550199"  # the order-status agent with a short idle timeout
IDLE_TIMEOUT_S = 8
# Which demo agent each persona calls
ROUTES = {
    "order_status": ORDERS,
    "wants_human": ORDERS,
    "interrupter": ORDERS,
    "silent_caller": FRONT_DESK,
    "ivr_presser": BILLING,
    "billing_dispute": BILLING,
    "appointment_booking": APPOINTMENTS,
    "wrong_number": APPOINTMENTS,
    "quick_question": BILLING,  # the test calls' default, for any agent
}
# Calls at once: each has two whisper streams (the agent's and the caller's) on 2 cores
CONCURRENT = 3
CALL_LIMIT_S = 90.0

pytestmark = [pytest.mark.timeout(420), pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Played:
    result: CallResult
    row: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def missing(self) -> list[str]:
        return outcome_missing(load_persona(self.result.persona).success.outcome, self.row,
                               self.events)

    def why(self) -> str:
        return (f"caller: {self.result.goal_missing}, row: {self.missing}\n"
                f"said: {[s.text for s in self.result.said]}\nheard: {self.result.heard_text}\n"
                f"agent transcript: {[(e['source'], e['text']) for e in self.row['transcript']['entries']]}\n"
                f"reason: {self.row['disconnect_reason']} events: "
                f"{[e['event_type'] for e in self.events]}")


def _demo_agents(engine: Engine) -> None:
    """The demo's three agents (scripts, tools, voices) on their numbers, and the order-status
    agent once more on FRONT_DESK with a short idle timeout."""
    org = engine.organization_id
    with session_scope(engine.db) as session:
        tools = [ToolTemplate(organization_id=org, name=ORDER_LOOKUP_TOOL, type="function",
                              function={"name": ORDER_LOOKUP_TOOL}),
                 ToolTemplate(organization_id=org, name=TRANSFER_TOOL, type="transfer_call",
                              transfer={"destinations": [{"to": "sip:1001@pbx.example",
                                                          "label": "Billing desk"}]}),
                 ToolTemplate(organization_id=org, name=END_CALL_TOOL, type="end_call")]
        session.add_all(tools)
        ids = [t.id for t in tools]
        whisper = {"engine": "whisper", "model": "tiny.en"}
        orders, billing, booking = order_status_script(), billing_script(), appointments_script()
        agents = {
            ORDERS: Agent(organization_id=org, name="Order status",
                          first_message=orders["greeting"], script=orders, stt=whisper,
                          tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170,
                               "pitch": 55}, tool_ids=ids, idle_timeout_seconds=30),
            BILLING: Agent(organization_id=org, name="Billing", first_message=billing["greeting"],
                           script=billing, stt=whisper,
                           tts={"engine": "espeak-ng", "voice": "en-gb-x-rp", "rate": 160,
                                "pitch": 42}, tool_ids=ids[1:], idle_timeout_seconds=30),
            APPOINTMENTS: Agent(organization_id=org, name="Appointments",
                                first_message=booking["greeting"], script=booking, stt=whisper,
                                tts={"engine": "espeak-ng", "voice": "en-us+m3", "rate": 180,
                                     "pitch": 50}, tool_ids=ids[2:], idle_timeout_seconds=30),
            FRONT_DESK: Agent(organization_id=org, name="Front desk",
                              first_message=orders["greeting"], script=orders, stt=whisper,
                              tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170,
                                   "pitch": 55}, tool_ids=ids,
                              idle_timeout_seconds=IDLE_TIMEOUT_S, idle_max_prompts=1),
        }
        session.add_all(agents.values())
        session.add_all(PhoneNumber(organization_id=org, number=number, label=agent.name,
                                    agent_id=agent.id) for number, agent in agents.items())


async def _play(engine: Engine, port: int, persona: str, gate: asyncio.Semaphore) -> CallResult:
    async with gate:
        stt = engine.telephony.agents.models.whisper()
        caller = SimulatedCaller(load_persona(persona), stt)
        number = ROUTES[persona].lstrip("+")
        return await caller.call(f"sip:{number}@127.0.0.1:{port}", limit_s=CALL_LIMIT_S)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def played(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Played]]:
    """Every persona's call, played against the demo agents, with its row and events read back
    through the engine's API."""
    data_dir: Path = tmp_path_factory.mktemp("persona-outcomes")
    engine = Engine(sip_settings(data_dir))
    key = engine.setup()
    assert key is not None
    _demo_agents(engine)
    await engine.start()
    try:
        assert engine.telephony is not None
        await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
        gate = asyncio.Semaphore(CONCURRENT)
        names = sorted(ROUTES, key=lambda n: -len(load_persona(n).steps))  # long calls first
        results = await asyncio.gather(*(_play(engine, engine.telephony.port, name, gate)
                                         for name in names))
        await settled(engine, 60)
        client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                        timeout=30)
        try:
            calls = (await client.list_calls(limit=100)).items
            by_sip = {c["sip_call_id"]: c["id"] for c in await asyncio.gather(
                *(client.get_call(c["id"]) for c in calls))}
            out: dict[str, Played] = {}
            for result in results:
                call_id = by_sip[result.sip_call_id]
                out[result.persona] = Played(result, await client.get_call(call_id),
                                             await client.call_events(call_id))
        finally:
            await client.aclose()
        yield out
    finally:
        await engine.stop()
        engine.close()


async def test_every_persona_is_played() -> None:
    assert sorted(ROUTES) == persona_names()


@pytest.mark.parametrize("persona", sorted(ROUTES))
async def test_the_persona_reaches_its_goal(played: dict[str, Played], persona: str) -> None:
    call = played[persona]
    assert call.result.answered and call.result.error is None, call.why()
    assert call.result.goal_reached, call.why()  # the caller's own judgement
    assert call.missing == [], call.why()  # the call's row
    assert call.row["status"] == "completed", call.why()


async def test_order_status_calls_the_order_lookup(played: dict[str, Played]) -> None:
    call = played["order_status"]
    assert ORDER_LOOKUP_TOOL in tools_called(call.row, call.events), call.why()
    assert not transfer_requested(call.row, call.events), call.why()


@pytest.mark.parametrize("persona", ["wants_human", "interrupter", "billing_dispute"])
async def test_a_caller_after_a_person_gets_a_transfer_attempt(played: dict[str, Played],
                                                              persona: str) -> None:
    call = played[persona]
    assert transfer_requested(call.row, call.events), call.why()
    assert TRANSFER_TOOL in tools_called(call.row, call.events), call.why()


async def test_the_silent_caller_is_hung_up_on_when_idle(played: dict[str, Played]) -> None:
    call = played["silent_caller"]
    assert call.result.ended_by == "agent", call.why()
    assert call.row["disconnect_reason"] == "idle_timeout", call.why()
    assert user_lines(call.row) == [], call.why()  # it never spoke
    assert "agent.idle_prompt" in [e["event_type"] for e in call.events], call.why()


async def test_the_ivr_pressers_digit_is_in_the_calls_events(played: dict[str, Played]) -> None:
    call = played["ivr_presser"]
    assert call.result.dtmf == "1"
    assert dtmf_received(call.row, call.events) == "1", call.why()


async def test_the_interrupters_barge_in_is_counted(played: dict[str, Played]) -> None:
    call = played["interrupter"]
    assert any(s.barge_in for s in call.result.said)
    assert barge_ins(call.row) >= 1, call.why()
    assert any(e["interrupted"] for e in call.row["transcript"]["entries"]
               if e["source"] == "agent"), call.why()


async def test_the_wrong_number_apologises_and_hangs_up(played: dict[str, Played]) -> None:
    call = played["wrong_number"]
    assert call.result.ended_by == "caller", call.why()
    assert call.row["disconnect_reason"] == "caller_hangup", call.why()
    assert "wrong number" in call.result.said[-1].text, call.why()


# The silent caller says nothing; the ivr presser's first line is meant not to be understood
@pytest.mark.parametrize("persona", sorted(set(ROUTES) - {"silent_caller", "ivr_presser"}))
async def test_the_agent_heard_most_of_the_callers_words(played: dict[str, Played],
                                                        persona: str) -> None:
    call = played[persona]
    report = words_misheard([s.text for s in call.result.said], user_lines(call.row))
    assert report.words > 0
    assert report.wer < 0.6, (report, call.why())  # whisper tiny.en through G.711


async def test_every_call_is_in_the_call_vocabulary(played: dict[str, Played]) -> None:
    """The live calls speak the call vocabulary (the same test reads a demo store's calls in
    tests/unit/test_demo_seed.py): reasons, statuses, SIP code, speech facts, menu matches."""
    voices = {ORDERS: "en-us+f3", BILLING: "en-gb-x-rp", APPOINTMENTS: "en-us+m3",
              FRONT_DESK: "en-us+f3"}
    for persona, call in played.items():
        row = call.row
        assert call_problems(row) == [], (persona, call.why())
        assert row["sip_status_code"] == 200, persona  # the answer the engine sent
        meta = row["metadata"]
        assert (meta["stt_engine"], meta["stt_model"], meta["stt_language"]) == (
            "whisper", "tiny.en", "en-US"), persona
        assert meta["tts_voice"] == voices[ROUTES[persona]], persona
    meta = played["ivr_presser"].row["metadata"]
    [match] = meta["menu_matches"]
    assert (match["menu"], match["digit"], match["phrase"], match["matched_text"],
            match["confidence"]) == ("Due dates", "1", None, "1", 1.0), match
    row = played["ivr_presser"].row
    times = [datetime.fromisoformat(t) for t in (row["answered_at"], match["at"], row["ended_at"])]
    assert times == sorted(times), match
    assert meta["menu_final_selection"] == match
