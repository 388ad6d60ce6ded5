"""Conversations with the "Appointments" agent: inbound bookings and outbound reminders."""

from __future__ import annotations

from engine.demo.conversations.model import CallContext, Conversation, day_phrase, future_day, pick

GREETING = ("Hi, this is Harbor Dental's booking assistant. Would you like to book, move or "
            "cancel an appointment?")
ASK_DATE = "What day works best for you?"
REASK_DATE = "Sorry, which day was that? For example, next Tuesday or March the 14th."
ASK_TIME = "And what time? We're open 8 AM to 5 PM."
ASK_NAME = "Can I have your full name, please?"
ANYTHING_ELSE = "Anything else I can do for you?"
GOODBYE = "Thanks for calling Harbor Dental. Bye now!"
TIMES = ("8 AM", "9 AM", "10 AM", "11 AM", "1 PM", "2 PM", "3 PM", "4 PM")
REASONS = ("cleaning", "checkup", "filling", "whitening consultation", "crown fitting")


def _slots(convo: Conversation, ctx: CallContext, name: str) -> tuple[str, str]:
    """Ask for date, time and name as the script does; returns (date phrase, time)."""
    rng = ctx.rng
    day = future_day(ctx, 2, 21)
    when = day_phrase(day)
    time = rng.choice(TIMES)
    convo.agent(ASK_DATE, intent="book")
    if rng.random() < 0.15:
        convo.user(pick(rng, "Whenever, really.", "Uh, sometime soon?"))
        convo.agent(REASK_DATE, intent="book")
    convo.user(pick(rng, f"How about {day:%A}?", f"{when} if you have it.",
                    f"Could I do {day:%B} {day.day}?"), intent="book")
    convo.agent(ASK_TIME, intent="book")
    convo.user(pick(rng, f"{time} would be good.", f"Let's say {time}.", f"{time}, please."),
               intent="book")
    convo.agent(ASK_NAME, intent="book")
    convo.user(pick(rng, f"It's {name}.", f"{name}.", f"Sure, {name}."), intent="book")
    return when, time


def appointment_conversation(ctx: CallContext) -> Conversation:
    if ctx.direction == "outbound" and ctx.variables:
        return _reminder(ctx)
    rng = ctx.rng
    convo = Conversation()
    convo.agent(GREETING)
    name = ctx.caller_name
    kind = rng.choices(("book", "reschedule", "cancel", "confused"), weights=(55, 22, 15, 8))[0]
    reason = rng.choice(REASONS)
    if kind == "confused":
        convo.user(pick(rng, "Is this the pharmacy?", "Do you take my insurance plan?"))
        convo.agent("Sorry, I can book, move or cancel appointments. Which would you like?")
        convo.user(pick(rng, "Oh, none of those. Thanks anyway.", "Never mind then."))
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "not_interested", False, "neutral"
        convo.summary = "The caller had a question the booking assistant does not handle and " \
                        "ended the call."
        convo.structured_data = {"reason": "other"}
        convo.ended_by = "agent"
        return convo
    if kind == "cancel":
        convo.user(pick(rng, "I need to cancel my appointment.",
                        "I can't make it on Thursday, please cancel."), intent="cancel")
        convo.agent(ASK_NAME, intent="cancel")
        convo.user(f"{name}.", intent="cancel")
        convo.agent(f"Okay {name.split()[0]}, I've canceled your appointment. Call us whenever you "
                    f"want to book again. {ANYTHING_ELSE}", intent="cancel")
        convo.user(pick(rng, "No, that's all.", "That's it, thanks."), intent="goodbye")
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "appointment_canceled", True, "neutral"
        convo.summary = f"{name} canceled an upcoming appointment."
        convo.structured_data = {"customer_name": name, "reason": "cancellation"}
        convo.ended_by = "agent"
        return convo

    intent = "book" if kind == "book" else "reschedule"
    convo.user(pick(rng, f"Hi, I'd like to book a {reason}.", "I need to make an appointment.",
                    f"Can I come in for a {reason} sometime next week?")
               if intent == "book" else
               pick(rng, "I need to move my appointment.", "Can I change the day of my visit?"),
               intent=intent)
    if rng.random() < 0.1:
        day = future_day(ctx, 1, 3)
        convo.agent(ASK_DATE, intent=intent)
        convo.user(f"{day:%A} morning?", intent=intent)
        convo.agent(f"Sorry, {day:%A} is fully booked. We don't have openings that day. Would "
                    "you like me to have the front desk call you back?", intent=intent)
        convo.user(pick(rng, "No, I'll try again later.", "Okay, forget it."))
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "no_availability", False, "negative"
        convo.summary = f"The caller wanted {day:%A}, which was fully booked; no appointment made."
        convo.structured_data = {"reason": reason, "appointment_date": day.date().isoformat()}
        convo.ended_by = "agent"
        return convo
    when, time = _slots(convo, ctx, name)
    first = name.split()[0]
    if intent == "book":
        convo.agent(f"Great, {first}. You're booked for {when} at {time}, at 212 Pier Street. "
                    f"We'll text you a reminder the day before. {ANYTHING_ELSE}", intent=intent,
                    barge_in=rng.random() < 0.1)
        outcome = "appointment_booked"
    else:
        convo.agent(f"Done, {first}. Your appointment is now {when} at {time}. {ANYTHING_ELSE}",
                    intent=intent)
        outcome = "appointment_rescheduled"
    convo.user(pick(rng, "No, that's perfect. Thanks!", "That's all, thank you.", "Great, bye."),
               intent="goodbye")
    convo.agent(GOODBYE, intent="goodbye")
    convo.outcome, convo.success = outcome, True
    convo.sentiment = rng.choices(("positive", "neutral"), weights=(70, 30))[0]
    verb = "booked" if intent == "book" else "moved an appointment to"
    convo.summary = f"{name} {verb} {when} at {time}" + (f" for a {reason}." if intent == "book"
                                                         else ".")
    convo.structured_data = {"customer_name": name, "appointment_date": when,
                             "appointment_time": time, "reason": reason if intent == "book"
                             else "reschedule"}
    convo.ended_by = "agent"
    return convo


