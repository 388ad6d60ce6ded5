"""Judging a finished call by its row: what a persona's ``success.outcome`` asks for that the
call's row does not show, and how many of the persona's words the agent misheard.

The row is the call detail as the API returns it (``GET /v1/calls/{id}``, built by
:func:`engine.calls.serialize.detail`): summary fields, ``metadata``, ``transcript.entries`` and
``transfers``. A live call logs its tool calls, transfer requests and DTMF as events
(``GET /v1/calls/{id}/events``), passed beside the row or in it under ``events``; imported and
demo history calls keep tool calls in their transcript entries' ``metadata.tool_calls``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.agents.matching import normalise
from engine.simulator.personas import Outcome, heard_pattern
from engine.speech.wer import normalise_words

Row = Mapping[str, Any]

# The events a live call logs when its agent calls a tool (engine.calls.agent_leg.tool_call)
TOOL_EVENTS = ("tool.called", "transfer.requested", "tool.end_call")
TRANSFER_EVENT = "transfer.requested"
DTMF_EVENT = "dtmf_received"
USER = "user"


def _events(call: Row, events: Sequence[Row] | None) -> list[Row]:
    return list(events if events is not None else call.get("events") or ())


def _entries(call: Row) -> list[Row]:
    transcript = call.get("transcript")
    if isinstance(transcript, Mapping):
        return list(transcript.get("entries") or ())
    return []


def user_lines(call: Row) -> list[str]:
    """What the agent heard the caller say: the texts of the transcript's user entries (keyed
    digits left out), in order."""
    return [str(e.get("text") or "") for e in sorted(_entries(call), key=lambda e: e.get("index") or 0)
            if e.get("source") == USER and not (e.get("metadata") or {}).get("dtmf")]


def tools_called(call: Row, events: Sequence[Row] | None = None) -> list[str]:
    """The names of the tools the agent called, in order: from the events, else from the
    transcript entries."""
    names = [str((e.get("payload") or {}).get("name")) for e in _events(call, events)
             if e.get("event_type") in TOOL_EVENTS and (e.get("payload") or {}).get("name")]
    if names:
        return names
    return [str(tool.get("name")) for e in _entries(call)
            for tool in (e.get("metadata") or {}).get("tool_calls") or () if tool.get("name")]


def transfer_requested(call: Row, events: Sequence[Row] | None = None) -> bool:
    """Whether the call shows a transfer: a transfer row, or a transfer requested event."""
    return bool(call.get("transfers")) or any(e.get("event_type") == TRANSFER_EVENT
                                              for e in _events(call, events))


def dtmf_received(call: Row, events: Sequence[Row] | None = None) -> str:
    """The digits the agent received, in order."""
    return "".join(str((e.get("payload") or {}).get("digit") or "")
                   for e in _events(call, events) if e.get("event_type") == DTMF_EVENT)


def barge_ins(call: Row) -> int:
    """The barge-ins the engine counted (``metadata.barge_in_count``)."""
    return int((call.get("metadata") or {}).get("barge_in_count") or 0)


def _names(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def outcome_missing(outcome: Outcome, call: Row, events: Sequence[Row] | None = None) -> list[str]:
    """What ``outcome`` asks for that the call's row (and its ``events``) does not show, each a
    readable reason naming what was found instead; empty when the outcome was reached."""
    missing: list[str] = []
    if outcome.transfer_requested is not None:
        requested = transfer_requested(call, events)
        if requested != outcome.transfer_requested:
            missing.append("a transfer requested (none was)" if outcome.transfer_requested
                           else "no transfer requested (one was)")
    if outcome.tool_called is not None:
        called = tools_called(call, events)
        if outcome.tool_called not in called:
            missing.append(f"tool {outcome.tool_called} called (called: {_names(called)})")
    if outcome.end_reason is not None and call.get("disconnect_reason") != outcome.end_reason:
        missing.append(f"ended by {outcome.end_reason} (ended by "
                       f"{call.get('disconnect_reason') or 'nothing yet'})")
    if outcome.transcript:
        said = normalise(" ".join(user_lines(call)))
        for entry in outcome.transcript:
            if heard_pattern(entry).search(said) is None:
                missing.append(f"the caller's {entry!r} in the transcript (user said: "
                               f"{said!r})")
    if outcome.dtmf is not None:
        digits = dtmf_received(call, events)
        if digits != outcome.dtmf:
            missing.append(f"DTMF {outcome.dtmf} received (received: {digits or 'none'})")
    if outcome.barge_ins is not None and barge_ins(call) < outcome.barge_ins:
        missing.append(f"at least {outcome.barge_ins} barge-in(s) counted "
                       f"(counted: {barge_ins(call)})")
    if outcome.max_duration_s is not None:
        duration = call.get("duration_seconds")
        if duration is None or duration > outcome.max_duration_s:
            missing.append(f"a call of at most {outcome.max_duration_s:g} s "
                           f"(lasted: {'unknown' if duration is None else f'{duration} s'})")
    return missing


@dataclass(frozen=True)
class WerReport:
    """Word errors of what the agent transcribed against what the caller said, over a call."""

    words: int  # in the reference (the caller's lines)
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """Errors per reference word (0.0 for no words and no errors)."""
        return self.errors / self.words if self.words else float(self.errors)


def align_counts(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimum edit alignment of ``hyp`` to ``ref``,
    ties broken towards substitutions as word error rate tools do."""
    # each cell: (errors, substitutions, deletions, insertions)
    row = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], (i, 0, i, 0)
        for j, h in enumerate(hyp, 1):
            diag = prev if r == h else (prev[0] + 1, prev[1] + 1, prev[2], prev[3])
            up, left = row[j], row[j - 1]
            delete = (up[0] + 1, up[1], up[2] + 1, up[3])
            insert = (left[0] + 1, left[1], left[2], left[3] + 1)
            prev, row[j] = row[j], min(diag, delete, insert, key=lambda c: c[0])
    _, subs, dels, ins = row[-1]
    return subs, dels, ins


def words_misheard(persona_lines_said: list[str], user_transcript: list[str]) -> WerReport:
    """Word errors of a call: the persona's lines as it said them (the reference) against the
    agent's transcript of the caller (the hypothesis), each joined in order and normalised as
    :mod:`engine.speech.wer` does (numbers as words, no punctuation)."""
    ref = normalise_words(" ".join(persona_lines_said))
    hyp = normalise_words(" ".join(user_transcript))
    subs, dels, ins = align_counts(ref, hyp)
    return WerReport(len(ref), subs, dels, ins)


__all__ = ["DTMF_EVENT", "TOOL_EVENTS", "TRANSFER_EVENT", "Row", "WerReport", "align_counts",
           "barge_ins", "dtmf_received", "outcome_missing", "tools_called", "transfer_requested",
           "user_lines", "words_misheard"]
