"""Conversations with the "Order status" agent."""

from __future__ import annotations

from datetime import timedelta

from engine.demo.conversations.model import (
    CallContext,
    Conversation,
    ToolUse,
    TransferPlan,
    day_phrase,
    digit_words,
    pick,
    spoken_digits,
)
from engine.demo.scripts import ORDER_LOOKUP_TOOL

GREETING = ("Hi, thanks for calling Northwind Outfitters. I can check the status of an order. "
            "How can I help?")
ASK_NUMBER = "Sure. What's your order number? It's on your confirmation email."
REASK_NUMBER = ("Sorry, I didn't get that. Could you say the order number one digit at a time?")
ANYTHING_ELSE = "Is there anything else I can help you with?"
GOODBYE = "Thanks for calling Northwind Outfitters. Have a great day!"
ESCALATE = "Of course. Let me connect you with someone from our team."

OPENERS = (
    "Hi, I'm calling to check on my order.",
    "Where's my package? It was supposed to be here yesterday.",
    "Hey, has my order shipped yet?",
    "I want to track an order please.",
    "Hello, I ordered a jacket last week and I haven't heard anything.",
    "Yeah hi, I'm just wondering where my delivery is.",
)
THANKS = ("No, that's all, thanks.", "Nope, that's it. Thank you!", "No thanks, bye.",
          "That's all I needed, thanks.", "Great, thank you so much.")


def _status(ctx: CallContext) -> tuple[str, str, str, str]:
    """(status, what the agent says about it, sentiment, carrier) for a looked-up order."""
    rng = ctx.rng
    carrier = pick(rng, "UPS", "FedEx", "USPS")
    shipped = ctx.at - timedelta(days=rng.randint(1, 4))
    arrives = ctx.at + timedelta(days=rng.randint(1, 4))
    delivered = ctx.at - timedelta(days=rng.randint(0, 3))
    options = [
        ("shipped", f"It shipped on {day_phrase(shipped)} with {carrier} and should arrive "
                    f"{arrives:%A}.", "positive"),
        ("out for delivery", "It's out for delivery today and should arrive by 8 PM.", "positive"),
        ("processing", "It's being packed at our warehouse and will ship within two business "
                       "days.", "neutral"),
        ("delivered", f"It was delivered on {day_phrase(delivered)} and left at the front door.",
         "neutral"),
        ("delayed", f"It's delayed at the {carrier} depot. The new estimate is {arrives:%A}. "
                    "I'm sorry about the wait.", "negative"),
    ]
    status, detail, mood = rng.choices(options, weights=(34, 18, 20, 16, 12))[0]
    return status, detail, mood, carrier


