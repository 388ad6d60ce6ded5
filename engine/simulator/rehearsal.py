"""Rehearsals: every persona (or a chosen few) calls one agent over real SIP, as test calls, and
each call is scored: the persona's goal reached or why not (what the caller noticed, and what the
call's row shows), turns, voice-to-voice latency per line (p50/p95), barge-ins, idle prompts,
transfers, and the words misheard (the persona's own lines against what the agent's recogniser
made of them: WER per call). The report is stored on the rehearsal's row; a rehearsal is also
compared with the agent's previous one, persona by persona.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlmodel import select

from engine.calls.serialize import detail
from engine.events import CallCreated, EventBus
from engine.simulator.caller import CallResult
from engine.simulator.outcome import TRANSFER_EVENT, outcome_missing, user_lines, words_misheard
from engine.simulator.personas import Persona, load_persona
from engine.simulator.placing import SimulatedCalls
from engine.store import (
    Agent,
    Call,
    CallEvent,
    Rehearsal,
    TranscriptEntry,
    Transfer,
    session_scope,
    utcnow,
)

log = logging.getLogger(__name__)

# Personas rehearse two at a time: whisper keeps up with two calls' recognition on a 2-core
# machine (four left the agents' replies a second late in the capacity bench's first steps).
CONCURRENCY = 2
IDLE_PROMPT_EVENT = "agent.idle_prompt"  # logged by the pipeline each time it prompts a quiet line
Settle = Callable[[str], Awaitable[None]]  # until a call is over and its row written


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` percentile (0-100) of ``values`` by nearest rank, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return round(ordered[rank], 1)


def score(persona: Persona, result: CallResult | None, row: dict[str, Any] | None,
          events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One persona's line of the report, from the caller's result and the call's row."""
    latencies = result.latencies_ms if result is not None else []
    missing = list(result.goal_missing) if result is not None else ["the caller did not run"]
    if result is not None and result.error:
        missing.append(result.error)
    wer: dict[str, Any] | None = None
    if row is not None:
        missing += outcome_missing(persona.success.outcome, row, events)
        said = [s.text for s in result.said] if result is not None else []
        if said:
            misheard = words_misheard(said, user_lines(row))
            wer = {"words": misheard.words, "errors": misheard.errors,
                   "substitutions": misheard.substitutions, "deletions": misheard.deletions,
                   "insertions": misheard.insertions, "wer": round(misheard.wer, 3)}
    metadata = (row or {}).get("metadata") or {}
    return {
        "persona": persona.name, "goal": persona.goal,
        "call_id": row["id"] if row is not None else None,
        "status": row["status"] if row is not None else None,
        "end_reason": row["disconnect_reason"] if row is not None else None,
        "sip_status": result.sip_status if result is not None else None,
        "goal_reached": not missing, "why": missing,
        "turns": len(result.said) if result is not None else 0,
        "voice_to_voice_ms": latencies,
        "voice_to_voice_p50_ms": percentile(latencies, 50),
        "voice_to_voice_p95_ms": percentile(latencies, 95),
        "barge_ins": int(metadata.get("barge_in_count") or 0),
        "idle_prompts": sum(1 for e in events if e["event_type"] == IDLE_PROMPT_EVENT),
        "transfers": transfers(row, events) if row is not None else 0,
        "words_misheard": wer,
    }


def transfers(row: dict[str, Any], events: Sequence[dict[str, Any]]) -> int:
    """The transfers the agent asked for: its transfer rows, or (a transfer to a destination
    that never rang) its transfer requests."""
    requested = sum(1 for e in events if e["event_type"] == TRANSFER_EVENT)
    return max(len(row["transfers"]), requested)


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    latencies = [ms for r in rows for ms in r["voice_to_voice_ms"]]
    errors = sum(r["words_misheard"]["errors"] for r in rows if r["words_misheard"])
    words = sum(r["words_misheard"]["words"] for r in rows if r["words_misheard"])
    return {"personas": len(rows), "goals_reached": sum(1 for r in rows if r["goal_reached"]),
            "voice_to_voice_p50_ms": percentile(latencies, 50),
            "voice_to_voice_p95_ms": percentile(latencies, 95),
            "wer": round(errors / words, 3) if words else None}


