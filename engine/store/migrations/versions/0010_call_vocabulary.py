"""call vocabulary: stored calls rewritten into the one vocabulary of engine.store.vocabulary

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 22:00:00.000000

Rows written before it used other words, and this rewrites them (data only, no schema change):

- disconnect reasons: ``customer_ended_call`` (the first demo data) is ``caller_hangup``, or
  ``callee_hangup`` on an outbound call; ``agent_ended_call`` is ``agent_hangup``;
  ``caller_canceled`` is ``canceled``; ``failed`` (an outbound INVITE refused) is the reason its
  SIP status names (``number_not_found``, ``trunk_unavailable``, …). ``call.ended`` events'
  ``disconnect_reason`` and failure cause follow.
- errors: ``metadata.error_code`` is text (the SIP status, or a named code); a failed call without
  one gets one (its SIP status, else its reason's code) and a message.
- menu matches: ``{digit, label, intent, action}`` (live) and ``{digit, option}`` (demo) become
  ``{menu, digit, phrase, matched_text, confidence, at}``, ``at`` taken from the call's
  ``agent.menu_match`` events or keyed transcript lines in order (else the answer time);
  ``menu_final_selection`` (a label) becomes the match it names.
- ``sip_status_code``: the column takes ``metadata.sip_status_code`` where only the metadata had it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.store.types import UTCDateTime
from engine.store.vocabulary import (
    DEFAULT_ERROR_MESSAGES,
    ENGINE_ERROR,
    ERROR,
    ERROR_CODES,
    OLD_CUSTOMER_ENDED,
    OLD_REASONS,
    REJECTED,
    CallFailure,
    is_failure,
    menu_match,
    remote_hangup,
    sip_reason,
)

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

CALLS = sa.table(
    "call", sa.column("id", sa.String), sa.column("direction", sa.String),
    sa.column("status", sa.String), sa.column("disconnect_reason", sa.String),
    sa.column("sip_status_code", sa.Integer), sa.column("answered_at", UTCDateTime),
    sa.column("initiated_at", UTCDateTime), sa.column("metadata", sa.JSON))
EVENTS = sa.table(
    "call_event", sa.column("id", sa.String), sa.column("call_id", sa.String),
    sa.column("event_type", sa.String), sa.column("failure_cause", sa.String),
    sa.column("occurred_at", UTCDateTime), sa.column("payload", sa.JSON))
ENTRIES = sa.table(
    "transcript_entry", sa.column("call_id", sa.String), sa.column("index", sa.Integer),
    sa.column("started_at", UTCDateTime), sa.column("metadata", sa.JSON))
OLD_WORDS = (*OLD_REASONS, OLD_CUSTOMER_ENDED)


def _iso(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_reason(reason: str | None, direction: str, code: int | None) -> str | None:
    if reason == OLD_CUSTOMER_ENDED:
        return remote_hangup(direction)
    if reason == "failed":
        return sip_reason(code) if code else REJECTED
    return OLD_REASONS.get(reason, reason) if reason is not None else None


def _match_times(bind: sa.Connection, call_id: str) -> list[str]:
    """When the call's menu choices happened, in order: its ``agent.menu_match`` events (live
    calls), else its keyed transcript lines (demo calls)."""
    times = [_iso(at) for (at,) in bind.execute(
        sa.select(EVENTS.c.occurred_at).where(EVENTS.c.call_id == call_id,
                                              EVENTS.c.event_type == "agent.menu_match")
        .order_by(EVENTS.c.occurred_at))]
    if not times:
        times = [_iso(at) for at, metadata in bind.execute(
            sa.select(ENTRIES.c.started_at, ENTRIES.c.metadata)
            .where(ENTRIES.c.call_id == call_id).order_by(ENTRIES.c.index))
            if isinstance(metadata, Mapping) and metadata.get("dtmf")]
    return [t for t in times if t is not None]


def _menu(old: Any, at: str) -> dict[str, Any]:
    if isinstance(old, Mapping) and "matched_text" in old and "at" in old:
        return dict(old)  # already in the vocabulary
    old = old if isinstance(old, Mapping) else {"option": str(old)}
    digit = old.get("digit")
    label = old.get("menu") or old.get("label") or old.get("option") or digit or "?"
    if digit is not None:
        return menu_match(str(label), at=at, digit=str(digit))
    return menu_match(str(label), at=at, phrase=str(old.get("phrase") or label))


def _metadata(bind: sa.Connection, row: Any, reason: str | None, code: int | None
              ) -> dict[str, Any]:
    metadata = dict(row.metadata or {})
    if isinstance(metadata.get("error_code"), int):
        metadata["error_code"] = str(metadata["error_code"])
    if is_failure(row.status, reason) and metadata.get("error_code") is None:
        if code is not None and code >= 300:
            failure = CallFailure.sip(code, metadata.get("sip_status"))
        else:
            failure = CallFailure.of(reason if reason in ERROR_CODES else ENGINE_ERROR)
        metadata["error_code"] = failure.code
        metadata.setdefault("error_message", failure.message)
    elif metadata.get("error_code") is not None and not metadata.get("error_message"):
        metadata["error_message"] = DEFAULT_ERROR_MESSAGES.get(str(metadata["error_code"]),
                                                               DEFAULT_ERROR_MESSAGES[ERROR])
    matches = metadata.get("menu_matches")
    final = metadata.get("menu_final_selection")
    if isinstance(matches, list) and matches:
        fallback = _iso(row.answered_at or row.initiated_at) or ""
        times = _match_times(bind, row.id)
        new = [_menu(m, times[i] if i < len(times) else fallback) for i, m in enumerate(matches)]
        metadata["menu_matches"] = new
        if final is not None and not isinstance(final, Mapping):
            metadata["menu_final_selection"] = next(
                (m for m in reversed(new) if m["menu"] == str(final)), new[-1])
    elif final is not None and not isinstance(final, Mapping):
        metadata["menu_final_selection"] = _menu(final, _iso(row.answered_at) or "")
    return metadata


def upgrade() -> None:
    bind = op.get_bind()
    meta_text = sa.cast(CALLS.c.metadata, sa.Text)
    rows = bind.execute(sa.select(CALLS).where(sa.or_(
        CALLS.c.disconnect_reason.in_(OLD_WORDS), CALLS.c.status == "failed",
        meta_text.like("%menu_%"), meta_text.like("%error_%"),
        sa.and_(CALLS.c.sip_status_code.is_(None), meta_text.like("%sip_status_code%"))))).all()
    renamed: dict[str, str | None] = {}
    for row in rows:
        stored = (row.metadata or {}).get("sip_status_code")
        code = row.sip_status_code or (stored if isinstance(stored, int) else None)
        reason = _new_reason(row.disconnect_reason, row.direction, code)
        if row.status == "failed" and reason is None:
            reason = ERROR
        metadata = _metadata(bind, row, reason, code)
        changes: dict[str, Any] = {}
        if reason != row.disconnect_reason:
            changes["disconnect_reason"] = renamed[row.id] = reason
        if code != row.sip_status_code:
            changes["sip_status_code"] = code
        if metadata != (row.metadata or {}):
            changes["metadata"] = metadata
        if changes:
            bind.execute(sa.update(CALLS).where(CALLS.c.id == row.id).values(**changes))
    for call_id, reason in renamed.items():
        for event in bind.execute(sa.select(EVENTS.c.id, EVENTS.c.failure_cause, EVENTS.c.payload)
                                  .where(EVENTS.c.call_id == call_id,
                                         EVENTS.c.event_type == "call.ended")).all():
            payload = dict(event.payload or {})
            payload["disconnect_reason"] = reason
            failure = reason if event.failure_cause in OLD_WORDS else event.failure_cause
            bind.execute(sa.update(EVENTS).where(EVENTS.c.id == event.id)
                         .values(payload=payload, failure_cause=failure))


def downgrade() -> None:
    """The old words are not written back: the rewrite loses nothing a reader of them needs."""
