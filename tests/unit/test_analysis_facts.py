"""The heuristic analysis told what the store knows of a call: a call without intelligible caller
speech still gets a summary of what happened, a completed transfer decides a transfer outcome, a
re-run keeps what the template still defines, success comes with its reason; costs read with
their currency and price units; a transfer names what comes after it."""

from __future__ import annotations

from engine.calls.analysis import (
    CallFacts,
    Utterance,
    analyse,
    choose_outcome,
    intelligible,
    keep_defined,
)
from engine.calls.costs import CURRENCY, CallUsage, Rates, call_costs, cost_lines
from engine.calls.transfers.attempts import next_transfer, queued_destination
from engine.store import Transfer

OUTCOMES = ["order_status_provided", "resolved", "transferred_to_human", "callback_requested",
            "unresolved", "abandoned", "not_connected"]
SCHEMA = {"type": "object", "properties": {
    "order_number": {"type": "string"}, "order_status": {"type": "string"},
    "issue_type": {"type": "string", "enum": ["order_status", "address_change", "return", "other"]},
    "follow_up_needed": {"type": "boolean"}}}
TEMPLATE = {"outcomes": OUTCOMES, "structured_data_schema": SCHEMA,
            "success_criteria": "The caller's question was answered or the call reached a person."}
# a demo call (engine.demo.conversations.orders: a delayed order, the caller wants a refund) that
# the demo data says was transferred to a person; its words favour the order outcome
TRANSFERRED = [
    Utterance("agent", "Hi, thanks for calling Northwind Outfitters. I can check the status of an "
                       "order. How can I help?"),
    Utterance("user", "Yeah hi, I'm just wondering where my delivery is."),
    Utterance("agent", "Sure. What's your order number? It's on your confirmation email."),
    Utterance("user", "Order number 4 6 0 6 3 1 0 7."),
    Utterance("agent", "Order four six zero six three one zero seven is delayed. It's delayed at "
                       "the UPS depot. The new estimate is Thursday. I'm sorry about the wait. Is "
                       "there anything else I can help you with?"),
    Utterance("user", "That's the second delay. Can I talk to someone about a refund?"),
    Utterance("agent", "Of course. Let me connect you with someone from our team."),
    Utterance("system", "Transferring the call to the billing desk (warm transfer)."),
    Utterance("human_agent", "Hi, this is Priya from the billing desk. I've got the notes: "
                             "delayed order, caller wants a refund. I can take it from here."),
    Utterance("user", "Oh good, thanks."),
]


def test_a_call_without_intelligible_caller_speech_says_what_happened() -> None:
    talk = [Utterance("agent", "Hello, this is Nova from Acme Parcel. How can I help?"),
            Utterance("user", "[BLANK_AUDIO]"),
            Utterance("agent", "Sorry, I didn't catch that. Are you still there?"),
            Utterance("user", "(coughs) ..."),
            Utterance("agent", "I can't hear you, so I'll end the call now. Goodbye.")]
    facts = CallFacts(status="completed", duration_seconds=12, disconnect_reason="caller_hangup")
    result = analyse(talk, TEMPLATE, facts=facts)
    assert result.summary.startswith(
        'The caller said nothing the agent could understand; the agent said: "Hello, this is '
        'Nova from Acme Parcel. How can I help?", then spoke 2 more times, last: "I can\'t hear '
        'you, so I\'ll end the call now. Goodbye."')
    assert "; the call ended after 12 s by the caller hanging up." in result.summary
    assert result.success is False
    assert result.success_reason == "The caller said nothing the agent could understand."
    assert not intelligible("[BLANK_AUDIO]") and not intelligible("... (music) *cough*")
    assert intelligible("no") and intelligible("Ja, bitte")

    silent = analyse([Utterance("agent", "Hello?")], TEMPLATE,
                     facts=CallFacts(status="completed", duration_seconds=75,
                                     disconnect_reason="idle_timeout"))
    assert silent.summary == ('The caller did not speak; the agent said: "Hello?"; the call '
                              "ended after 1 min 15 s by the agent, after silence.")
    unanswered = analyse([], TEMPLATE, facts=CallFacts(status="no_answer"))
    assert unanswered.summary == "No conversation took place: the call was no answer."
    assert unanswered.success_reason == "The call was not connected (no answer)."


def test_a_completed_transfer_decides_the_transfer_outcome() -> None:
    # the words favour the order outcome ...
    assert choose_outcome(OUTCOMES, TRANSFERRED) == "order_status_provided"
    # ... the transfer that happened decides
    result = analyse(TRANSFERRED, TEMPLATE,
                     facts=CallFacts(status="completed", duration_seconds=95,
                                     disconnect_reason="transferred", transferred=True))
    assert result.outcome == "transferred_to_human"
    assert result.success is True and result.success_reason is not None
    assert result.success_reason.startswith('Criterion "The caller\'s question was answered or '
                                            'the call reached a person."')
    assert "so it was met" in result.success_reason


