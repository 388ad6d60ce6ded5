"""When a blind transfer starts with REFER, and the typed causes of a REFER's final status."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.calls.commands import CommandError, Transfer, parse_command
from engine.calls.transfers import refer_allowed, sipfrag_cause
from engine.store import SipTrunk


def call(state: str = "confirmed", dialog: object | None = object()) -> SimpleNamespace:
    return SimpleNamespace(state=state, dialog=dialog)


def trunk(allow_refer: bool) -> SipTrunk:
    return SipTrunk(organization_id="org", name="t", host="127.0.0.1", allow_refer=allow_refer)


def test_refer_needs_an_established_dialog_and_a_trunk_that_allows_it() -> None:
    assert refer_allowed(call(), None)  # a direct call without a trunk
    assert refer_allowed(call("answered"), trunk(True))
    assert not refer_allowed(call(), trunk(False))
    assert not refer_allowed(call(dialog=None), None)
    assert not refer_allowed(call("early"), None)
    assert not refer_allowed(object(), None)  # not a SIP call


@pytest.mark.parametrize(("status", "cause"), [
    (486, "busy"), (600, "busy"), (408, "no_answer"), (480, "no_answer"), (487, "no_answer"),
    (603, "declined"), (403, "declined"), (404, "failed"), (503, "failed"), (None, "failed")])
def test_sipfrag_causes(status: int | None, cause: str) -> None:
    assert sipfrag_cause(status) == cause


def test_method_defaults_to_auto_and_is_checked() -> None:
    command = parse_command({"type": "transfer", "to": "+15550123456"})
    assert isinstance(command, Transfer) and command.method == "auto"
    for method in ("refer", "bridge"):
        assert parse_command({"type": "transfer", "to": "+15550123456",
                              "method": method}).method == method  # type: ignore[union-attr]
    with pytest.raises(CommandError) as bad:
        parse_command({"type": "transfer", "to": "+15550123456", "method": "fax"})
    assert bad.value.field == "method"
