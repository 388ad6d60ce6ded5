"""Opting out over real SIP on loopback: a campaign dials a simulated person (a persona of this
test's own, read from a YAML file like the shipped ones) who says "Please stop calling me, take
me off your list"; the scripted agent hears it (whisper tiny.en), calls its ``opt_out`` tool,
confirms and hangs up. The number is on the do-not-call list, the lead is ``do_not_call`` (so is
the same number's lead waiting in another campaign; the lead's ``campaign.progress`` says so),
and the dialer never dials it again: the campaign completes with that one call."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from engine.agents.call_tools import OPT_OUT_REASON
from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.events import CampaignProgress, parse_event
from engine.simulator.callee import SimulatedCallees
from tests.harness.sip_engine import settled, sip_settings
from tests.harness.waiting import wait_for

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = [pytest.mark.timeout(240), pytest.mark.asyncio]

CALLEE = "+12025550187"  # answered by this test's plan
CALLER_ID = "+12025550100"
CONFIRMATION = "Understood. I have taken your number off our list. Goodbye."
PERSONA = """\
name: stop_calling
description: A person who does not want these calls and says so at once.
goal: Be taken off the caller's list.
steps:
  - wait: {}
  - say: Please stop calling me. Take me off your list.
  - wait: {timeout: 20}
  - silence: 30
"""  # the silence keeps the line open: the agent is the one to hang up
SCRIPT = {
    "greeting": "Hello, this is Northwind calling about your annual check-up.",
    "opt_out": {"keywords": ["stop calling", "take me off", "off your list", "do not call",
                             "don't call"],
                "say": CONFIRMATION},
    "fallback": {"say": ["Sorry, could you say that again?"]},
}
CALL_LIMIT_S = 60  # the agent's max duration: the opt-out ends the call long before


async def test_a_person_who_opts_out_is_never_called_again(tmp_path: Path) -> None:
    personas = tmp_path / "personas"
    personas.mkdir()
    (personas / "stop_calling.yaml").write_text(PERSONA, encoding="utf-8")
    engine = Engine(sip_settings(tmp_path / "engine"))
    key = engine.setup()
    assert key is not None
    await engine.start()
    callees: SimulatedCallees | None = None
    client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                    timeout=30)
    try:
        assert engine.telephony is not None and engine.dialer is not None
        await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
        callees = SimulatedCallees({CALLEE: "persona:stop_calling"}, personas=personas,
                                   stt=engine.telephony.agents.models.whisper, codec="g722")
        await callees.start()
        trunk = await client.sip_trunks.create(
            name="Simulated person", host="127.0.0.1", port=callees.port, transport="udp",
            register_enabled=False, codecs=["G722", "PCMU", "PCMA", "telephone-event"],
            caller_id=CALLER_ID)
        number = await client.phone_numbers.create(number=CALLER_ID, sip_trunk_id=trunk["id"])
        agent = await client.agents.create(
            name="Check-ups", first_message=SCRIPT["greeting"], script=SCRIPT,
            max_duration_seconds=CALL_LIMIT_S, stt={"engine": "whisper", "model": "tiny.en"},
            tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 175})
        hours = {"calling_hours_start": "00:00", "calling_hours_end": "24:00",
                 "calling_days": list(range(7))}
        campaign = await client.campaigns.create(
            name="Check-ups", agent_id=agent["id"], phone_number_id=number["id"], max_concurrent=1,
            max_attempts=3, retry_on=["no_answer", "busy", "failed"], amd="off", **hours)
        later = await client.campaigns.create(name="Renewals", agent_id=agent["id"],
                                              phone_number_id=number["id"], **hours)
        lead = await client.leads(campaign["id"]).create(phone_number=CALLEE, name="Ann Lee")
        waiting = await client.leads(later["id"]).create(phone_number=CALLEE, name="Ann Lee")
        events = engine.bus.subscribe(engine.organization_id)
        await client.start_campaign(campaign["id"])

        async with asyncio.timeout(150):
            while True:
                if (await client.leads(campaign["id"]).get(lead["id"]))["status"] not in (
                        "pending", "calling"):
                    break
                await asyncio.sleep(0.5)
        await settled(engine, 30)

        stored = await client.leads(campaign["id"]).get(lead["id"])
        assert (stored["status"], stored["attempts"], stored["next_attempt_at"]) == (
            "do_not_call", 1, None)
        assert (await client.leads(later["id"]).get(waiting["id"]))["status"] == "do_not_call"
        listed = (await client.do_not_call(number=CALLEE)).items
        assert [(e["number"], e["reason"], e["source"]) for e in listed] == [
            (CALLEE, OPT_OUT_REASON, "opt_out")]

        call = await client.get_call(stored["last_call_id"])
        assert call["answered_at"] and call["disconnect_reason"] == "agent_hangup", call
        said = " ".join(e["text"] for e in call["transcript"]["entries"] if e["source"] == "agent")
        assert CONFIRMATION in said, said
        progress = []
        while not events.queue.empty():
            event = parse_event(events.queue.get_nowait())
            if isinstance(event, CampaignProgress) and event.lead_id == lead["id"]:
                progress.append(event.lead_status)
        assert progress == ["calling", "do_not_call"]  # the console's row follows the opt-out
        (result,) = await wait_for(lambda: callees.results, 15, "the callee's end of the call")
        assert result.answered and result.error is None, result

        # the dialer is done with the campaign: it completes with the one call, and dials no more
        engine.dialer.kick()
        async with asyncio.timeout(30):
            while True:
                if (await client.campaigns.get(campaign["id"]))["status"] == "completed":
                    break
                await asyncio.sleep(0.5)
        assert [c for _, c_id, c in engine.dialer.dialled if c_id == campaign["id"]] == [
            stored["last_call_id"]]
        assert (await client.list_calls(campaign_id=campaign["id"], limit=10)).total == 1
    finally:
        await client.aclose()
        if callees is not None:
            await callees.stop()
        await engine.stop()
        engine.close()
