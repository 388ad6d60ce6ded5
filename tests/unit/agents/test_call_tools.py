"""The engine's own tools over a real SQLite store: ``schedule_callback`` (the time a caller says,
read in their zone) and ``opt_out`` (the do-not-call list, the lead, the call ended), run by the
scripted brain and by the LLM brain (against the chat-completions server of test_llm)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from engine.agents import ScriptedBrain, ToolSpec, build_brain, collect, spoken_text
from engine.agents.call_tools import (
    OPT_OUT_CONFIRMATION,
    OPT_OUT_REASON,
    CallbackError,
    CallbackRequest,
    EngineTools,
    callback_note,
    callback_time,
    opt_out,
    schedule_callback,
)
from engine.speech.frames import BrainEvent, ToolCall
from engine.store import Call, Campaign, DoNotCall, Lead, ScheduledCallback, session_scope
from tests.harness.stores import fresh_store
from tests.unit.agents.test_llm import ChatServer, delta
from tests.unit.agents.test_llm import chat_server as chat_server  # the fixture

NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY_NOON_NY = datetime(2027, 1, 6, 17, 0, tzinfo=UTC)  # Wednesday 12:00 in New York
CALLEE = "+12025550142"  # Washington DC: America/New_York by region


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    db, org = fresh_store(tmp_path / "store.db")
    yield db, org
    db.dispose()


def campaign_call(db: Engine, org: str, *, number: str = CALLEE) -> tuple[str, str, str]:
    """A campaign's outbound call to a lead, under way: (call id, lead id, campaign id)."""
    with session_scope(db) as session:
        campaign = Campaign(organization_id=org, name="Renewals", timezone="UTC", status="running")
        lead = Lead(organization_id=org, campaign_id=campaign.id, phone_number=number,
                    name="Ada Lovelace", status="calling")
        other = Lead(organization_id=org, campaign_id=campaign.id, phone_number=number,
                     name="Ada again", status="pending")
        call = Call(organization_id=org, direction="outbound", from_number="+14155550100",
                    to_number=number, campaign_id=campaign.id, lead_id=lead.id,
                    status="in_progress")
        lead.last_call_id = call.id
        session.add_all([campaign, lead, other, call])
        return call.id, lead.id, campaign.id


def inbound_call(db: Engine, org: str, caller: str = CALLEE) -> str:
    with session_scope(db) as session:
        call = Call(organization_id=org, direction="inbound", from_number=caller,
                    to_number="+14155550100", status="in_progress")
        session.add(call)
        return call.id


# -- when: the time a caller says ------------------------------------------------------------


@pytest.mark.parametrize(("said", "local"), [
    ("tomorrow at 3", datetime(2027, 1, 7, 15, 0)),  # a bare 3 is the afternoon
    ("call me back tomorrow at 10 am", datetime(2027, 1, 7, 10, 0)),
    ("Friday at 2:30 pm", datetime(2027, 1, 8, 14, 30)),
    ("4 pm", datetime(2027, 1, 6, 16, 0)),  # later today
    ("11 am", datetime(2027, 1, 7, 11, 0)),  # passed today: tomorrow
    ("2027-01-09 9 am", datetime(2027, 1, 9, 9, 0)),  # a date slot and a time slot, filled in
    ("2027-01-07T09:30:00", datetime(2027, 1, 7, 9, 30)),  # ISO without an offset: the callee's zone
])
def test_callback_time_reads_what_a_caller_says_in_their_zone(said: str, local: datetime) -> None:
    assert callback_time(said, WEDNESDAY_NOON_NY, NEW_YORK) == local.replace(tzinfo=NEW_YORK).astimezone(UTC)


def test_callback_time_offsets_and_spans() -> None:
    assert callback_time("2027-01-07T15:00:00Z", WEDNESDAY_NOON_NY, NEW_YORK) == datetime(
        2027, 1, 7, 15, 0, tzinfo=UTC)
    assert callback_time("in 2 hours", WEDNESDAY_NOON_NY, NEW_YORK) == WEDNESDAY_NOON_NY + timedelta(hours=2)
    assert callback_time("in an hour", WEDNESDAY_NOON_NY, NEW_YORK) == WEDNESDAY_NOON_NY + timedelta(hours=1)


@pytest.mark.parametrize("said", ["", "whenever", "tomorrow", "2027-02-30 3 pm"])
def test_callback_time_without_a_time_names_the_field(said: str) -> None:
    with pytest.raises(CallbackError) as caught:
        callback_time(said, WEDNESDAY_NOON_NY, NEW_YORK)
    assert caught.value.field == "when"


# -- schedule_callback -----------------------------------------------------------------------