def test_a_rerun_keeps_what_the_template_still_defines() -> None:
    previous = {"summary": "The caller asked for a person and was transferred.",
                "outcome": "transferred_to_human", "success": True,
                "success_reason": "Reached a person.", "sentiment": "neutral",
                "sentiment_score": 5,
                "structured_data": {"issue_type": "other", "follow_up_needed": True,
                                    "retired_field": "x"}}
    rerun = analyse(TRANSFERRED[:2], {**TEMPLATE, "outcomes": [*OUTCOMES, "other"]},
                    "completed")
    assert rerun.outcome != "transferred_to_human" and "issue_type" not in rerun.structured_data
    kept = keep_defined(rerun, previous, TEMPLATE)
    assert kept.structured_data["issue_type"] == "other"
    assert kept.structured_data["follow_up_needed"] is True
    assert "retired_field" not in kept.structured_data  # the template no longer defines it
    assert kept.summary == rerun.summary  # the new run's own findings stand
    # an outcome the new run found no evidence of ("other", none) keeps the one before
    quiet = keep_defined(analyse([], {"outcomes": ["other", *OUTCOMES]}, "completed"), previous,
                         {"outcomes": ["other", *OUTCOMES]})
    assert quiet.outcome == "transferred_to_human"
    # ... unless the template no longer has it
    assert keep_defined(analyse([], {"outcomes": ["other"]}, "completed"), previous,
                        {"outcomes": ["other"]}).outcome == "other"


def test_costs_read_with_currency_and_price_units() -> None:
    rates = Rates()
    amounts, _ = call_costs(_usage(), rates)
    costs = {"stt": amounts["cost_stt_micro_usd"], "tts": amounts["cost_tts_micro_usd"],
             "llm": amounts["cost_llm_micro_usd"], "telephony": amounts["cost_telephony_micro_usd"]}
    lines = cost_lines(costs, amounts["cost_details"], rates)
    by_metric = {line["metric"]: line for line in lines}
    assert {line["currency"] for line in lines} == {CURRENCY} == {"USD"}
    assert (by_metric["audio_seconds"]["unit"], by_metric["audio_seconds"]["rate_unit"],
            by_metric["audio_seconds"]["rate_micro_usd"]) == ("seconds", "per minute", 6000)
    assert (by_metric["characters"]["rate_unit"], by_metric["characters"]["rate_micro_usd"]) == (
        "per 1k characters", 15000)
    assert by_metric["prompt_tokens"]["rate_unit"] == "per 1M tokens"
    assert by_metric["prompt_tokens"]["rate_micro_usd"] == 150000
    assert by_metric["minutes"]["quantity"] == 2 and by_metric["minutes"]["rate_unit"] == "per minute"
    assert sum(line["cost_micro_usd"] for line in lines) == amounts["cost_total_micro_usd"]
    llm = [line for line in lines if line["kind"] == "llm"]
    assert sum(line["cost_micro_usd"] for line in llm) == costs["llm"]


def _usage() -> CallUsage:
    return CallUsage(stt_seconds=42.0, tts_characters=800, llm_prompt_tokens=3000,
                     llm_completion_tokens=500, telephony_seconds=75.0)


def test_a_transfer_names_what_comes_after_it() -> None:
    destinations = [{"to": "+14155550101", "label": "Desk"}, {"to": "user:u1", "label": "Sam"},
                    {"to": "+14155550103", "label": "Backup"}]
    running = Transfer(organization_id="o", call_id="c", kind="warm", status="consulting",
                       destinations=destinations,
                       routing_attempts=[{"to": "+14155550101", "status": "failed"}])
    # consulting Sam now (attempt 1): the backup is queued next
    assert queued_destination(running) == {"id": None, "kind": "warm", "status": "queued",
                                           "to": "+14155550103", "label": "Backup", "attempt": 2}
    on_last = Transfer(organization_id="o", call_id="c", kind="warm", status="consulting",
                       destinations=destinations, routing_attempts=[{}, {}])
    assert next_transfer(on_last, None) is None
    failed = Transfer(organization_id="o", call_id="c", kind="warm", status="failed",
                      destinations=destinations, routing_attempts=[{}, {}, {}])
    after = Transfer(organization_id="o", call_id="c", kind="blind", status="dialing",
                     transfer_to="+14155550199")
    assert next_transfer(failed, None) is None
    assert next_transfer(failed, after) == {"id": after.id, "kind": "blind", "status": "dialing",
                                            "to": "+14155550199", "label": None, "attempt": None}
