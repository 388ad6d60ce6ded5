"""The declarative script of a scripted agent (``Agent.script``), and the three demo scripts.

A script is plain JSON. The scripted brain greets, matches what the caller says (or keys in) to an
intent, collects the intent's slots, runs its actions, and falls back or escalates when it cannot
help. Every text may use ``{variables}``: the script's ``variables`` defaults, the call's dynamic
variables, filled slots, and tool results (dotted paths, ``{order.status}``).

    {
      "version": 1,
      "variables": {"company": "Northwind Outfitters"},       # defaults, overridden per call
      "greeting": "Hi, thanks for calling {company}...",        # the agent's first words
      "intents": [{
          "name": "order_status",                              # unique within the script
          "keywords": ["order", "package"],                    # any word matches (weight 1)
          "patterns": ["where(?:'s| is) my (order|package)"],  # regexes, case-insensitive (weight 2)
          "examples": ["I want to check my order status"],     # fuzzy sentence matching
          "slots": ["order_number"],                            # asked in order until filled
          "actions": [                                          # run in order once slots are filled
              {"tool": "lookup_order", "arguments": {"order_number": "{order_number}"},
               "save_as": "order", "on_error": "Sorry, I can't find order {order_number}."},
              {"say": "Order {order_number} is {order.status}."},
              {"transfer": "transfer_to_billing_desk", "say": "Connecting you now."},
              {"end_call": "Goodbye!"},
              {"goto": "anything_else"}                        # another intent by name
          ]
      }],
      "slots": {
          "order_number": {
              "type": "digits",      # digits | date | time | person_name | yes_no | choice | text
              "min_length": 5, "max_length": 8,                # digits: spoken digits are joined
              "choices": ["..."],                              # choice: the allowed values
              "prompt": "What's your order number?",
              "reask": ["Sorry, could you repeat it?"],        # used in turn after a miss
              "max_attempts": 3,                               # then the script's escalation
              "confirm": "That's {order_number:digits}, right?"  # optional yes/no confirmation
          }
      },
      "menu": {                                                # DTMF (and spoken number) menu
          "prompt": "Press 1 for ..., 2 for ...",
          "when": "start" | "on_fallback",                     # offered after the greeting or
          "timeout_seconds": 6,                                #   only when speech is not understood
          "options": {"1": {"label": "Payments", "intent": "payment_due"},
                      "0": {"label": "Agent", "action": "escalate"}}
      },
      "anything_else": "Is there anything else I can help with?",
      "goodbye": {"keywords": ["bye", "that's all"], "say": "Thanks for calling. Goodbye!"},
      "fallback": {"say": ["Sorry, I didn't catch that."], "max_consecutive": 2,
                   "then": "escalate"},                        # or "menu" / "end_call"
      "escalation": {"keywords": ["human", "agent", "representative"],
                     "say": "Let me get you to a person.",
                     "action": {"transfer": "transfer_to_billing_desk"}
                     | {"take_message": "Leave your name and number after the tone."}}
    }

Tools are named by their tool template's ``name`` (the agent's ``tool_ids`` list which ones it
may use): a ``function`` tool is a webhook called with the arguments, whose JSON answer is saved
under ``save_as``; ``transfer_call`` and ``end_call`` tools end the brain's part of the call.
Value formats after a colon: ``:digits`` reads digits one by one, ``:date`` says a date in words.
"""

from __future__ import annotations

from typing import Any

SCRIPT_VERSION = 1

ORDER_LOOKUP_TOOL = "lookup_order"
TRANSFER_TOOL = "transfer_to_billing_desk"
END_CALL_TOOL = "end_call"

_GOODBYE_WORDS = ["bye", "goodbye", "that's all", "that is all", "nothing else", "no thanks",
                  "no thank you", "that's it"]
_HUMAN_WORDS = ["human", "person", "agent", "representative", "operator", "someone real"]