def order_conversation(ctx: CallContext) -> Conversation:
    rng = ctx.rng
    convo = Conversation()
    convo.agent(GREETING)
    kind = rng.choices(("status", "not_found", "address", "return", "human", "hangup"),
                       weights=(66, 8, 3, 12, 4, 7))[0]
    order_number = str(rng.randint(10000, 99999999))
    data: dict[str, object] = {"issue_type": "order_status", "follow_up_needed": False}

    if kind == "hangup":
        convo.user(pick(rng, "Hello? Is this Northwind?", "Uh, hi. Who is this?"))
        convo.agent("Yes, this is the Northwind Outfitters order assistant. I can check the status "
                    "of an order. How can I help?")
        convo.user(pick(rng, "Oh, sorry, wrong number.", "Uh, never mind.", "Okay, I'll call later."))
        convo.outcome, convo.success, convo.sentiment = "abandoned", False, "neutral"
        convo.summary = "The caller hung up right after the greeting without stating a request."
        convo.structured_data = {"issue_type": "other", "follow_up_needed": False}
        return convo

    if kind == "human":
        convo.user(pick(rng, "Hi, I've got a problem with an order.", "It's about my order."),
                   intent="order_status")
        convo.agent(ASK_NUMBER, intent="order_status")
        convo.user(pick(rng, "Can I just talk to a person please?", "Representative.",
                        "I'd like to speak to a human, please."), intent="escalation")
        convo.agent(ESCALATE, intent="escalation")
        convo.transfer = TransferPlan(rng.choice(("blind", "warm")), "caller asked for a person",
                                      rng.random() < 0.8)
        convo.outcome, convo.success = "transferred_to_human", True
        convo.sentiment = rng.choice(("neutral", "negative"))
        convo.summary = "The caller asked for a person straight away and was transferred."
        convo.structured_data = {"issue_type": "other", "follow_up_needed": True}
        return convo

    if kind == "address":
        convo.user(pick(rng, "I need to change the delivery address on my order.",
                        "Can I change where my package is going? I moved."),
                   intent="change_address")
        convo.agent("Address changes need a person to verify them. Let me connect you with our "
                    "team.", intent="change_address")
        convo.transfer = TransferPlan("warm", "address change needs verification",
                                      rng.random() < 0.75)
        convo.outcome, convo.success, convo.sentiment = "transferred_to_human", True, "neutral"
        convo.summary = "The caller wanted to change a delivery address; the agent transferred " \
                        "the call to the team for verification."
        convo.structured_data = {"issue_type": "address_change", "follow_up_needed": True}
        return convo

    if kind == "return":
        convo.user(pick(rng, "How do I return something I bought?",
                        "I want to send back a pair of boots, they don't fit."),
                   intent="return_item")
        convo.agent("You can return any item within 30 days. Start at northwind dot example slash "
                    f"returns and we'll email you a free label. {ANYTHING_ELSE}",
                    intent="return_item")
        convo.user(pick(rng, *THANKS), intent="goodbye")
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "resolved", True, "positive"
        convo.summary = "The caller asked how to return an item; the agent explained the 30-day " \
                        "return process and the online label."
        convo.structured_data = {"issue_type": "return", "follow_up_needed": False}
        convo.ended_by = "agent"
        return convo

    convo.user(pick(rng, *OPENERS), intent="order_status")
    convo.agent(ASK_NUMBER, intent="order_status")
    if rng.random() < 0.2:  # the first attempt was not understood
        convo.user(pick(rng, "It's uh, hang on... it's on the email somewhere.",
                        f"It's {spoken_digits(order_number[:3])}... sorry, let me find it."))
        convo.agent(REASK_NUMBER, intent="order_status")
    convo.user(pick(rng, f"It's {spoken_digits(order_number)}.", f"Sure, {spoken_digits(order_number)}.",
                    f"Order number {spoken_digits(order_number)}.", f"{spoken_digits(order_number)}."),
               intent="order_status")
    data["order_number"] = order_number
    if kind == "not_found":
        tool = ToolUse(ORDER_LOOKUP_TOOL, {"order_number": order_number},
                       {"error": "order not found"}, ok=False)
        convo.agent(f"I'm sorry, I couldn't find order {digit_words(order_number)}. Could you check "
                    "the number on your confirmation email?", intent="order_status", tool=tool)
        convo.user(pick(rng, "Okay, I'll look for it and call back.",
                        "Hmm, that's the number I have. Never mind, I'll email you."))
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "unresolved", False, "negative"
        convo.summary = f"The caller asked about order {order_number}, which the lookup could not " \
                        "find; the caller will check the number and call back."
        data["follow_up_needed"] = True
        convo.structured_data = data
        convo.ended_by = "agent"
        return convo

    status, detail, mood, carrier = _status(ctx)
    tool = ToolUse(ORDER_LOOKUP_TOOL, {"order_number": order_number},
                   {"status": status, "detail": detail, "carrier": carrier})
    convo.agent(f"Order {digit_words(order_number)} is {status}. {detail} {ANYTHING_ELSE}",
                intent="order_status", tool=tool, barge_in=rng.random() < 0.12)
    data["order_status"] = status
    if status == "delayed" and rng.random() < 0.2:
        convo.user("That's the second delay. Can I talk to someone about a refund?",
                   intent="escalation")
        convo.agent(ESCALATE, intent="escalation")
        convo.transfer = TransferPlan("warm", "delayed order, caller wants a refund",
                                      rng.random() < 0.7)
        convo.outcome, convo.success, convo.sentiment = "transferred_to_human", True, "negative"
        convo.summary = f"Order {order_number} is delayed at {carrier}; the frustrated caller asked " \
                        "about a refund and was transferred to the team."
        data["follow_up_needed"] = True
        convo.structured_data = data
        return convo
    if rng.random() < 0.25:
        convo.user(pick(rng, "Can you text me the tracking number?",
                        "Will I need to sign for it?"))
        convo.agent("The tracking link is in your shipping email, and no signature is needed. "
                    f"{ANYTHING_ELSE}", intent="order_status")
    convo.user(pick(rng, *THANKS), intent="goodbye")
    convo.agent(GOODBYE, intent="goodbye")
    convo.ended_by = "agent"
    convo.outcome, convo.success, convo.sentiment = "order_status_provided", True, mood
    convo.summary = f"The caller asked about order {order_number}; the agent looked it up and " \
                    f"reported it {status} ({carrier})."
    convo.structured_data = data
    return convo


__all__ = ["order_conversation"]
