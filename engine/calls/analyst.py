"""Each call analysed once, moments after it ends: the first asker claims the call's pending
analysis and runs it (:func:`engine.calls.analysis.reanalyse`) in a worker thread, a second one
(the end-of-call report) waits for it; :class:`CallAnalyst` announces it in the call's log and on
the bus."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from engine.agents.llm import COMPLETION_TIMEOUT_S
from engine.calls.analysis import FAILED_STATUS, reanalyse
from engine.calls.costs import Rates
from engine.calls.llm_analysis import MAX_ATTEMPTS
from engine.calls.serialize import analysis as serialized
from engine.events import AnalysisCompleted, CallUpdated, Event
from engine.store import LIVE_STATUSES, Call, CallEvent, TranscriptEntry, session_scope
from engine.store.timeutil import utcnow
from engine.store.writer import BatchWriter

log = logging.getLogger(__name__)


PENDING_STATUS = "pending"  # a call's analysis_status until it is analysed
ANALYSING_STATUS = "analysing"  # while one analysis of the ended call runs (others wait for it)
# how long a second asker waits for an analysis under way: two LLM attempts
# (engine.calls.llm_analysis.MAX_ATTEMPTS) of at most COMPLETION_TIMEOUT_S each, and some slack
ANALYSIS_WAIT_S = MAX_ATTEMPTS * COMPLETION_TIMEOUT_S + 10.0
WAIT_POLL_S = 0.1  # how often the second asker looks again
ANALYSES_AT_ONCE = 2  # ended calls analysed together (a burst of endings queues, in order)
_CALLS: Table = Call.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Finished:
    """An ended call's analysis as written: its organization, the analysis fields as the API
    shows them (``engine.calls.serialize.analysis``), and whether this asker made it."""

    organization_id: str
    fields: dict[str, Any]
    made_here: bool


def _claim(db: SqlEngine, call_id: str) -> bool:
    """Marks the ended call's pending analysis as under way; False when it is not pending (done,
    under way elsewhere) or the call is still live."""
    with db.begin() as conn:
        claimed = conn.execute(
            update(_CALLS).where(_CALLS.c.id == call_id,
                                 _CALLS.c.analysis_status == PENDING_STATUS,
                                 _CALLS.c.status.not_in(LIVE_STATUSES))
            .values(analysis_status=ANALYSING_STATUS, updated_at=utcnow()))
        return bool(claimed.rowcount)


def _entries(session: Session, call_id: str) -> list[TranscriptEntry]:
    return list(session.exec(
        select(TranscriptEntry).where(TranscriptEntry.call_id == call_id)
        .order_by(col(TranscriptEntry.index), col(TranscriptEntry.created_at))).all())


def analyse_ended(db: SqlEngine, call_id: str, *, client: httpx.Client | None = None,
                  rates: Rates | None = None, wait_s: float = ANALYSIS_WAIT_S) -> Finished | None:
    """The ended call's analysis, made once: the first asker runs it (:func:`reanalyse`), a
    second one while it runs waits for it (up to ``wait_s``), a later one reads it. None when
    the call does not exist, is still live, or the analysis under way did not finish in time.

    Blocking (with an LLM brain it waits for the LLM's answer): run it in a worker thread."""
    made_here = _claim(db, call_id)
    if made_here:
        try:
            with session_scope(db) as session:
                call = session.get(Call, call_id)
                if call is None:
                    return None
                reanalyse(session, call, _entries(session, call_id), client=client, rates=rates)
        except Exception:
            log.exception("call %s: the post-call analysis failed", call_id)
            with db.begin() as conn:
                conn.execute(update(_CALLS).where(_CALLS.c.id == call_id)
                             .values(analysis_status=FAILED_STATUS, updated_at=utcnow()))
    deadline = time.monotonic() + wait_s
    while True:
        with Session(db) as session:
            call = session.get(Call, call_id)
            if call is None or call.status in LIVE_STATUSES or call.analysis_status == PENDING_STATUS:
                return None
            if call.analysis_status != ANALYSING_STATUS:
                return Finished(call.organization_id, serialized(call), made_here)
        if time.monotonic() >= deadline:
            log.warning("call %s: its analysis did not finish within %g s", call_id, wait_s)
            return None
        time.sleep(WAIT_POLL_S)


class CallAnalyst:
    """Analyses each call moments after it ends, off the event loop: once the call's last rows
    have landed (its final row update, its last transcript lines), in a worker thread, at most
    :data:`ANALYSES_AT_ONCE` at a time; then an ``analysis.completed`` event goes in the call's
    log and on the bus, with a ``call.updated`` carrying the analysis fields for the lists."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, landed: Callable[[], Awaitable[None]],
                 emit: Callable[[Event], None], *, client: httpx.Client | None = None) -> None:
        self.db = db
        self.writer = writer
        self.landed = landed  # waits until every call-row write submitted so far has landed
        self.emit = emit
        self.client = client
        self._slots = asyncio.Semaphore(ANALYSES_AT_ONCE)

    async def call_ended(self, call_id: str) -> Finished | None:
        """Analyse the call that has just ended (its ``call.ended`` is written) and announce it."""
        try:
            await self.landed()
            await asyncio.to_thread(self.writer.flush)
            async with self._slots:
                done = await asyncio.to_thread(analyse_ended, self.db, call_id, client=self.client)
        except Exception:
            log.exception("call %s: the post-call analysis did not run", call_id)
            return None
        if done is None:
            return None
        self.announce(call_id, done)
        return done

    def announce(self, call_id: str, done: Finished) -> None:
        fields = done.fields
        org = done.organization_id
        self.writer.add(CallEvent, {
            "organization_id": org, "call_id": call_id, "provider": "engine",
            "event_type": AnalysisCompleted.type, "status": fields["status"],
            "payload": {"error": fields["error"]} if fields["error"] else {},
            "occurred_at": utcnow()})
        self.emit(CallUpdated(organization_id=org, call_id=call_id, call={
            "id": call_id, "analysis_status": fields["status"], "summary": fields["summary"],
            "sentiment": fields["sentiment"], "sentiment_score": fields["sentiment_score"],
            "outcome": fields["outcome"], "success": fields["success"]}))
        self.emit(AnalysisCompleted(
            organization_id=org, call_id=call_id, status=fields["status"],
            summary=fields["summary"], sentiment=fields["sentiment"],
            sentiment_score=fields["sentiment_score"], outcome=fields["outcome"],
            success=fields["success"], error=fields["error"]))


__all__ = ["ANALYSING_STATUS", "ANALYSIS_WAIT_S", "PENDING_STATUS", "CallAnalyst", "Finished",
           "analyse_ended"]
