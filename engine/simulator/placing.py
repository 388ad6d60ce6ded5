"""Test calls that run: a stored ``queued`` test call is placed by a simulated caller of its
persona, dialling the engine's own SIP port as ``sip:test-<call id>@host:port``. The engine's
inbound routing gives that call to the test call's agent on the stored row (see
:func:`engine.calls.routing.queued_test_route`), so the row fills like any other call's.

What the caller itself saw (its lines, what it heard, its voice-to-voice latency per line, its
goal) is added to the row's metadata as ``test_caller``. A call no agent answered leaves the row
``failed`` with the SIP status in its error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from engine.calls.records import SqlCallRecords
from engine.calls.routing import TEST_CALL_PREFIX
from engine.simulator.caller import CALL_LIMIT_S, CallResult, Line, SimulatedCaller, needs_hearing, render
from engine.simulator.personas import Persona, load_persona
from engine.speech.stt import SttEngine
from engine.store import utcnow
from engine.store.vocabulary import ENGINE_ERROR, CallFailure

log = logging.getLogger(__name__)

DEFAULT_PERSONA = "quick_question"  # a question any agent can hear, then goodbye


def caller_summary(result: CallResult) -> dict[str, Any]:
    """What a simulated caller saw of its call, as stored in the row's ``test_caller``."""
    return {
        "persona": result.persona, "sip_status": result.sip_status, "answered": result.answered,
        "ended_by": result.ended_by, "goal_reached": result.goal_reached,
        "goal_missing": list(result.goal_missing), "duration_s": round(result.duration_s, 3),
        "said": [{"text": s.text, "at_s": s.started_s, "barge_in": s.barge_in}
                 for s in result.said],
        "heard": [{"text": h.text, "at_s": h.at_s} for h in result.heard],
        "dtmf": result.dtmf,
        "turns": [{"line": t.line, "voice_to_voice_ms": t.voice_to_voice_ms}
                  for t in result.turns],
        "error": result.error,
    }


class SimulatedCalls:
    """Places stored test calls at ``sip:test-<id>@host:port``; ``stt()`` gives the recogniser
    of personas that react to the agent's words (made in a worker thread, once per call)."""

    def __init__(self, host: str, port: int, records: SqlCallRecords, stt: Callable[[], SttEngine],
                 *, limit_s: float = CALL_LIMIT_S) -> None:
        self.host = host
        self.port = port
        self.records = records
        self.stt = stt
        self.limit_s = limit_s
        self.results: dict[str, CallResult] = {}
        self._tasks: dict[str, asyncio.Task[CallResult]] = {}
        self._rendered: dict[str, tuple[Persona, dict[str, Line]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def place(self, call_id: str, organization_id: str,
              persona: str = DEFAULT_PERSONA) -> asyncio.Task[CallResult]:
        """Place the queued test call (in the background, on the running loop)."""
        task = asyncio.get_running_loop().create_task(self._place(call_id, organization_id,
                                                                  persona),
                                                      name=f"test-call-{call_id}")
        self._tasks[call_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(call_id, None))
        return task

    def place_soon(self, call_id: str, organization_id: str, persona: str = DEFAULT_PERSONA) -> None:
        """:meth:`place` from any thread (an API handler in a worker thread)."""
        if self._loop is None:
            raise RuntimeError("simulated calls are not started")
        self._loop.call_soon_threadsafe(self.place, call_id, organization_id, persona)

    async def result(self, call_id: str) -> CallResult | None:
        """The caller's result of a call placed here: waited for while it runs."""
        task = self._tasks.get(call_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        return self.results.get(call_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _persona(self, name: str) -> tuple[Persona, dict[str, Line]]:
        if name not in self._rendered:
            persona = await asyncio.to_thread(load_persona, name)
            self._rendered[name] = (persona, await render(persona))
        return self._rendered[name]

    async def _place(self, call_id: str, organization_id: str, name: str) -> CallResult:
        uri = f"sip:{TEST_CALL_PREFIX}{call_id}@{self.host}:{self.port}"
        try:
            persona, lines = await self._persona(name)
            hearing = await asyncio.to_thread(self.stt) if needs_hearing(persona) else None
            result = await SimulatedCaller(persona, hearing, lines=lines).call(
                uri, limit_s=self.limit_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("test call %s: the simulated caller failed", call_id)
            result = CallResult(name, uri, error=f"the simulated caller failed: {exc}")
        self.results[call_id] = result
        summary = caller_summary(result)
        if result.answered:
            self.records.update_call(call_id, {"metadata_": {"test_caller": summary}})
        else:
            self._unanswered(call_id, organization_id, result, summary)
        log.info("test call %s from %s: SIP %s, goal %s", call_id, name, result.sip_status,
                 "reached" if result.goal_reached else "missed")
        return result

    def _unanswered(self, call_id: str, organization_id: str, result: CallResult,
                    summary: dict[str, Any]) -> None:
        """The row of a test call nobody answered: failed, with the SIP status said."""
        message = result.error or (f"no agent answered the simulated caller (SIP status "
                                   f"{result.sip_status})")
        records = self.records
        code = result.sip_status if result.sip_status and result.sip_status >= 300 else None
        failure = CallFailure(str(code), message) if code else CallFailure.of(ENGINE_ERROR, message)
        records.remember(call_id, organization_id)
        try:
            records.update_call(call_id, {
                "status": "failed", "ended_at": utcnow(), "disconnect_reason": "error",
                "sip_status_code": code,
                "metadata_": {**failure.metadata(), "test_caller": summary}})
            records.add_event(call_id, "engine", "call.ended", status="failed", failure="error",
                              code=result.sip_status, payload={"error": message})
        finally:
            records.forget(call_id)


__all__ = ["DEFAULT_PERSONA", "SimulatedCalls", "caller_summary"]