def test_schedule_callback_writes_the_row_for_the_calls_other_party(store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, lead_id, campaign_id = campaign_call(db, org)
    row = schedule_callback(db, CallbackRequest(org, call_id, "tomorrow at 3", reason="busy now",
                                                instructions="Offer the renewal discount"),
                            WEDNESDAY_NOON_NY)
    assert row["to_number"] == CALLEE and row["status"] == "scheduled"
    assert (row["campaign_id"], row["lead_id"], row["call_id"]) == (campaign_id, lead_id, call_id)
    assert row["scheduled_at"] == "2027-01-07T20:00:00.000000Z" == row["dial_at"]  # 3 PM in DC
    assert row["callback_call_id"] is None

    inbound = inbound_call(db, org, "+442071838750")  # London: read in London's zone
    row = schedule_callback(db, CallbackRequest(org, inbound, "tomorrow at 3"), WEDNESDAY_NOON_NY)
    assert row["to_number"] == "+442071838750" and row["campaign_id"] is None
    assert row["scheduled_at"] == "2027-01-07T15:00:00.000000Z"


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"when": "2027-01-06T09:00:00-05:00"}, "when"),  # in the past
    ({"when": "2029-01-06T09:00:00Z"}, "when"),  # more than a year ahead
    ({"when": "tomorrow at 3", "to_number": "12"}, "to_number"),
    ({"when": "tomorrow at 3", "reason": "x" * 501}, "reason"),
])
def test_a_bad_callback_request_names_the_field_and_writes_nothing(
        store: tuple[Engine, str], request_fields: dict[str, Any], field: str) -> None:
    db, org = store
    call_id, _, _ = campaign_call(db, org)
    with pytest.raises(CallbackError) as caught:
        schedule_callback(db, CallbackRequest(org, call_id, **request_fields), WEDNESDAY_NOON_NY)
    assert caught.value.field == field
    with session_scope(db) as session:
        assert session.exec(select(ScheduledCallback)).all() == []


