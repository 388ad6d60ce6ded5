"""The scripted brain holding the demo agents' conversations (engine.demo.scripts)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from engine.agents import ScriptedBrain, ToolSpec, build_brain, collect, spoken_text
from engine.agents.brain import BrainOutput
from engine.demo.scripts import appointments_script, billing_script, order_status_script
from engine.speech.frames import BrainEvent, BrainText, ToolCall

TOOLS = [
    ToolSpec("lookup_order"),
    ToolSpec("transfer_to_billing_desk", type="transfer_call"),
    ToolSpec("end_call", type="end_call"),
]
TODAY = date(2025, 3, 10)  # a Monday


class Orders:
    """The order-lookup webhook, answering from a dict."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    async def __call__(self, call: ToolCall) -> Mapping[str, Any]:
        self.calls.append(call)
        if call.arguments["order_number"] != "42715":
            raise LookupError("no such order")
        return {"status": "out for delivery", "detail": "It should arrive today."}


def turn(brain: ScriptedBrain, said: str) -> list[BrainOutput]:
    if said.startswith("#"):
        return asyncio.run(collect(brain.on_dtmf(said[1:])))
    return asyncio.run(collect(brain.on_user_text(said)))


def said(outputs: list[BrainOutput]) -> str:
    return spoken_text(outputs)


def tool_calls(outputs: list[BrainOutput]) -> list[ToolCall]:
    return [o for o in outputs if isinstance(o, ToolCall)]


def events(outputs: list[BrainOutput], kind: str) -> list[BrainEvent]:
    return [o for o in outputs if isinstance(o, BrainEvent) and o.kind == kind]


def test_order_status_asks_for_the_order_number_and_captures_it() -> None:
    orders = Orders()
    brain = ScriptedBrain(order_status_script(), tools=TOOLS, tool_runner=orders, today=TODAY)
    greeting = said(asyncio.run(collect(brain.greet())))
    assert greeting.startswith("Hi, thanks for calling Northwind Outfitters.")

    out = turn(brain, "I would like to check my order status.")
    assert events(out, "intent")[0].data == {"name": "order_status"}
    assert "order number" in said(out)

    out = turn(brain, "My order number is 4 2 7.")  # too short: re-asked
    assert "one digit at a time" in said(out) and not orders.calls

    out = turn(brain, "It's four two seven one five.")
    assert events(out, "slot")[0].data == {"name": "order_number", "value": "42715"}
    assert [c.arguments for c in tool_calls(out)] == [{"order_number": "42715"}]
    assert "Order 4 2 7 1 5 is out for delivery. It should arrive today." in said(out)
    assert said(out).endswith("Is there anything else I can help you with?")
    assert brain.slots == {"order_number": "42715"}

    out = turn(brain, "No thanks, that's all.")
    assert said(out) == "Thanks for calling Northwind Outfitters. Have a great day!"
    assert [(c.name, c.type) for c in tool_calls(out)] == [("end_call", "end_call")]
    assert brain.ended and turn(brain, "hello?") == []


def test_order_number_in_the_first_sentence_is_used_and_a_failed_lookup_is_said() -> None:
    brain = ScriptedBrain(order_status_script(), tools=TOOLS, tool_runner=Orders())
    asyncio.run(collect(brain.greet()))
    out = turn(brain, "Where is my order 55555?")
    assert events(out, "tool_error") and "couldn't find order 5 5 5 5 5" in said(out)


def test_order_status_escalates_to_a_transfer_when_asked_for_a_person() -> None:
    brain = ScriptedBrain(order_status_script(), tools=TOOLS, tool_runner=Orders())
    asyncio.run(collect(brain.greet()))
    turn(brain, "I want to track my package")
    out = turn(brain, "Can I talk to a human?")
    assert events(out, "escalation")
    assert [(c.name, c.type) for c in tool_calls(out)] == [("transfer_to_billing_desk", "transfer_call")]


def test_billing_escalates_to_the_billing_desk_transfer() -> None:
    brain = ScriptedBrain(billing_script(), tools=TOOLS)
    asyncio.run(collect(brain.greet()))
    out = turn(brain, "When is my bill due?")
    assert "15th of each month" in said(out)
    out = turn(brain, "I want to dispute a charge, it's the wrong amount")
    assert [(c.name, c.type) for c in tool_calls(out)] == [("transfer_to_billing_desk", "transfer_call")]
    assert brain.ended


