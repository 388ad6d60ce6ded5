"""Judging a call's row against a persona's outcome, and the caller's words the agent misheard."""

from __future__ import annotations

from typing import Any

import pytest

from engine.simulator.outcome import (
    WerReport,
    align_counts,
    barge_ins,
    dtmf_received,
    outcome_missing,
    tools_called,
    transfer_requested,
    user_lines,
    words_misheard,
)
from engine.simulator.personas import Outcome


def _entry(index: int, source: str, text: str, **metadata: Any) -> dict[str, Any]:
    return {"index": index, "source": source, "text": text, "interrupted": False,
            "metadata": metadata}


def _event(event_type: str, **payload: Any) -> dict[str, Any]:
    return {"event_type": event_type, "provider": "engine", "payload": payload}


def _row(**fields: Any) -> dict[str, Any]:
    """A call detail as GET /v1/calls/{id} answers it (the fields the judge reads)."""
    row: dict[str, Any] = {
        "id": "c1", "status": "completed", "disconnect_reason": "caller_hangup",
        "duration_seconds": 31, "metadata": {"barge_in_count": 0},
        "transcript": {"entries": [
            _entry(0, "agent", "Hi, how can I help?"),
            _entry(1, "user", "I would like to check my order status."),
            _entry(2, "agent", "What's your order number?"),
            _entry(3, "user", "84361"),
        ]},
        "transfers": [],
    }
    row.update(fields)
    return row


def test_a_call_showing_everything_asked_misses_nothing() -> None:
    events = [_event("tool.called", name="lookup_order"), _event("dtmf_received", digit="1"),
              _event("dtmf_received", digit="2")]
    outcome = Outcome(transfer_requested=False, tool_called="lookup_order",
                      end_reason="caller_hangup", transcript=("order status", "84361|8 4 3 6 1"),
                      dtmf="12", barge_ins=0, max_duration_s=31)
    assert outcome_missing(outcome, _row(), events) == []
    assert outcome_missing(Outcome(), _row()) == []  # nothing asked


def test_each_missing_part_is_a_readable_reason() -> None:
    row = _row(disconnect_reason="idle_timeout", duration_seconds=70,
               transfers=[{"id": "t1", "status": "failed"}])
    events = [_event("tool.end_call", name="end_call"), _event("dtmf_received", digit="3")]
    outcome = Outcome(transfer_requested=False, tool_called="lookup_order",
                      end_reason="caller_hangup", transcript=("human",), dtmf="1", barge_ins=1,
                      max_duration_s=45)
    assert outcome_missing(outcome, row, events) == [
        "no transfer requested (one was)",
        "tool lookup_order called (called: end_call)",
        "ended by caller_hangup (ended by idle_timeout)",
        "the caller's 'human' in the transcript (user said: 'i would like to check my order "
        "status 84361')",
        "DTMF 1 received (received: 3)",
        "at least 1 barge-in(s) counted (counted: 0)",
        "a call of at most 45 s (lasted: 70 s)",
    ]


def test_nothing_found_reads_as_none() -> None:
    outcome = Outcome(transfer_requested=True, tool_called="lookup_order", dtmf="1")
    assert outcome_missing(outcome, _row(), []) == [
        "a transfer requested (none was)", "tool lookup_order called (called: none)",
        "DTMF 1 received (received: none)"]
    assert outcome_missing(Outcome(end_reason="idle_timeout", max_duration_s=10),
                           _row(disconnect_reason=None, duration_seconds=None)) == [
        "ended by idle_timeout (ended by nothing yet)", "a call of at most 10 s (lasted: unknown)"]


def test_a_transfer_shows_by_its_row_or_its_event() -> None:
    assert transfer_requested(_row(transfers=[{"id": "t1"}]))
    assert transfer_requested(_row(), [_event("transfer.requested", name="desk")])
    assert not transfer_requested(_row(), [_event("tool.called", name="lookup_order")])
    # the events may come inside the row
    assert transfer_requested(_row(events=[_event("transfer.requested", name="desk")]))


def test_tool_calls_come_from_events_else_from_transcript_entries() -> None:
    events = [_event("tool.called", name="lookup_order"),
              _event("transfer.requested", name="transfer_to_billing_desk"),
              _event("agent.intent", name="order_status")]
    assert tools_called(_row(), events) == ["lookup_order", "transfer_to_billing_desk"]
    history = _row(transcript={"entries": [
        _entry(0, "agent", "Order 84361 is on its way.",
               tool_calls=[{"name": "lookup_order", "arguments": {}, "result": {}}])]})
    assert tools_called(history) == ["lookup_order"]
    assert outcome_missing(Outcome(tool_called="lookup_order"), history) == []


def test_the_callers_lines_leave_out_agent_lines_and_keyed_digits() -> None:
    row = _row(transcript={"entries": [
        _entry(2, "user", "second"), _entry(0, "agent", "hello"), _entry(1, "user", "first"),
        _entry(3, "user", "1", dtmf="1"), _entry(4, "system", "transfer")]})
    assert user_lines(row) == ["first", "second"]
    assert user_lines({"transcript": None}) == []


def test_dtmf_and_barge_ins_are_read_from_events_and_metadata() -> None:
    events = [_event("dtmf_received", digit="4"), _event("call.answered"),
              _event("dtmf_received", digit="#")]
    assert dtmf_received(_row(), events) == "4#"
    assert barge_ins(_row(metadata={"barge_in_count": 2})) == 2
    assert barge_ins(_row(metadata={})) == 0


def test_words_misheard_counts_each_kind_of_error() -> None:
    said = ["I would like to check my order status.", "My order number is 8 4 3 6 1."]
    heard = ["I'd like to check my order stitches", "my order number is 84361 please"]
    report = words_misheard(said, heard)
    # "i would" -> "id": 1 substitution, 1 deletion; "status" -> "stitches": 1 substitution;
    # the digits match once normalised; "please": 1 insertion
    assert report == WerReport(words=17, substitutions=2, deletions=1, insertions=1)
    assert report.errors == 4 and report.wer == pytest.approx(4 / 17)


def test_words_misheard_of_nothing_said() -> None:
    assert words_misheard([], []) == WerReport(0, 0, 0, 0)
    assert words_misheard([], []).wer == 0.0
    assert words_misheard([], ["hello"]).wer == 1.0  # one insertion, no reference words
    assert words_misheard(["Hello there."], []) == WerReport(2, 0, 2, 0)


@pytest.mark.parametrize(("ref", "hyp", "counts"), [
    ("a b c", "a b c", (0, 0, 0)),
    ("a b c", "a x c", (1, 0, 0)),
    ("a b c", "a c", (0, 1, 0)),
    ("a b c", "a b c d", (0, 0, 1)),
    ("a b", "x y z", (2, 0, 1)),
])
def test_alignment_counts(ref: str, hyp: str, counts: tuple[int, int, int]) -> None:
    assert align_counts(ref.split(), hyp.split()) == counts