# The figures compared between two rehearsals, which way is better, and the difference that is
# noise: voice-to-voice latency moves by ~20-60 ms between two runs of the same agent on the
# 2-core test machine (one 20 ms frame of end-of-turn detection, whisper's own jitter); WER by
# a word or two in twenty.
_COMPARED = (("goal_reached", "higher", 0.0), ("voice_to_voice_p95_ms", "lower", 100.0),
             ("voice_to_voice_p50_ms", "lower", 100.0), ("wer", "lower", 0.1),
             ("barge_ins", "none", 0.0), ("idle_prompts", "none", 0.0),
             ("transfers", "none", 0.0), ("turns", "none", 0.0))


def compare(report: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Persona by persona, what changed from ``previous``: each figure's before and after, and
    whether it got better or worse (``changed`` when neither is better); a difference within the
    figure's noise is no change."""
    before = {r["persona"]: r for r in previous.get("personas", [])}
    out: list[dict[str, Any]] = []
    for row in report.get("personas", []):
        old = before.get(row["persona"])
        if old is None:
            out.append({"persona": row["persona"], "changes": [], "new": True})
            continue
        changes = []
        for name, better, noise in _COMPARED:
            a, b = _figure(old, name), _figure(row, name)
            if a == b or (a is not None and b is not None and abs(b - a) < noise):
                continue
            verdict = "changed"
            if better != "none" and a is not None and b is not None:
                verdict = "better" if (b > a) == (better == "higher") else "worse"
            changes.append({"figure": name, "before": a, "after": b, "verdict": verdict})
        out.append({"persona": row["persona"], "changes": changes, "new": False})
    return out


def _figure(row: dict[str, Any], name: str) -> Any:
    if name == "wer":
        wer = row.get("words_misheard")
        return wer["wer"] if wer else None
    value = row.get(name)
    return int(value) if isinstance(value, bool) else value


class Rehearsals:
    """Runs stored rehearsals: personas as test calls placed by ``calls``, scored into the
    rehearsal's report."""

    def __init__(self, db: SqlEngine, bus: EventBus | None, calls: SimulatedCalls,
                 settle: Settle, *, concurrency: int = CONCURRENCY) -> None:
        self.db = db
        self.bus = bus
        self.calls = calls
        self.settle = settle
        self.concurrency = concurrency
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def run_soon(self, rehearsal_id: str) -> None:
        """Run the stored rehearsal in the background (callable from any thread)."""
        if self._loop is None:
            raise RuntimeError("rehearsals are not started")
        self._loop.call_soon_threadsafe(self._start, rehearsal_id)

    def _start(self, rehearsal_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.run(rehearsal_id),
                                                      name=f"rehearsal-{rehearsal_id}")
        self._tasks[rehearsal_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(rehearsal_id, None))

    async def wait(self, rehearsal_id: str) -> None:
        task = self._tasks.get(rehearsal_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def run(self, rehearsal_id: str) -> None:
        try:
            rehearsal = await asyncio.to_thread(self._begin, rehearsal_id)
            personas = [await asyncio.to_thread(load_persona, name) for name in rehearsal.personas]
            gate = asyncio.Semaphore(self.concurrency)

            async def one(persona: Persona) -> dict[str, Any]:
                async with gate:
                    return await self._rehearse(rehearsal, persona)

            rows = list(await asyncio.gather(*(one(p) for p in personas)))
            report: dict[str, Any] = {"personas": rows, "totals": totals(rows)}
            await asyncio.to_thread(self._finish, rehearsal_id, report, None)
        except asyncio.CancelledError:
            await asyncio.to_thread(self._finish, rehearsal_id, None, "the engine stopped")
            raise
        except Exception as exc:
            log.exception("rehearsal %s failed", rehearsal_id)
            await asyncio.to_thread(self._finish, rehearsal_id, None, str(exc))

    async def _rehearse(self, rehearsal: Rehearsal, persona: Persona) -> dict[str, Any]:
        call_id = await asyncio.to_thread(self._new_call, rehearsal, persona.name)
        await self.calls.place(call_id, rehearsal.organization_id, persona.name)
        result = self.calls.results.get(call_id)
        await self.settle(call_id)
        row, events = await asyncio.to_thread(self._load, call_id)
        return score(persona, result, row, events)

    # -- the store (worker threads) -------------------------------------------------------------

    def _begin(self, rehearsal_id: str) -> Rehearsal:
        with session_scope(self.db) as session:
            rehearsal = session.get(Rehearsal, rehearsal_id)
            if rehearsal is None:
                raise LookupError(f"rehearsal {rehearsal_id} not found")
            rehearsal.status, rehearsal.started_at = "running", utcnow()
            rehearsal.updated_at = rehearsal.started_at
            session.add(rehearsal)
            session.flush()
            session.expunge(rehearsal)
            return rehearsal

    def _new_call(self, rehearsal: Rehearsal, persona: str) -> str:
        with session_scope(self.db) as session:
            agent = session.get(Agent, rehearsal.agent_id)
            now = utcnow()
            call = Call(organization_id=rehearsal.organization_id, type="test_call",
                        transport="sip", direction="inbound", from_number="", to_number="",
                        agent_id=rehearsal.agent_id, status="queued", is_test=True,
                        initiated_at=now, created_at=now, updated_at=now,
                        metadata_={"persona": persona, "rehearsal_id": rehearsal.id})
            session.add(call)
            session.add(CallEvent(organization_id=rehearsal.organization_id, call_id=call.id,
                                  provider="engine", event_type="call.queued", status="queued",
                                  occurred_at=now, actor=f"rehearsal:{rehearsal.id}",
                                  payload={"persona": persona, "is_test": True}))
            call_id = call.id
            summary = {"id": call_id, "status": "queued", "direction": "inbound",
                       "agent_name": agent.name if agent is not None else None}
        if self.bus is not None:
            self.bus.emit(CallCreated(organization_id=rehearsal.organization_id, call_id=call_id,
                                      call=summary))
        return call_id

    def _load(self, call_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        with session_scope(self.db) as session:
            call = session.get(Call, call_id)
            if call is None:
                return None, []
            entries = session.exec(select(TranscriptEntry).where(
                TranscriptEntry.call_id == call_id)).all()
            transfers = session.exec(select(Transfer).where(Transfer.call_id == call_id)).all()
            events = [{"event_type": e.event_type, "payload": e.payload or {}}
                      for e in session.exec(select(CallEvent).where(
                          CallEvent.call_id == call_id)).all()]
            agent = session.get(Agent, call.agent_id) if call.agent_id else None
            entries = sorted(entries, key=lambda e: (e.index, e.created_at))
            return (detail(call, agent.name if agent is not None else None, entries, transfers),
                    events)

    def _finish(self, rehearsal_id: str, report: dict[str, Any] | None,
                error: str | None) -> None:
        with session_scope(self.db) as session:
            rehearsal = session.get(Rehearsal, rehearsal_id)
            if rehearsal is None:
                return
            now = utcnow()
            if report is not None and rehearsal.previous_id:
                previous = session.get(Rehearsal, rehearsal.previous_id)
                if previous is not None and previous.report:
                    report["comparison"] = {"previous_id": previous.id,
                                            "personas": compare(report, previous.report)}
            rehearsal.status = "completed" if report is not None else "failed"
            rehearsal.report = report or rehearsal.report
            rehearsal.error = error
            rehearsal.ended_at = rehearsal.updated_at = now
            session.add(rehearsal)


__all__ = ["CONCURRENCY", "Rehearsals", "compare", "percentile", "score", "totals", "transfers"]