def test_billing_menu_after_a_miss_and_dtmf_selection_is_kept() -> None:
    brain = ScriptedBrain(billing_script(), tools=TOOLS)
    asyncio.run(collect(brain.greet()))
    assert said(turn(brain, "banana helicopter")) == "Sorry, I didn't understand that."
    assert "Press 1 for due dates" in said(turn(brain, "purple monkey dishwasher"))
    out = turn(brain, "#7")
    assert "isn't one of the options" in said(out) and "Press 1" in said(out)
    out = turn(brain, "#2")
    match = events(out, "menu_match")[0].data
    assert (match["menu"], match["intent"]) == ("Double charge", "double_charge")
    assert "duplicate charge" in said(out)
    assert brain.menu_matches == [{"menu": "Double charge", "digit": "2", "phrase": None,
                                   "matched_text": "2", "confidence": 1.0}]
    assert brain.menu_final_selection == "Double charge"
    assert said(turn(brain, "yes")) == "Sure, what else can I help you with?"
    out = turn(brain, "#0")
    assert [c.type for c in tool_calls(out)] == ["transfer_call"]
    assert brain.menu_final_selection == "Billing desk"


def test_appointments_collects_date_time_and_name() -> None:
    brain = ScriptedBrain(appointments_script(), tools=TOOLS, today=TODAY)
    assert "Harbor Dental" in said(asyncio.run(collect(brain.greet())))
    assert said(turn(brain, "I'd like to book an appointment.")) == "What day works best for you?"
    assert "what time" in said(turn(brain, "Next Tuesday, please.")).lower()
    assert "full name" in said(turn(brain, "10 a.m.")).lower()
    out = turn(brain, "My name is Jane Doe.")
    assert said(out).startswith(
        "Great, Jane Doe. You're booked for Tuesday, March 11 at 10 AM, at 212 Pier Street."
    )
    assert brain.slots == {"date": "2025-03-11", "time": "10 AM", "name": "Jane Doe"}
    out = turn(brain, "No, that's all.")
    assert [c.type for c in tool_calls(out)] == ["end_call"]


def test_appointments_reasks_then_takes_a_message_on_escalation() -> None:
    brain = ScriptedBrain(appointments_script(), tools=TOOLS, today=TODAY)
    asyncio.run(collect(brain.greet()))
    turn(brain, "I want to schedule a cleaning")
    assert "which day" in said(turn(brain, "hmm let me think")).lower()
    turn(brain, "not sure")
    out = turn(brain, "I really don't know")  # third miss: max_attempts reached
    assert events(out, "escalation") and events(out, "take_message")
    out = turn(brain, "This is Sam, call me back at 555 0100")
    assert events(out, "message")[0].data["text"].startswith("This is Sam")
    assert [c.type for c in tool_calls(out)] == ["end_call"]


def test_dynamic_variables_fill_the_greeting_and_fallbacks_escalate() -> None:
    brain = build_brain(
        {"brain": {"kind": "scripted"}, "script": order_status_script()},
        tools=TOOLS,
        variables={"company": "Acme Corp"},
    )
    assert isinstance(brain, ScriptedBrain)
    assert "Acme Corp" in said(asyncio.run(collect(brain.greet())))
    turn(brain, "zzz")
    turn(brain, "qqq")
    out = turn(brain, "xyzzy")  # max_consecutive 2, then escalate
    assert [c.type for c in tool_calls(out)] == ["transfer_call"]


def test_checkpoint_and_rollback_undo_a_speculative_turn() -> None:
    brain = ScriptedBrain(order_status_script(), tools=TOOLS, tool_runner=Orders())
    asyncio.run(collect(brain.greet()))
    snapshot = brain.checkpoint()
    turn(brain, "check my order")
    assert brain.state.slot == "order_number"
    brain.rollback(snapshot)
    assert brain.state.slot is None and brain.state.intent is None


def test_inject_context_with_reply_acts_on_the_instruction() -> None:
    brain = ScriptedBrain(billing_script(), tools=TOOLS)
    asyncio.run(collect(brain.greet()))
    assert asyncio.run(collect(brain.inject_context("VIP caller"))) == []
    out = asyncio.run(collect(brain.inject_context("transfer them to a human", reply=True)))
    assert [c.type for c in tool_calls(out)] == ["transfer_call"]
    assert brain.context == ["VIP caller", "transfer them to a human"]


def test_a_brain_without_a_script_greets_with_the_first_message() -> None:
    brain = build_brain({"first_message": "Hello from {company}.", "script": {}}, variables={"company": "X"})
    out = asyncio.run(collect(brain.greet()))
    assert out == [BrainText("Hello from X.")]
    with pytest.raises(ValueError, match="unknown brain kind"):
        build_brain({"brain": {"kind": "oracle"}})