def order_status_script() -> dict[str, Any]:
    """Greets, asks for the order number, looks it up and reads the status back."""
    return {
        "version": SCRIPT_VERSION,
        "variables": {"company": "Northwind Outfitters"},
        "greeting": "Hi, thanks for calling {company}. I can check the status of an order. "
                    "How can I help?",
        "intents": [
            {
                "name": "order_status",
                "keywords": ["order", "package", "delivery", "shipment", "tracking", "parcel"],
                "patterns": [r"where(?:'s| is) my (?:order|package|parcel)",
                             r"(?:check|track) (?:my |an )?(?:order|package)",
                             r"order (?:number )?\d{3,}"],
                "examples": ["I want to check my order status", "Where is my package?",
                             "Has my order shipped yet?", "I'm calling about a delivery"],
                "slots": ["order_number"],
                "actions": [
                    {"tool": ORDER_LOOKUP_TOOL, "arguments": {"order_number": "{order_number}"},
                     "save_as": "order",
                     "on_error": "I'm sorry, I couldn't find order {order_number:digits}. "
                                 "Could you check the number on your confirmation email?"},
                    {"say": "Order {order_number:digits} is {order.status}. {order.detail}"},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "change_address",
                "keywords": ["address", "deliver to", "change delivery"],
                "patterns": [r"change (?:the |my )?(?:delivery |shipping )?address"],
                "examples": ["Can I change the delivery address?", "I moved, update my address"],
                "actions": [
                    {"say": "Address changes need a person to verify them. "
                            "Let me connect you with our team."},
                    {"transfer": TRANSFER_TOOL},
                ],
            },
            {
                "name": "return_item",
                "keywords": ["return", "refund", "send back", "exchange"],
                "examples": ["How do I return something?", "I want to send this back"],
                "actions": [
                    {"say": "You can return any item within 30 days. Start at northwind dot example "
                            "slash returns and we'll email you a free label."},
                    {"goto": "anything_else"},
                ],
            },
        ],
        "slots": {
            "order_number": {
                "type": "digits", "min_length": 5, "max_length": 8,
                "prompt": "Sure. What's your order number? It's on your confirmation email.",
                "reask": ["Sorry, I didn't get that. Could you say the order number one digit "
                          "at a time?",
                          "Order numbers have five to eight digits. What's yours?"],
                "max_attempts": 3,
            },
        },
        "anything_else": "Is there anything else I can help you with?",
        "goodbye": {"keywords": _GOODBYE_WORDS,
                    "say": "Thanks for calling {company}. Have a great day!"},
        "fallback": {"say": ["Sorry, I didn't catch that. I can check an order's status.",
                             "I'm still learning. Could you say that another way?"],
                     "max_consecutive": 2, "then": "escalate"},
        "escalation": {"keywords": _HUMAN_WORDS,
                       "say": "Of course. Let me connect you with someone from our team.",
                       "action": {"transfer": TRANSFER_TOOL}},
    }


def billing_script() -> dict[str, Any]:
    """Answers common billing questions; disputes and requests for a person go to the desk."""
    return {
        "version": SCRIPT_VERSION,
        "variables": {"company": "Northwind Outfitters", "billing_hours": "8 AM to 6 PM Eastern"},
        "greeting": "Hello, you've reached {company} billing. What can I help you with today?",
        "intents": [
            {
                "name": "payment_due",
                "keywords": ["due", "due date", "when", "pay", "payment"],
                "patterns": [r"when (?:is|was) my (?:bill|payment|invoice) due"],
                "examples": ["When is my bill due?", "When do I have to pay?"],
                "actions": [
                    {"say": "Bills are due on the 15th of each month. If you pay by card on file, "
                            "we charge it automatically on that day."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "double_charge",
                "keywords": ["twice", "double", "charged", "duplicate", "overcharged"],
                "patterns": [r"charged (?:me )?twice", r"(?:double|duplicate) charge"],
                "examples": ["I was charged twice", "There's a duplicate charge on my card"],
                "actions": [
                    {"say": "I'm sorry about that. A duplicate charge is usually a pending "
                            "authorization that drops off within three business days. "
                            "If it's still there after that, our billing team will refund it."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "update_card",
                "keywords": ["card", "credit card", "payment method", "expired"],
                "patterns": [r"(?:update|change) (?:my )?(?:card|payment method)"],
                "examples": ["I need to update my credit card", "My card expired"],
                "actions": [
                    {"say": "You can update your card under Account, then Payment methods. "
                            "For your security I can't take card numbers over the phone."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "refund_status",
                "keywords": ["refund", "money back", "credit"],
                "examples": ["Where is my refund?", "When will I get my money back?"],
                "actions": [
                    {"say": "Refunds go back to the original payment method within five to seven "
                            "business days after we receive the item."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "dispute",
                "keywords": ["dispute", "wrong amount", "fraud", "cancel subscription"],
                "examples": ["I want to dispute a charge", "This amount is wrong"],
                "actions": [
                    {"say": "I'll connect you with our billing desk; they can look into the "
                            "charge with you."},
                    {"transfer": TRANSFER_TOOL},
                ],
            },
        ],
        "menu": {
            "prompt": "You can also use your keypad. Press 1 for due dates, 2 for a double "
                      "charge, 3 to update a card, 4 for refunds, or 0 to speak with someone.",
            "when": "on_fallback", "timeout_seconds": 6,
            "options": {
                "1": {"label": "Due dates", "intent": "payment_due"},
                "2": {"label": "Double charge", "intent": "double_charge"},
                "3": {"label": "Update card", "intent": "update_card"},
                "4": {"label": "Refunds", "intent": "refund_status"},
                "0": {"label": "Billing desk", "action": "escalate"},
            },
        },
        "anything_else": "Is there anything else about your bill?",
        "goodbye": {"keywords": _GOODBYE_WORDS, "say": "Thanks for calling {company}. Goodbye!"},
        "fallback": {"say": ["Sorry, I didn't understand that."],
                     "max_consecutive": 1, "then": "menu"},
        "escalation": {"keywords": [*_HUMAN_WORDS, "supervisor", "manager"],
                       "say": "Sure, I'll transfer you to our billing desk. Our team is available "
                              "{billing_hours}.",
                       "action": {"transfer": TRANSFER_TOOL}},
    }


def appointments_script() -> dict[str, Any]:
    """Collects a date, a time and a name, then confirms the booking."""
    return {
        "version": SCRIPT_VERSION,
        "variables": {"clinic": "Harbor Dental", "address": "212 Pier Street"},
        "greeting": "Hi, this is {clinic}'s booking assistant. Would you like to book, move or "
                    "cancel an appointment?",
        "intents": [
            {
                "name": "book",
                "keywords": ["book", "appointment", "schedule", "cleaning", "checkup", "visit"],
                "patterns": [r"(?:book|make|schedule) (?:an |a )?(?:appointment|cleaning|visit)"],
                "examples": ["I'd like to book an appointment", "Can I come in for a cleaning?"],
                "slots": ["date", "time", "name"],
                "actions": [
                    {"say": "Great, {name}. You're booked for {date:date} at {time}, at "
                            "{address}. We'll text you a reminder the day before."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "reschedule",
                "keywords": ["reschedule", "move", "change", "different day"],
                "patterns": [r"(?:move|change|reschedule) my appointment"],
                "examples": ["I need to move my appointment", "Can I change the day?"],
                "slots": ["name", "date", "time"],
                "actions": [
                    {"say": "Done, {name}. Your appointment is now {date:date} at {time}."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "cancel",
                "keywords": ["cancel", "can't make it", "cannot come"],
                "examples": ["I need to cancel my appointment"],
                "slots": ["name"],
                "actions": [
                    {"say": "Okay {name}, I've canceled your appointment. Call us whenever you "
                            "want to book again."},
                    {"goto": "anything_else"},
                ],
            },
            {
                "name": "confirm_reminder",
                "keywords": ["yes", "confirm", "i'll be there", "see you"],
                "examples": ["Yes, I'll be there", "Confirmed"],
                "actions": [{"say": "Thanks, we'll see you then."}, {"goto": "anything_else"}],
            },
        ],
        "slots": {
            "date": {"type": "date", "prompt": "What day works best for you?",
                     "reask": ["Sorry, which day was that? For example, next Tuesday or "
                               "March the 14th."],
                     "max_attempts": 3},
            "time": {"type": "time", "prompt": "And what time? We're open 8 AM to 5 PM.",
                     "reask": ["We have openings on the hour from 8 to 4. Which time suits you?"],
                     "max_attempts": 3},
            "name": {"type": "person_name", "prompt": "Can I have your full name, please?",
                     "reask": ["Sorry, could you spell your last name for me?"],
                     "max_attempts": 2},
        },
        "anything_else": "Anything else I can do for you?",
        "goodbye": {"keywords": _GOODBYE_WORDS, "say": "Thanks for calling {clinic}. Bye now!"},
        "fallback": {"say": ["Sorry, I can book, move or cancel appointments. Which would you "
                             "like?"],
                     "max_consecutive": 2, "then": "escalate"},
        "escalation": {"keywords": _HUMAN_WORDS,
                       "say": "Our front desk will call you back. Please leave your name and "
                              "number after the tone.",
                       "action": {"take_message": "Leave a message after the tone."}},
    }


__all__ = ["END_CALL_TOOL", "ORDER_LOOKUP_TOOL", "SCRIPT_VERSION", "TRANSFER_TOOL",
           "appointments_script", "billing_script", "order_status_script"]
