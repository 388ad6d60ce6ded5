"""The store edge of live calls: the call rows and their event log.

:class:`CallRecords` is what a live call writes through (a fake in unit tests);
:class:`SqlCallRecords` is it on the engine's store: ordinary call-row writes go through one
:class:`SerialRunner` worker thread (in order, never on the event loop); call events go through
the engine's :class:`~engine.store.writer.BatchWriter`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session

from engine.events import CallCreated, CallUpdated, Event, EventBus
from engine.store import Call, CallEvent, session_scope, utcnow
from engine.store.columns import column_pairs
from engine.store.types import new_id
from engine.store.writer import BatchWriter, row_values

log = logging.getLogger(__name__)


class CallRecords(Protocol):
    """The store edge of a live call."""

    def create_call(self, fields: dict[str, Any], *, call_id: str | None = None) -> str: ...

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None: ...

    def add_event(self, call_id: str, provider: str, event_type: str, *, status: str | None = None,
                  code: int | None = None, reason: str | None = None, failure: str | None = None,
                  actor: str | None = None, payload: dict[str, Any] | None = None) -> None: ...


StoreJob = Callable[[Session], object]  # what it returns is not used
# a queued store job with what runs once its transaction has ended, and once it has committed
_Queued = tuple[StoreJob, Callable[[], None] | None, Callable[[], None] | None]

# The call-row statements are built once: the values go as execution parameters, so
# SQLAlchemy's statement cache finds each compiled form by the set of columns written, instead of
# building a bound parameter and a cache key for each of a call row's fifty values every time.
ROW_ID = "row_id"  # the WHERE parameter of the call-row statements (not a column of calls)
_CALLS: Table = Call.__table__  # type: ignore[attr-defined]
_INSERT_CALL = insert(_CALLS)
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam(ROW_ID))
_CALL_METADATA = core_select(_CALLS.c["metadata"]).where(_CALLS.c.id == bindparam(ROW_ID))


def _nothing(_session: Session) -> None:
    """A store job that writes nothing (its ``after`` tells when the queue before it landed)."""


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    loop.call_soon_threadsafe(callback)


class SerialRunner:
    """Runs blocking store writes on a worker thread, in submission order.

    The jobs queued while a batch is being written go together in the next: one thread hop and
    one transaction for all of them (a burst of call setups is hundreds of small row writes). A
    batch that fails is retried job by job, so one bad write loses only itself. ``after``
    callbacks run on the worker thread once their job's transaction has ended, ``on_commit``
    callbacks only once it has committed.
    """

    def __init__(self, db: SqlEngine) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Queued | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="telephony-store")

    def submit(self, job: StoreJob, after: Callable[[], None] | None = None, *,
               on_commit: Callable[[], None] | None = None) -> None:
        self._queue.put_nowait((job, after, on_commit))

    async def drained(self, within: float = 10.0) -> None:
        """Wait until every write submitted so far has landed (or ``within`` seconds)."""
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        self.submit(_nothing, after=lambda: _call_soon(loop, done.set))
        await asyncio.wait_for(done.wait(), within)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if None in batch:
                stopping = True
                batch = batch[:batch.index(None)]
            jobs = [item for item in batch if item is not None]
            if jobs:
                await asyncio.to_thread(self._write, jobs)

    def _write(self, jobs: list[_Queued]) -> None:
        committed = [True] * len(jobs)
        try:
            with session_scope(self.db) as session:
                for job, _, _ in jobs:
                    job(session)
        except Exception:
            if len(jobs) == 1:
                log.exception("telephony store write failed")
                committed[0] = False
            else:
                for index, (job, _, _) in enumerate(jobs):
                    try:
                        with session_scope(self.db) as session:
                            job(session)
                    except Exception:
                        log.exception("telephony store write failed")
                        committed[index] = False
        for (_, after, on_commit), ok in zip(jobs, committed, strict=True):
            for callback in (after, on_commit if ok else None):
                if callback is not None:
                    try:
                        callback()
                    except Exception:
                        log.exception("after a telephony store write")

    async def stop(self) -> None:
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None


class SqlCallRecords:
    """:class:`CallRecords` on the engine's store, writer and event bus."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, bus: EventBus | None,
                 runner: SerialRunner) -> None:
        self.db = db
        self.writer = writer
        self.bus = bus
        self.runner = runner
        self._orgs: dict[str, str] = {}
        self._columns = dict(column_pairs(Call))  # attribute -> column

    def create_call(self, fields: dict[str, Any], *, call_id: str | None = None) -> str:
        call_id = call_id or new_id()
        org = fields["organization_id"]
        self._orgs[call_id] = org
        now = utcnow()
        values, _ = row_values(Call, {"id": call_id, "created_at": now, "updated_at": now,
                                      **fields})
        self.runner.submit(lambda session: session.execute(_INSERT_CALL, values))
        self._emit(CallCreated(organization_id=org, call_id=call_id,
                               call={"id": call_id, "status": fields.get("status"),
                                     "direction": fields.get("direction")}))
        return call_id

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None:
        values = {self._columns[key]: value for key, value in fields.items()}
        values["updated_at"] = utcnow()
        values[ROW_ID] = call_id
        patch = values.pop("metadata", None)
        if patch is None:  # a plain UPDATE
            self.runner.submit(lambda session: session.execute(_UPDATE_CALL, values))
        else:
            def merge(session: Session) -> None:
                """Metadata is merged into what the row holds, so the row's metadata is read."""
                row = session.execute(_CALL_METADATA, {ROW_ID: call_id}).first()
                if row is None:
                    return
                values["metadata"] = {**(row[0] or {}), **patch}
                session.execute(_UPDATE_CALL, values)

            self.runner.submit(merge)
        public = {k: v for k, v in fields.items() if k in ("status", "disconnect_reason",
                                                            "duration_seconds")}
        self._emit(CallUpdated(organization_id=self._orgs.get(call_id, ""), call_id=call_id,
                               call={"id": call_id, **public}))

    def add_event(self, call_id: str, provider: str, event_type: str, *, status: str | None = None,
                  code: int | None = None, reason: str | None = None, failure: str | None = None,
                  actor: str | None = None, payload: dict[str, Any] | None = None) -> None:
        self.writer.add(CallEvent, {
            "organization_id": self._orgs.get(call_id, ""), "call_id": call_id,
            "provider": provider, "event_type": event_type, "status": status,
            "sip_status_code": code, "sip_status": reason, "failure_cause": failure,
            "actor": actor, "payload": payload or {}, "occurred_at": utcnow(),
        })

    def remember(self, call_id: str, organization_id: str) -> None:
        self._orgs[call_id] = organization_id

    def forget(self, call_id: str) -> None:
        self._orgs.pop(call_id, None)

    def _emit(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.emit(event)


__all__ = ["CallRecords", "SerialRunner", "SqlCallRecords", "StoreJob"]