def test_a_callback_for_another_organizations_call_is_not_found(store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, _, _ = campaign_call(db, org)
    with pytest.raises(LookupError):
        schedule_callback(db, CallbackRequest("someone-else", call_id, "tomorrow at 3"), WEDNESDAY_NOON_NY)


def test_callback_note_is_for_callback_calls_only() -> None:
    assert callback_note({"first_name": "Ada"}) is None
    note = callback_note({"callback_id": "cb1", "callback_reason": "driving",
                          "callback_instructions": "Ask about the Tuesday slot"})
    assert note == ("This call is a callback the person asked for. Reason: driving. "
                    "Instructions: Ask about the Tuesday slot")


# -- opt_out ---------------------------------------------------------------------------------


def test_opt_out_lists_the_number_blocks_its_leads_and_cancels_its_callbacks(
        store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, _, _ = campaign_call(db, org)
    schedule_callback(db, CallbackRequest(org, call_id, "tomorrow at 3"), WEDNESDAY_NOON_NY)
    done = opt_out(db, org, call_id, WEDNESDAY_NOON_NY)
    assert done == {"number": CALLEE, "added": True, "leads_blocked": 2, "callbacks_canceled": 1}
    with session_scope(db) as session:
        (listed,) = session.exec(select(DoNotCall)).all()
        assert (listed.number, listed.reason, listed.source) == (CALLEE, OPT_OUT_REASON, "opt_out")
        assert {lead.status for lead in session.exec(select(Lead)).all()} == {"do_not_call"}
        (callback,) = session.exec(select(ScheduledCallback)).all()
        assert (callback.status, callback.status_reason) == ("canceled", "do_not_call")
    again = opt_out(db, org, call_id, WEDNESDAY_NOON_NY)  # saying it twice lists it once
    assert again["added"] is False
    with session_scope(db) as session:
        assert len(session.exec(select(DoNotCall)).all()) == 1


OPT_OUT_SCRIPT: dict[str, Any] = {
    "greeting": "Hi {first_name}, this is Northwind about your renewal.",
    "opt_out": {"keywords": ["stop calling", "take me off", "do not call"]},
    "slots": {"callback_day": {"type": "date", "prompt": "Which day suits you?"},
              "callback_time": {"type": "time", "prompt": "At what time?"}},
    "intents": [
        {"name": "callback", "keywords": ["call me back", "call back", "later"],
         "slots": ["callback_day", "callback_time"],
         "actions": [{"schedule_callback": {"when": "{callback_day} {callback_time}",
                                            "reason": "asked during the renewal call",
                                            "instructions": "Pick up the renewal where we left it"},
                      "say": "Sure, I'll call you back {callback_day:date} at {callback_time}."},
                     {"goto": "anything_else"}]},
    ],
    "anything_else": "Anything else?",
}


def test_the_scripted_brain_opts_out_confirms_and_ends_the_call(store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, lead_id, _ = campaign_call(db, org)
    brain = ScriptedBrain(OPT_OUT_SCRIPT, variables={"first_name": "Ada"},
                          tool_runner=EngineTools(db, org, call_id).run)

    async def main() -> list[Any]:
        await collect(brain.greet())
        return await collect(brain.on_user_text("Please take me off your list and stop calling me."))

    out = asyncio.run(main())
    calls = [o for o in out if isinstance(o, ToolCall)]
    assert [(c.name, c.type) for c in calls] == [("opt_out", "opt_out"), ("end_call", "end_call")]
    assert spoken_text(out) == OPT_OUT_CONFIRMATION
    assert brain.ended
    with session_scope(db) as session:
        assert session.exec(select(DoNotCall.number, DoNotCall.reason)).all() == [(CALLEE, OPT_OUT_REASON)]
        lead = session.get(Lead, lead_id)
        assert lead is not None and lead.status == "do_not_call"


def test_the_scripted_brain_schedules_a_callback_from_its_slots(store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, _, _ = campaign_call(db, org)
    tools = EngineTools(db, org, call_id)
    brain = ScriptedBrain(OPT_OUT_SCRIPT, variables={"first_name": "Ada"}, tool_runner=tools.run,
                          today=datetime.now(NEW_YORK).date())  # the callee's day, as calls pass it

    async def main() -> tuple[list[Any], list[Any]]:
        first = await collect(brain.on_user_text("Can you call me back tomorrow?"))
        second = await collect(brain.on_user_text("At 3 in the afternoon."))
        return first, second

    first, second = asyncio.run(main())
    assert spoken_text(first) == "At what time?"
    calls = [o for o in second if isinstance(o, ToolCall)]
    assert [c.name for c in calls] == ["schedule_callback"]
    assert calls[0].arguments["instructions"] == "Pick up the renewal where we left it"
    assert spoken_text(second).startswith("Sure, I'll call you back ")
    assert "at 3 PM" in spoken_text(second) and not brain.ended
    with session_scope(db) as session:
        (row,) = session.exec(select(ScheduledCallback)).all()
    local = row.scheduled_at.astimezone(NEW_YORK)  # the callee's zone, by their number
    assert (local.hour, local.minute) == (15, 0)
    assert local.date() == datetime.now(NEW_YORK).date() + timedelta(days=1)
    assert row.reason == "asked during the renewal call"


def test_a_callback_the_store_refuses_is_asked_again(store: tuple[Engine, str]) -> None:
    db, org = store
    call_id, _, _ = campaign_call(db, org)
    script = {"intents": [{"name": "callback", "keywords": ["call me back"],
                           "actions": [{"schedule_callback": {"when": "{said}"}, "say": "Booked."}]}]}
    brain = ScriptedBrain(script, tool_runner=EngineTools(db, org, call_id).run)
    out = asyncio.run(collect(brain.on_user_text("call me back whenever")))
    errors = [o.data for o in out if isinstance(o, BrainEvent) and o.kind == "tool_error"]
    assert errors and "when:" in errors[0]["error"]
    assert "couldn't book a call back" in spoken_text(out)


def test_the_llm_brain_opts_out_and_ends_the_call_without_asking_the_model_again(
        store: tuple[Engine, str], chat_server: ChatServer) -> None:
    db, org = store
    call_id, lead_id, _ = campaign_call(db, org)
    chat_server.replies.append([
        delta(tool_calls=[{"index": 0, "id": "call_7", "type": "function",
                           "function": {"name": "opt_out", "arguments": "{}"}}]),
        delta(finish="tool_calls"),
    ])
    tools = [ToolSpec.from_template({"name": "Do not call", "type": "opt_out"}),
             ToolSpec.from_template({"name": "schedule", "type": "schedule_callback"})]
    brain = build_brain({"brain": {"kind": "llm", "base_url": chat_server.url, "model": "m"},
                         "system_prompt": "You call about renewals."},
                        tools=tools, tool_runner=EngineTools(db, org, call_id).run)

    async def main() -> list[Any]:
        out = await collect(brain.on_user_text("Stop calling me."))
        await brain.aclose()
        return out

    out = asyncio.run(main())
    offered = {t["function"]["name"]: t["function"] for t in chat_server.requests[0]["tools"]}
    assert set(offered) == {"opt_out", "schedule_callback"}
    assert offered["schedule_callback"]["parameters"]["required"] == ["when"]
    assert len(chat_server.requests) == 1
    assert [(c.name, c.type) for c in out if isinstance(c, ToolCall)] == [
        ("opt_out", "opt_out"), ("end_call", "end_call")]
    assert spoken_text(out) == OPT_OUT_CONFIRMATION and brain.ended
    with session_scope(db) as session:
        assert session.exec(select(DoNotCall.number)).all() == [CALLEE]
        lead = session.get(Lead, lead_id)
        assert lead is not None and lead.status == "do_not_call"
