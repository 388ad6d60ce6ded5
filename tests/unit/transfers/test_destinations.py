"""Transfer destinations, the transfer command's validation, and failure causes."""

from __future__ import annotations

import pytest

from engine.calls.commands import CommandError, Transfer, parse_command
from engine.calls.destinations import check_destination, is_phone_number, parse_sip
from engine.calls.transfers import failure_cause


@pytest.mark.parametrize("value", ["+14155550123", " +442071838750 ", "sip:bob@127.0.0.1:5070",
                                   "sip:127.0.0.1", "sips:desk@pbx.example.com;transport=tcp",
                                   "sip:alice@[::1]:5080"])
def test_accepted_destinations(value: str) -> None:
    assert check_destination(value) == value.strip()


@pytest.mark.parametrize("value", ["", "14155550123", "+0123456789", "+1 415 555 0123",
                                   "tel:+14155550123", "sip:", "sip:bob@", "sip:bob@host:99999",
                                   "sip:bob@host;transport=sctp", "http://example.com"])
def test_refused_destinations(value: str) -> None:
    with pytest.raises(ValueError):
        check_destination(value)


def test_sip_uri_parts() -> None:
    dest = parse_sip("sip:desk@127.0.0.1:5080;transport=TCP")
    assert (dest.user, dest.host, dest.port, dest.transport) == ("desk", "127.0.0.1", 5080, "TCP")
    plain = parse_sip("sip:pbx.example.com")
    assert (plain.user, plain.port, plain.transport) == (None, 5060, "UDP")
    assert is_phone_number("+14155550123") and not is_phone_number("sip:x@y")


def test_transfer_command() -> None:
    command = parse_command({"type": "transfer", "to": "+14155550123"})
    assert isinstance(command, Transfer)
    assert (command.ringing_timeout, command.play_dialtone) == (30, False)
    for body, field in [({"type": "transfer"}, "to"),
                        ({"type": "transfer", "to": "555"}, "to"),
                        ({"type": "transfer", "to": "+14155550123", "ringing_timeout": 0},
                         "ringing_timeout"),
                        ({"type": "transfer", "to": "+14155550123", "warm": True}, "warm")]:
        with pytest.raises(CommandError) as error:
            parse_command(body)
        assert error.value.field == field, body


@pytest.mark.parametrize(("outcome", "status", "cause"), [
    ("busy", 486, "busy"), ("busy", 600, "busy"), ("failed", 603, "declined"),
    ("failed", 403, "declined"), ("no_answer", 408, "no_answer"), ("no_answer", 480, "no_answer"),
    ("failed", 404, "failed"), ("failed", 503, "failed"), (None, None, "failed")])
def test_failure_causes(outcome: str | None, status: int | None, cause: str) -> None:
    assert failure_cause(outcome, status) == cause
