"""The webhook dispatcher: status-update and end-of-call-report from the call events on the bus,
assistant-request and tool-calls for the call code, and test pings for the API.

Status changes are seen on the event bus (``call.created`` / ``call.updated``, published by the
API and by the telephony service). Events of one call are handled in order; different calls and
different webhooks are served concurrently. Store reads and writes run on worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx
from sqlalchemy import Engine as SqlEngine

from engine.events import EventBus, Subscription
from engine.store import as_utc, new_id, utcnow
from engine.webhooks import messages
from engine.webhooks.backoff import base_from_env
from engine.webhooks.deliveries import DELIVERED, FAILED, PENDING, Delivery, DeliveryLog, SqlDeliveryLog
from engine.webhooks.reports import CallState, load_call, load_report, set_post_call_status
from engine.webhooks.sender import Sender, Sleep
from engine.webhooks.targets import (
    Target,
    agent_in_organization,
    target_by_id,
    targets_for,
    tool_target,
)

if TYPE_CHECKING:
    from engine.speech import ToolCall

log = logging.getLogger(__name__)

CALL_EVENTS = frozenset({"call.created", "call.updated"})
FINAL_STATUSES = frozenset(messages.FINAL_STATUSES)
# How far along a status is: a row at or past the event's rank is fresh enough to describe it.
STATUS_RANK = {"queued": 0, "ringing": 1, "in_progress": 2, "on_hold": 2, "transferring": 2,
               **dict.fromkeys(messages.FINAL_STATUSES, 3)}

ASSISTANT_DEADLINE_S = 5.0  # issue 5: after this the number's own agent takes the call
ROW_WAIT_S = 2.0  # the telephony service writes a call's row on a worker thread just after publishing
ROW_POLL_S = 0.05
REPORT_SETTLE_S = 0.25  # > 2x the store writer's 100 ms flush: transcript rows of the call's end are in
STALE_S = 60.0  # a final status of a call unknown to us, ended longer ago, is a re-publish: no report
STOP_GRACE_S = 3.0  # deliveries in flight at stop get this long before they are cancelled
KNOWN_CALLS = 20_000  # last statuses remembered, to tell status changes from other call updates

# a brain's tool call: the speech frame, or a mapping with the same keys (``id`` for ``call_id``)
ToolCallLike: TypeAlias = "ToolCall | Mapping[str, Any]"
ToolRunner = Callable[[ToolCallLike], Awaitable[dict[str, Any]]]


class WebhookError(RuntimeError):
    """A tool-calls webhook failed or answered with an error."""


class CallEventSubscription(Subscription):
    """Call lifecycle events of every organization."""

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("type") in CALL_EVENTS


class WebhookDispatcher:
    """Delivers the organization's events to its webhooks. ``start()`` on the engine's loop."""

    def __init__(self, db: SqlEngine, bus: EventBus | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 backoff_base_s: float | None = None, deliveries: DeliveryLog | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.db = db
        self.bus = bus
        self.deliveries = deliveries or SqlDeliveryLog(db)
        self.backoff_base_s = base_from_env() if backoff_base_s is None else backoff_base_s
        self._transport = transport
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self._sender: Sender | None = None
        self._sub: Subscription | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._known: OrderedDict[str, str] = OrderedDict()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            raise RuntimeError("the webhook dispatcher is not started")
        return self._sender

    async def start(self) -> None:
        self._client = httpx.AsyncClient(transport=self._transport, follow_redirects=False)
        self._sender = Sender(self._client, self.deliveries, backoff_base_s=self.backoff_base_s,
                              sleep=self._sleep)
        if self.bus is not None:
            self._sub = self.bus.attach(CallEventSubscription("*"))
            self._consumer = asyncio.get_running_loop().create_task(
                self._consume(self._sub.queue), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop listening; deliveries in flight get ``STOP_GRACE_S``, then are cancelled."""
        sub, self._sub = self._sub, None
        if sub is not None and self.bus is not None:
            self.bus.unsubscribe(sub)
        if self._consumer is not None:
            if sub is not None and not sub.queue.full():
                sub.queue.put_nowait({"type": "_stop"})  # handled after the events already queued
            else:
                self._consumer.cancel()
            await asyncio.wait({self._consumer}, timeout=STOP_GRACE_S)
            self._consumer.cancel()
            await asyncio.wait({self._consumer})
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sender is not None:
            await self._sender.drain(STOP_GRACE_S)
        if self._client is not None:
            await self._client.aclose()
        self._sender = self._client = self._consumer = None

    # -- call events ------------------------------------------------------------------------------

    async def _consume(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while (event := await queue.get()).get("type") != "_stop":
            try:
                self.handle(event)
            except Exception:
                log.exception("webhook dispatcher: bad event %s", event.get("type"))

    def handle(self, event: Mapping[str, Any]) -> None:
        """Take one bus event; a call's status change schedules its webhooks (on the loop)."""
        call_id, org = event.get("call_id"), event.get("organization_id")
        data = event.get("data") or {}
        status = data.get("status")
        if event.get("type") not in CALL_EVENTS or not call_id or not org or not isinstance(status, str):
            return
        previous = self._known.get(call_id)
        if previous == status:
            return
        self._remember(call_id, status)
        unknown = event.get("type") == "call.updated" and previous is None
        if unknown and status not in FINAL_STATUSES:
            return  # a call we never saw change (e.g. its notes edited after a restart)
        self._chain(call_id, lambda: self._status_changed(org, call_id, status, dict(data), unknown))

    def _remember(self, call_id: str, status: str) -> None:
        self._known[call_id] = status
        self._known.move_to_end(call_id)
        while len(self._known) > KNOWN_CALLS:
            self._known.popitem(last=False)

    def _chain(self, call_id: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` after the call's previous job, so a call's events go out in order."""
        previous = self._chains.get(call_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhooks for call %s failed", call_id)

        task = asyncio.get_running_loop().create_task(run(), name=f"webhooks-{call_id}")
        self._chains[call_id] = task
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if self._chains.get(call_id) is t:
                del self._chains[call_id]

        task.add_done_callback(done)

    async def _wait_for_row(self, call_id: str, status: str) -> CallState | None:
        """The call's row once it shows ``status`` or a later one (or whatever is there after
        ``ROW_WAIT_S``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ROW_WAIT_S
        rank = STATUS_RANK.get(status, 0)
        while True:
            state = await asyncio.to_thread(load_call, self.db, call_id)
            if state is not None and STATUS_RANK.get(state.status, 0) >= rank:
                return state
            if loop.time() >= deadline:
                return state
            await asyncio.sleep(ROW_POLL_S)

    async def _status_changed(self, org: str, call_id: str, status: str, data: dict[str, Any],
                              unknown: bool) -> None:
        final = status in FINAL_STATUSES
        hooks = await targets_for(self.db, org, "status-update", any_agent=True)
        reports = (await targets_for(self.db, org, "end-of-call-report", any_agent=True)
                   if final else [])
        if not hooks and not reports:
            return
        state = await self._wait_for_row(call_id, status)
        if state is None:
            log.info("call %s: no row after %g s; its %s status-update goes to org-wide webhooks",
                     call_id, ROW_WAIT_S, status)
        elif unknown and state.ended_at is not None and \
                (utcnow() - as_utc(state.ended_at)).total_seconds() > STALE_S:
            return
        agent_id = state.agent_id if state is not None else None
        targets = [t for t in hooks if t.agent_id is None or (agent_id and t.agent_id == agent_id)]
        if targets:
            view = dict(state.view) if state is not None else {"id": call_id, "organization_id": org}
            view.update({k: v for k, v in data.items() if k in view or state is None})
            view["status"] = status
            message = messages.status_update(view, status)
            await asyncio.gather(*(self.sender.deliver(t, "status-update", message, call_id=call_id)
                                   for t in targets))
        if state is not None and any(t.agent_id is None or t.agent_id == agent_id for t in reports):
            await self._report(call_id)

    async def _report(self, call_id: str) -> None:
        """The end-of-call-report, once per call, retried; sets ``post_call_webhook_status``."""
        await asyncio.sleep(REPORT_SETTLE_S)
        state = await asyncio.to_thread(load_call, self.db, call_id)
        if state is None or state.status not in FINAL_STATUSES or state.post_call_webhook_status:
            return
        targets = await targets_for(self.db, state.organization_id, "end-of-call-report",
                                    state.agent_id)
        if not targets:
            return
        await asyncio.to_thread(set_post_call_status, self.db, call_id, PENDING)
        loaded = await asyncio.to_thread(load_report, self.db, call_id)
        if loaded is None:
            return
        state, fields = loaded
        message = messages.end_of_call_report(state.view, fields)
        try:
            results = await asyncio.gather(*(
                self.sender.deliver(t, "end-of-call-report", message, call_id=call_id)
                for t in targets))
        except asyncio.CancelledError:
            await asyncio.to_thread(set_post_call_status, self.db, call_id, FAILED)
            raise
        outcome = DELIVERED if all(d.ok for d in results) else FAILED
        await asyncio.to_thread(set_post_call_status, self.db, call_id, outcome)

    # -- for the call code ------------------------------------------------------------------------

    async def request_assistant(self, org_id: str, call_summary: Mapping[str, Any],
                                deadline_s: float = ASSISTANT_DEADLINE_S) -> dict[str, Any] | None:
        """Ask the organization's assistant-request webhook which agent takes an inbound call.

        ``call_summary`` carries at least ``id``, ``from_number``, ``to_number`` and ``agent_id``
        (the number's agent). Returns ``{"agent_id", "overrides", "dynamic_variables"}`` (and
        ``"error"`` when the receiver refuses the call), or None — no webhook, no answer within
        ``deadline_s``, an error, or an agent of another organization — meaning: use the
        number's agent."""
        try:
            async with asyncio.timeout(deadline_s):
                return await self._request_assistant(org_id, call_summary, deadline_s)
        except TimeoutError:
            log.info("assistant-request for %s: no answer within %g s", org_id, deadline_s)
            return None
        except Exception:
            log.exception("assistant-request for %s failed", org_id)
            return None

    async def _request_assistant(self, org_id: str, call: Mapping[str, Any],
                                 deadline_s: float) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        agent_id = call.get("agent_id")
        targets = await targets_for(self.db, org_id, "assistant-request",
                                    agent_id if isinstance(agent_id, str) else None)
        if not targets:
            return None
        remaining = deadline_s - (loop.time() - started)
        delivery = await self.sender.deliver(
            targets[0], "assistant-request", messages.assistant_request(call),
            call_id=_str(call.get("id")), retry=False, deadline_s=remaining, log_later=True)
        if not delivery.ok:
            return None
        choice = messages.assistant_choice(delivery.answer)
        if choice is None:
            return None
        chosen = choice.get("agent_id")
        if chosen and not await asyncio.to_thread(agent_in_organization, self.db, org_id, chosen):
            log.warning("assistant-request for %s chose agent %s, not one of its agents; ignored",
                        org_id, chosen)
            return None
        return choice

    async def call_tool(self, org_id: str, call: Mapping[str, Any],
                        tool_call: ToolCallLike) -> dict[str, Any]:
        """Run a function tool through its webhook: the tool's own URL when it has one, else the
        organization's tool-calls webhook. ``tool_call`` is a mapping or object with ``id`` (or
        ``call_id``), ``name`` and ``arguments``. Returns ``{"results": [{"toolCallId", "result"}]}``
        or, on failure, ``{"results": [{"toolCallId", "error"}]}``; never raises."""
        request = _tool_call(tool_call)
        agent_id = _str(call.get("agent_id"))
        try:
            target: Target | None = await asyncio.to_thread(tool_target, self.db, org_id, agent_id,
                                                            request["name"])
            if target is None:
                targets = await targets_for(self.db, org_id, "tool-calls", agent_id)
                target = targets[0] if targets else None
            if target is None:
                return messages.tool_error(request["id"], f"no webhook answers tool {request['name']}")
            delivery = await self.sender.deliver(target, "tool-calls",
                                                 messages.tool_calls(call, [request]),
                                                 call_id=_str(call.get("id")), retry=False)
        except Exception as exc:
            log.exception("tool-calls for %s failed", org_id)
            return messages.tool_error(request["id"], f"{type(exc).__name__}: {exc}")
        if not delivery.ok:
            return messages.tool_error(request["id"], delivery.last_error or "not delivered")
        return messages.tool_results(delivery.answer, request["id"])

    def tool_runner(self, org_id: str, call: Mapping[str, Any]) -> ToolRunner:
        """A brain's tool runner for one call: the tool's result, or WebhookError."""

        async def run(tool_call: ToolCallLike) -> dict[str, Any]:
            answer = await self.call_tool(org_id, call, tool_call)
            first = answer["results"][0]
            if "error" in first and "result" not in first:
                raise WebhookError(str(first["error"]))
            result = first.get("result")
            return dict(result) if isinstance(result, Mapping) else {"result": result}

        return run

    # -- for the API ------------------------------------------------------------------------------

    async def send_test(self, org_id: str, webhook_id: str) -> Delivery | None:
        """A ``ping`` to one webhook (enabled or not), one attempt; None for an unknown webhook."""
        target = await asyncio.to_thread(target_by_id, self.db, org_id, webhook_id)
        if target is None:
            return None
        return await self.sender.deliver(target, messages.PING, messages.ping(webhook_id), retry=False)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _tool_call(tool_call: ToolCallLike) -> dict[str, Any]:
    def get(name: str) -> Any:
        if isinstance(tool_call, Mapping):
            return tool_call.get(name)
        return getattr(tool_call, name, None)

    ident = get("id") or get("call_id") or f"call_{new_id()}"
    arguments = get("arguments")
    return {"id": str(ident), "name": str(get("name") or ""),
            "arguments": dict(arguments) if isinstance(arguments, Mapping) else {}}


__all__ = ["ASSISTANT_DEADLINE_S", "CallEventSubscription", "ToolRunner", "WebhookDispatcher",
           "WebhookError"]
