"""The warm transfer body: destinations (E.164, sip: URI or user:<id>), summary, ringing timeout
and fallback, each error naming its field (``destinations[1].to``)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.calls.commands import (
    CommandError,
    field_path,
    parse_warm_transfer,
    user_of,
)


def test_a_full_body_is_parsed() -> None:
    command = parse_warm_transfer({
        "destinations": [{"to": " sip:desk@127.0.0.1:5080 ", "label": " Desk "},
                         {"to": "+14155550123", "screening_prompt": "For sales.",
                          "summary": "Wants a quote."},
                         {"to": "user:abc"}],
        "summary": "  ", "ringing_timeout": 12,
        "fallback": {"strategy": "take_message", "message": "Leave a message?"}})
    first, second, third = command.destinations
    assert first.to == "sip:desk@127.0.0.1:5080" and first.label == "Desk"
    assert second.screening_prompt == "For sales." and second.summary == "Wants a quote."
    assert third.to == "user:abc" and user_of(third.to) == "abc" and user_of(first.to) is None
    assert command.summary is None  # blank means "generate one"
    assert command.ringing_timeout == 12
    assert command.fallback.strategy == "take_message"
    assert command.fallback.message == "Leave a message?"


def test_defaults() -> None:
    command = parse_warm_transfer({"destinations": [{"to": "+14155550123"}]})
    assert command.ringing_timeout == 30
    assert command.fallback.strategy == "return_to_agent" and command.fallback.message is None


@pytest.mark.parametrize(("body", "field"), [
    ({}, "destinations"),
    ({"destinations": []}, "destinations"),
    ({"destinations": [{"to": "+14155550123"}, {"to": "12345"}]}, "destinations[1].to"),
    ({"destinations": [{"to": "user:"}]}, "destinations[0].to"),
    ({"destinations": [{"to": "sip:"}]}, "destinations[0].to"),
    ({"destinations": [{"label": "x"}]}, "destinations[0].to"),
    ({"destinations": [{"to": "+14155550123", "color": "red"}]}, "destinations[0].color"),
    ({"destinations": [{"to": "+14155550123"}], "ringing_timeout": 0}, "ringing_timeout"),
    ({"destinations": [{"to": "+14155550123"}], "ringing_timeout": 301}, "ringing_timeout"),
    ({"destinations": [{"to": "+14155550123"}], "fallback": {"strategy": "voicemail"}},
     "fallback.strategy"),
    ({"destinations": [{"to": "+14155550123"}], "method": "refer"}, "method"),
    ({"destinations": [{"to": "+14155550123"}] * 11}, "destinations"),
])
def test_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(CommandError) as bad:
        parse_warm_transfer(body)
    assert bad.value.field == field, bad.value


def test_not_an_object() -> None:
    with pytest.raises(CommandError) as bad:
        parse_warm_transfer(["+14155550123"])
    assert bad.value.field == "body"


def test_field_path() -> None:
    assert field_path(("destinations", 2, "to")) == "destinations[2].to"
    assert field_path(("fallback", "message")) == "fallback.message"
    assert field_path(()) == "body"