def _reminder(ctx: CallContext) -> Conversation:
    """An outbound campaign call: remind the lead of their visit, confirm or move it."""
    rng = ctx.rng
    convo = Conversation()
    first = ctx.variables.get("first_name", ctx.caller_name.split()[0])
    visit = ctx.variables.get("appointment", "your next visit")
    convo.agent(f"Hi {first}, this is Harbor Dental calling to remind you of your appointment on "
                f"{visit}. Can you still make it?")
    kind = rng.choices(("confirm", "move", "not_interested", "wrong_person"),
                       weights=(55, 25, 12, 8))[0]
    if kind == "confirm":
        convo.user(pick(rng, "Yes, I'll be there.", "Yep, see you then.", "Yes, confirmed."),
                   intent="confirm_reminder")
        convo.agent(f"Thanks, we'll see you then. {ANYTHING_ELSE}", intent="confirm_reminder")
        convo.user(pick(rng, "No, that's it.", "Nope. Bye!"), intent="goodbye")
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "appointment_confirmed", True, "positive"
        convo.summary = f"{ctx.caller_name} confirmed the appointment on {visit}."
        convo.structured_data = {"customer_name": ctx.caller_name, "appointment_date": visit,
                                 "reason": "reminder"}
    elif kind == "move":
        convo.user(pick(rng, "Actually no, can we move it?", "I can't that day, can I change it?"),
                   intent="reschedule")
        when, time = _slots(convo, ctx, ctx.caller_name)
        convo.agent(f"Done, {first}. Your appointment is now {when} at {time}. {ANYTHING_ELSE}",
                    intent="reschedule")
        convo.user("No, thank you.", intent="goodbye")
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "appointment_rescheduled", True, "positive"
        convo.summary = f"{ctx.caller_name} moved the appointment from {visit} to {when} at {time}."
        convo.structured_data = {"customer_name": ctx.caller_name, "appointment_date": when,
                                 "appointment_time": time, "reason": "reschedule"}
    elif kind == "not_interested":
        convo.user(pick(rng, "Please cancel it, I've found another dentist.",
                        "I don't need it anymore, thanks."), intent="cancel")
        convo.agent(f"Okay, I've canceled it. Thanks for letting us know. {ANYTHING_ELSE}",
                    intent="cancel")
        convo.user(pick(rng, "No, that's it.", "No. Bye."), intent="goodbye")
        convo.agent(GOODBYE, intent="goodbye")
        convo.outcome, convo.success, convo.sentiment = "appointment_canceled", True, "neutral"
        convo.summary = f"{ctx.caller_name} canceled the appointment on {visit}."
        convo.structured_data = {"customer_name": ctx.caller_name, "reason": "cancellation"}
    else:
        convo.user(pick(rng, f"Sorry, there's no {first} here.", "Wrong number, I think."))
        convo.agent(f"I'm sorry for the trouble. Just to check, am I speaking with the "
                    f"{ctx.caller_name.split()[-1]} household?")
        convo.user(pick(rng, "No, you've got the wrong number.", "No, never heard of them."))
        convo.agent("Thanks, we'll update our records. Goodbye!")
        convo.outcome, convo.success, convo.sentiment = "wrong_number", False, "neutral"
        convo.summary = "The person who answered said the number does not belong to the lead."
        convo.structured_data = {"reason": "wrong_number"}
    convo.ended_by = "agent"
    return convo


__all__ = ["appointment_conversation"]
