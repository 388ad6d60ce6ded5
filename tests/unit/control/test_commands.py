"""The control commands' validation: what a body must carry, and the field named when it does not."""

from __future__ import annotations

import pytest

from engine.calls.commands import CommandError, Dtmf, EndCall, InjectContext, Say, content_of, parse_command


def test_valid_commands_and_their_defaults() -> None:
    say = parse_command({"type": "say", "content": "  Hello there  "})
    assert isinstance(say, Say) and say.content == "Hello there"
    assert (say.interrupt, say.interruptible, say.end_after) == (True, True, False)
    context = parse_command({"type": "inject_context", "content": "VIP caller"})
    assert isinstance(context, InjectContext) and context.trigger_response is False
    end = parse_command({"type": "end_call"})
    assert isinstance(end, EndCall) and content_of(end) is None
    assert content_of(parse_command({"type": "end_call", "message": " Bye "})) == "Bye"
    keys = parse_command({"type": "dtmf", "digits": "12#*a"})
    assert isinstance(keys, Dtmf) and keys.digits == "12#*A"
    for kind in ("hold", "resume", "mute_agent", "unmute_agent"):
        assert parse_command({"type": kind}).type == kind


@pytest.mark.parametrize(("body", "field"), [
    ({}, "type"),
    ({"type": "transfer_now"}, "type"),
    ([], "body"),
    ({"type": "say"}, "content"),
    ({"type": "say", "content": "   "}, "content"),
    ({"type": "say", "content": "hi", "interrupt": "perhaps"}, "interrupt"),
    ({"type": "say", "content": "hi", "volume": 3}, "volume"),
    ({"type": "inject_context", "content": "x", "trigger_response": []}, "trigger_response"),
    ({"type": "dtmf", "digits": ""}, "digits"),
    ({"type": "dtmf", "digits": "12x"}, "digits"),
    ({"type": "dtmf", "digits": "1" * 33}, "digits"),
    ({"type": "hold", "music": "jazz"}, "music"),
])
def test_invalid_bodies_name_the_field(body: object, field: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_command(body)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")
