"""The heuristic post-call analysis."""

from __future__ import annotations

from engine.calls.analysis import Utterance, analyse, choose_outcome, extract, sentiment, summarize

BOOKING = [
    Utterance("agent", "Hello, this is Ava from Sunny Dental. How can I help?"),
    Utterance("user", "Hi, my name is Maria Lopez. I'd like to book an appointment for Tuesday."),
    Utterance("agent", "Tuesday at 10:30 am works. Your appointment is booked."),
    Utterance("user", "Perfect, thanks so much! I have 2 kids, can they come too?"),
    Utterance("agent", "Of course. See you on Tuesday!"),
]
TEMPLATE = {
    "outcomes": ["appointment_booked", "not_interested", "callback_requested", "other"],
    "success_criteria": "",
    "structured_data_schema": {"type": "object", "properties": {
        "caller_name": {"type": "string"},
        "appointment_date": {"type": "string", "format": "date"},
        "appointment_time": {"type": "string"},
        "children": {"type": "integer", "description": "number of kids"},
        "email": {"type": "string"},
        "wants_reminder": {"type": "boolean"},
        "plan": {"type": "string", "enum": ["basic", "premium"]},
    }},
}


def test_booking_call() -> None:
    result = analyse(BOOKING, TEMPLATE, "completed")
    assert result.outcome == "appointment_booked"
    assert result.sentiment == "positive" and result.sentiment_score is not None
    assert result.sentiment_score >= 7
    assert result.success is True
    assert result.status == "heuristic"
    data = result.structured_data
    assert data["caller_name"] == "Maria Lopez"
    assert data["appointment_date"] == "Tuesday"
    assert data["children"] == 2
    assert "email" not in data and "plan" not in data
    assert "book an appointment" in result.summary and "Outcome: appointment booked." in result.summary
    fields = result.to_fields()
    assert fields["analysis_status"] == "heuristic" and fields["outcome"] == "appointment_booked"


def test_negative_call_and_negated_outcome() -> None:
    talk = [Utterance("agent", "Would you be interested in our premium plan?"),
            Utterance("user", "No, I'm not interested. This is the third call, it's ridiculous."),
            Utterance("user", "Stop calling me.")]
    result = analyse(talk, TEMPLATE, "completed")
    assert result.outcome == "not_interested"
    assert result.sentiment == "negative" and result.success is False


def test_not_connected_calls() -> None:
    result = analyse([], {"outcomes": ["no_answer", "booked"]}, "no_answer")
    assert result.outcome == "no_answer" and result.success is False
    assert result.summary == "No conversation took place."
    assert analyse([], None, None).success is None


def test_sentiment_scale() -> None:
    assert sentiment([]) == (5, "neutral")
    assert sentiment(["great, thank you, that was really helpful"])[1] == "positive"
    assert sentiment(["this is terrible, I am angry"])[1] == "negative"
    assert sentiment(["I am not happy"])[1] != "positive"
    for text in ("yes yes yes great", "no no awful", "ok"):
        score, _ = sentiment([text])
        assert 0 <= score <= 10


def test_outcome_falls_back_to_other_or_none() -> None:
    talk = [Utterance("user", "What's the weather like?")]
    assert choose_outcome(["appointment_booked", "other"], talk) == "other"
    assert choose_outcome(["appointment_booked"], talk) is None
    assert choose_outcome([], talk) is None


def test_extract_patterns() -> None:
    talk = [Utterance("user", "Email me at maria.lopez@example.com, my number is +1 415 555 0100. "
                              "Yes, I want a reminder. The premium plan, on 2026-04-02 please.")]
    schema = {"properties": {
        "email": {"type": "string"}, "phone_number": {"type": "string"},
        "wants_reminder": {"type": "boolean"}, "plan": {"enum": ["basic", "premium"]},
        "visit_date": {"type": "string", "format": "date"}, "amount": {"type": "number"},
    }}
    data = extract(schema, talk)
    assert data["email"] == "maria.lopez@example.com"
    assert data["phone_number"] == "+14155550100"
    assert data["wants_reminder"] is True
    assert data["plan"] == "premium"
    assert data["visit_date"] == "2026-04-02"
    assert extract({}, talk) == {} and extract({"properties": "nonsense"}, talk) == {}


def test_summary_without_caller_speech() -> None:
    text = summarize([Utterance("agent", "Hello? Is anyone there?")], None)
    assert "did not speak" in text
