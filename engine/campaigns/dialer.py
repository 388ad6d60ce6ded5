"""The dialer: calls the leads of the running campaigns, within each campaign's concurrency,
pace and calling hours, and records how each attempt ended.

One pass (:meth:`Dialer.step`) settles the attempts that ended, starts the scheduled campaigns
that are due, claims and dials the leads that may be called now, defers those outside their
calling hours to when their window opens, and completes the campaigns with nobody left to call;
it answers when the next pass is due. The same pass places the scheduled callbacks that are due
(:mod:`.callbacks`): inside their campaign's calling hours, one at a time per claim, counted in
their campaign's concurrency while they are under way; each change of a callback is sent as a
``callback.changed`` event. The time comes from an injected clock, and calls are
placed through a :class:`Placer`, so the whole policy runs in virtual time in the tests; in the
engine the placer is the telephony service (:class:`TelephonyPlacer`).

The store is the source of truth: every lead is claimed in the store before its call is placed,
and a dialer that starts finds the attempts its engine left under way (killed in the middle)
and settles them before it dials anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine as SqlEngine

from engine.campaigns import callbacks
from engine.campaigns import leads as store
from engine.campaigns.hours import CallingWindow, WindowError
from engine.campaigns.lifecycle import with_actions
from engine.campaigns.pacing import Pacer
from engine.campaigns.zones import lead_zone
from engine.events import CallbackChanged, CampaignProgress, CampaignUpdated, Event, EventBus
from engine.events.base import iso
from engine.store import new_id, row_dict, utcnow

log = logging.getLogger(__name__)

POLL_S = 5.0  # the longest a pass waits for (campaigns started, paused or edited meanwhile)
MIN_WAIT_S = 0.05  # the shortest wait between passes
LEADS_READ = 200  # due leads read at once (a pass reads more while it dials and defers)
READS_A_PASS = 10
RINGING_TIMEOUT_S = 30  # a lead's phone rings this long before the attempt is no answer
SETTLE_WAIT_S = 10.0  # an ended call's last row writes land within this (SerialRunner)


class Placer(Protocol):
    """Places stored queued calls."""

    @property
    def dials(self) -> bool:
        """Whether calls can be placed now."""
        ...

    def dial(self, call_id: str) -> Awaitable[None]:
        """Places the call; what it answers completes when the call has ended."""
        ...

    async def settled(self) -> None:
        """Until the rows of the calls that ended have been written."""
        ...


class TelephonyLike(Protocol):
    @property
    def dials(self) -> bool: ...

    def dial(self, call_id: str) -> asyncio.Task[None]: ...


class TelephonyPlacer:
    """The engine's telephony as the dialer's placer."""

    def __init__(self, telephony: TelephonyLike, drained: Callable[[float], Awaitable[object]]) -> None:
        self.telephony = telephony
        self._drained = drained

    @property
    def dials(self) -> bool:
        return self.telephony.dials

    def dial(self, call_id: str) -> Awaitable[None]:
        return self.telephony.dial(call_id)

    async def settled(self) -> None:
        await self._drained(SETTLE_WAIT_S)


class Dialer:
    """Dials the running campaigns' leads; ``start()`` runs passes until ``stop()``."""

    def __init__(self, db: SqlEngine, placer: Placer, *, bus: EventBus | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 ringing_timeout_s: int = RINGING_TIMEOUT_S) -> None:
        self.db = db
        self.placer = placer
        self.bus = bus
        self.clock = clock
        self.ringing_timeout_s = ringing_timeout_s
        self.live: dict[str, str] = {}  # calls under way: call id -> campaign id
        self.dialled: list[tuple[datetime, str, str]] = []  # (when, campaign, call) of this run
        self._ended: set[str] = set()  # calls that ended, their leads not settled yet
        self._pacers: dict[str, Pacer] = {}
        self._recovered = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._placing: set[asyncio.Future[None]] = set()

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run(), name="campaign-dialer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        """A pass now (from any thread): a campaign started, resumed or changed."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            try:
                due = await self.step()
            except Exception:
                log.exception("campaign dialer pass failed")
                due = None
            wait = POLL_S if due is None else (due - self.clock()).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(MIN_WAIT_S, min(wait, POLL_S)))

    # -- one pass ------------------------------------------------------------------------------

    async def step(self) -> datetime | None:
        """One pass; the time the next one is due (None: only when a call ends or on a kick)."""
        if not self.placer.dials:
            return None
        now = self.clock()
        if not self._recovered:
            await self._recover(now)
        await self._settle(now)
        plans, started = await asyncio.to_thread(store.running_campaigns, self.db, now)
        for campaign_id in started:
            await self._campaign_changed(campaign_id)
        due: list[datetime] = []
        for plan in plans:
            wake = await self._dial_campaign(plan, now)
            if wake is not None:
                due.append(wake)
            if plan.id not in self.live.values():
                finished = await asyncio.to_thread(store.finish_if_done, self.db, plan.id, now)
                if finished is not None:
                    log.info("campaign %s: every lead is done; completed", plan.id)
                    self._emit(CampaignUpdated(organization_id=finished.organization_id,
                                               record=with_actions(row_dict(finished))))
                    self._pacers.pop(plan.id, None)
        wake = await self._dial_callbacks(now)
        if wake is not None:
            due.append(wake)
        return min(due) if due else None

    async def _dial_callbacks(self, now: datetime) -> datetime | None:
        """Places the scheduled callbacks that are due; when the next one is."""
        for callback_id in await asyncio.to_thread(callbacks.due, self.db, now):
            call_id = new_id()
            claimed = await asyncio.to_thread(callbacks.claim, self.db, callback_id, call_id, now,
                                              self.ringing_timeout_s)
            if claimed.placement is not None:
                log.info("callback %s: placing call %s", callback_id, call_id)
                self._place(call_id, claimed.placement.campaign_id or "", self.clock())
            self._callback_changed(claimed.changed)
        later = await asyncio.to_thread(callbacks.next_due, self.db)
        return None if later is None else max(later, now + timedelta(seconds=MIN_WAIT_S))

    async def _recover(self, now: datetime) -> None:
        """Settles the attempts a previous run of the engine left under way."""
        for _campaign_id, call_id in await asyncio.to_thread(store.calling_leads, self.db):
            if call_id in self.live:
                continue
            change = await asyncio.to_thread(store.settle, self.db, call_id, now, dead=True)
            if change is not None:
                log.info("campaign %s: the attempt of call %s was cut short by a restart; lead %s "
                         "is %s", change.campaign_id, call_id, change.lead_id, change.status)
                await self._progress(change)
        for call_id in await asyncio.to_thread(callbacks.dialing, self.db):
            if call_id not in self.live:
                row = await asyncio.to_thread(callbacks.settle, self.db, call_id, now, dead=True)
                log.info("the callback call %s was under way at a restart: %s", call_id,
                         row["status"] if row is not None else None)
                self._callback_changed(row)
        self._recovered = True

    async def _settle(self, now: datetime) -> None:
        """Settles the leads of the calls that had ended when the pass began: their last row
        writes are awaited first. A call that ends meanwhile waits for the next pass (its row
        may not say it ended yet, and its lead would be left calling)."""
        if not self._ended:
            return
        ended = sorted(self._ended)
        await self.placer.settled()
        for call_id in ended:
            change = await asyncio.to_thread(store.settle, self.db, call_id, now)
            self._callback_changed(await asyncio.to_thread(callbacks.settle, self.db, call_id, now))
            self._ended.discard(call_id)
            if change is not None:
                await self._progress(change)

    async def _dial_campaign(self, plan: store.CampaignPlan, now: datetime) -> datetime | None:
        """Dials what the campaign may dial now; when it may dial again."""
        try:
            window = CallingWindow.of(plan.calling_hours_start, plan.calling_hours_end,
                                      plan.calling_days)
        except WindowError as exc:
            log.warning("campaign %s is not dialled: %s", plan.id, exc)
            return None
        pacer = self._pacers.setdefault(plan.id, Pacer(plan.calls_per_minute))
        pacer.calls_per_minute = plan.calls_per_minute
        room = plan.max_concurrent - sum(1 for c in self.live.values() if c == plan.id)
        held = False  # a lead could be dialled now but for the pace or the concurrency
        for _ in range(READS_A_PASS):
            if room <= 0 or not pacer.ready(self.clock()):
                held = True
                break
            due = await asyncio.to_thread(store.due_leads, self.db, plan.id, now, LEADS_READ)
            if not due:
                break
            deferred: dict[str, datetime] = {}
            for lead in due:  # those outside their hours wait, the others are dialled in turn
                tz = lead_zone(lead.timezone, lead.phone_number, plan.timezone)
                if not window.is_open(now, tz):
                    deferred[lead.id] = window.next_open(now, tz)
                    continue
                at = self.clock()  # a pass takes a while: each dial is paced at its own time
                if room <= 0 or not pacer.ready(at):
                    held = True
                    continue
                call_id = new_id()
                dialled, change = await asyncio.to_thread(
                    store.claim, self.db, plan, lead, call_id, at, self.ringing_timeout_s)
                if dialled:
                    room -= 1
                    at = self.clock()
                    pacer.dialled(at)
                    self._place(call_id, plan.id, at)
                if change is not None:
                    await self._progress(change)
            await asyncio.to_thread(store.defer, self.db, deferred)
            if len(due) < LEADS_READ:
                break
        if held and room <= 0:
            return None  # a call that ends wakes the dialer
        pace = pacer.next_at()
        waits = [pace] if held and pace is not None else []
        later = await asyncio.to_thread(store.next_due, self.db, plan.id)
        if later is not None:
            waits.append(max(later, now + timedelta(seconds=MIN_WAIT_S)))
        return min(waits) if waits else None

    def _place(self, call_id: str, campaign_id: str, now: datetime) -> None:
        self.live[call_id] = campaign_id
        self.dialled.append((now, campaign_id, call_id))
        placed = asyncio.ensure_future(self.placer.dial(call_id))
        self._placing.add(placed)

        def ended(future: asyncio.Future[None]) -> None:
            self._placing.discard(future)
            self.live.pop(call_id, None)
            self._ended.add(call_id)
            if not future.cancelled() and future.exception() is not None:
                log.warning("campaign call %s: %s", call_id, future.exception())
            if self._wake is not None:
                self._wake.set()

        placed.add_done_callback(ended)

    async def _progress(self, change: store.LeadChange) -> None:
        if self.bus is None:
            return
        done, total = await asyncio.to_thread(store.progress, self.db, change.campaign_id)
        self._emit(CampaignProgress(
            organization_id=change.organization_id, campaign_id=change.campaign_id,
            lead_id=change.lead_id, lead_status=change.status, attempts=change.attempts,
            next_attempt_at=iso(change.next_attempt_at), last_call_id=change.last_call_id,
            done=done, total=total))

    async def _campaign_changed(self, campaign_id: str) -> None:
        row = await asyncio.to_thread(store.campaign_row, self.db, campaign_id)
        if row is not None:
            self._emit(CampaignUpdated(organization_id=row["organization_id"],
                                       record=with_actions(row)))

    def _callback_changed(self, row: callbacks.Row | None) -> None:
        if row is not None:
            self._emit(CallbackChanged.of(row))

    def _emit(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.emit(event)


__all__ = ["LEADS_READ", "POLL_S", "RINGING_TIMEOUT_S", "Dialer", "Placer", "TelephonyPlacer"]
