"""The warm transfer's briefing: a deterministic summary of the call so far."""

from __future__ import annotations

from engine.calls.summary import (
    ACCEPT_PROMPT,
    Turn,
    briefing,
    clip,
    describe_data,
    last_turns,
    summarize_call,
)

TURNS = [
    Turn("agent", "Hello, you're through to order status. How can I help?"),
    Turn("user", "Hi, I'd like to know where my order is."),
    Turn("agent", "Sure, what is your order number?"),
    Turn("user", "It's 4 4 7 1."),
    Turn("agent", "Order 4471 shipped yesterday. Would you like to speak to someone?"),
    Turn("user", "Yes please, I want to change the delivery address."),
]


def test_summary_quotes_the_last_turns_and_the_data() -> None:
    text = summarize_call(TURNS, {"order_number": "4471", "email": None, "vip": True},
                          caller="+14155550100", agent_name="Ava")
    assert text.startswith("A caller from +14155550100 has been speaking with Ava.")
    assert '"It\'s 4 4 7 1.", then: "Yes please, I want to change the delivery address."' in text
    assert 'The agent last said: "Order 4471 shipped yesterday.' in text
    assert text.endswith("Collected so far: order number 4471, vip yes.")
    assert summarize_call(TURNS, {"order_number": "4471"}) == \
        summarize_call(list(TURNS), {"order_number": "4471"})  # deterministic


def test_summary_of_a_silent_call() -> None:
    text = summarize_call([Turn("agent", "Hello?"), Turn("user", "   ")])
    assert "has been speaking with the assistant" in text
    assert "The caller has not said anything yet." in text
    assert "Collected" not in text


def test_last_turns_keeps_the_spoken_ones() -> None:
    turns = [*TURNS, Turn("system", "transfer started"), Turn("user", "")]
    last = last_turns(turns, 3)
    assert [t["role"] for t in last] == ["user", "agent", "user"]
    assert last[-1]["text"] == "Yes please, I want to change the delivery address."
    assert len(last_turns(TURNS)) == 6


def test_briefing_order_and_prompt() -> None:
    assert briefing("Wants a refund.", "Transfer for billing.") == \
        f"Transfer for billing. Wants a refund. {ACCEPT_PROMPT}"
    assert briefing("Wants a refund.") == f"Wants a refund. {ACCEPT_PROMPT}"


def test_clip_and_data() -> None:
    assert clip("a  b\n c") == "a b c"
    long = "word " * 100
    assert len(clip(long, 40)) <= 43 and clip(long, 40).endswith("...")
    assert describe_data({"items": ["a", "b"], "empty": ""}) == "items a, b"
