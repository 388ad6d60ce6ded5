"""Conversations with the "Billing" agent."""

from __future__ import annotations

from engine.demo.conversations.model import CallContext, Conversation, TransferPlan, pick

GREETING = "Hello, you've reached Northwind Outfitters billing. What can I help you with today?"
ANYTHING_ELSE = "Is there anything else about your bill?"
GOODBYE = "Thanks for calling Northwind Outfitters. Goodbye!"
MENU = ("You can also use your keypad. Press 1 for due dates, 2 for a double charge, 3 to update "
        "a card, 4 for refunds, or 0 to speak with someone.")
TRANSFER = ("Sure, I'll transfer you to our billing desk. Our team is available 8 AM to 6 PM "
            "Eastern.")

# intent -> (what callers say, what the agent answers, issue type, summary)
ANSWERS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "payment_due": (
        ("When is my bill due?", "Hi, when do I have to pay this month?",
         "I got an invoice and I'm not sure when it's due."),
        "Bills are due on the 15th of each month. If you pay by card on file, we charge it "
        "automatically on that day.",
        "billing_question", "The caller asked when the bill is due; the agent explained the 15th "
                            "of the month and automatic card payments.",
    ),
    "double_charge": (
        ("I think I was charged twice for the same order.",
         "There's a duplicate charge on my card from you guys."),
        "I'm sorry about that. A duplicate charge is usually a pending authorization that drops "
        "off within three business days. If it's still there after that, our billing team will "
        "refund it.",
        "double_charge", "The caller reported a duplicate charge; the agent explained pending "
                         "authorizations and the three-day window.",
    ),
    "update_card": (
        ("My credit card expired, how do I update it?", "I need to change my payment method."),
        "You can update your card under Account, then Payment methods. For your security I can't "
        "take card numbers over the phone.",
        "card_update", "The caller wanted to update an expired card; the agent pointed them to "
                       "Account, Payment methods.",
    ),
    "refund_status": (
        ("Where's my refund? I sent the item back two weeks ago.",
         "When will I get my money back for a return?"),
        "Refunds go back to the original payment method within five to seven business days "
        "after we receive the item.",
        "refund", "The caller asked about a refund; the agent explained the five to seven "
                  "business day timeline.",
    ),
}
DIGITS = {"1": "payment_due", "2": "double_charge", "3": "update_card", "4": "refund_status"}
LABELS = {"1": "Due dates", "2": "Double charge", "3": "Update card", "4": "Refunds",
          "0": "Billing desk"}


def billing_conversation(ctx: CallContext) -> Conversation:
    rng = ctx.rng
    convo = Conversation()
    convo.agent(GREETING)
    kind = rng.choices(("answer", "two_answers", "menu", "dispute", "human"),
                       weights=(52, 18, 18, 7, 5))[0]
    amount = f"{rng.randint(19, 240)}.{rng.randint(0, 99):02d}"

    if kind in ("dispute", "human"):
        if kind == "dispute":
            convo.user(pick(rng, f"I want to dispute a charge of ${amount}, I never ordered that.",
                            f"This amount is wrong, you billed me ${amount} instead of the sale "
                            "price."), intent="dispute")
            convo.agent("I'll connect you with our billing desk; they can look into the charge "
                        "with you.", intent="dispute")
            issue, reason = "dispute", f"disputed charge of ${amount}"
        else:
            convo.user(pick(rng, "Can I speak to a manager?", "Get me a real person please.",
                            "I'd rather talk to someone in billing."), intent="escalation")
            convo.agent(TRANSFER, intent="escalation")
            issue, reason = "other", "caller asked for a person"
        convo.transfer = TransferPlan(rng.choice(("warm", "warm", "blind")), reason,
                                      rng.random() < 0.75)
        convo.outcome, convo.success = "transferred_to_human", True
        convo.sentiment = "negative" if kind == "dispute" else rng.choice(("neutral", "negative"))
        convo.summary = f"The caller raised a billing issue ({reason}); the agent transferred the " \
                        "call to the billing desk."
        convo.structured_data = {"issue_type": issue, "follow_up_needed": True,
                                 "disputed_amount_usd": float(amount) if kind == "dispute" else None}
        return convo

    if kind == "menu":
        convo.user(pick(rng, "Um, it's about the thing on my statement.", "Billing stuff."))
        convo.agent(f"Sorry, I didn't understand that. {MENU}")
        digit = rng.choice(("1", "2", "3", "4", "1", "2", "3", "4", "0"))
        convo.user(f"Pressed {digit}", dtmf=digit)
        convo.menu_matches.append({"digit": digit, "menu": LABELS[digit]})
        if digit == "0":
            convo.agent(TRANSFER, intent="escalation")
            convo.transfer = TransferPlan("blind", "caller chose the billing desk from the menu",
                                          rng.random() < 0.8)
            convo.outcome, convo.success, convo.sentiment = "transferred_to_human", True, "neutral"
            convo.summary = "The caller could not describe the issue, chose the billing desk from " \
                            "the keypad menu and was transferred."
            convo.structured_data = {"issue_type": "other", "follow_up_needed": True}
            return convo
        intents = [DIGITS[digit]]
    else:
        first = rng.choice(list(ANSWERS))
        intents = [first]
        if kind == "two_answers":
            intents.append(rng.choice([name for name in ANSWERS if name != first]))
        convo.user(pick(rng, *ANSWERS[first][0]), intent=first)

    for number, intent in enumerate(intents):
        if number > 0:
            convo.user(pick(rng, *ANSWERS[intent][0]), intent=intent)
        convo.agent(f"{ANSWERS[intent][1]} {ANYTHING_ELSE}", intent=intent,
                    barge_in=rng.random() < 0.1)
    convo.user(pick(rng, "No, that's everything. Thanks.", "Okay, got it. Bye.",
                    "That helps, thank you."), intent="goodbye")
    convo.agent(GOODBYE, intent="goodbye")
    convo.ended_by = "agent"
    convo.outcome = "resolved"
    convo.success = True
    convo.sentiment = rng.choices(("positive", "neutral", "negative"), weights=(45, 45, 10))[0]
    convo.summary = " ".join(ANSWERS[intent][3] for intent in intents)
    convo.structured_data = {"issue_type": ANSWERS[intents[0]][2], "follow_up_needed": False}
    return convo


__all__ = ["billing_conversation"]
