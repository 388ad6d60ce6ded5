"""Inbound routing: the route an INVITE's dialled number resolves to, the organization's
assistant-request webhook (it may pick another agent, override the agent's fields, set dynamic
variables or refuse the call, within a deadline), and the SIP answers of calls that are not
taken (404 unknown number, 480 no agent, 403 refused by the webhook, 500 routing failed)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine as SqlEngine

from engine.calls.hooks import CallHooks
from engine.calls.records import SqlCallRecords
from engine.calls.routing import Route, apply_choice, lookup_route, named_test_call, queued_test_route
from engine.sip.uas import IncomingCall
from engine.store import utcnow
from engine.store import vocabulary as words
from engine.store.types import new_id

log = logging.getLogger(__name__)

ASSISTANT_REJECT_STATUS = 403  # the assistant-request answer refused an inbound call
# the webhook answered this close to its deadline: it is counted as timed out
TIMEOUT_MARGIN_MS = 50


@dataclass
class Inbound:
    """An inbound call that an agent takes: its route, its call id, and what to log of the
    assistant-request answer (None: no webhook was asked)."""

    route: Route
    call_id: str
    asked: dict[str, Any] | None
    stored: bool = False  # the call's row exists already (a queued test call)


class InboundRouter:
    """Routes INVITEs to agents (answering those no agent takes)."""

    def __init__(self, db: SqlEngine, records: SqlCallRecords) -> None:
        self.db = db
        self.records = records
        self.hooks: CallHooks | None = None

    async def route(self, call: IncomingCall, deadline_s: float) -> Inbound | None:
        """The call's route with the assistant-request answer applied, or None when the call was
        answered with an error (or cancelled meanwhile)."""
        test_id = named_test_call(call.user)
        if test_id is not None:
            return await self._test_call(call, test_id)
        try:
            route = await asyncio.to_thread(lookup_route, self.db, call.user)
        except Exception:
            log.exception("routing %s failed", call.user)
            call.reject(500, "error")
            return None
        if call.state == "ended":
            return None  # cancelled while routing
        if route is None:
            log.info("INVITE for unknown number %r from %s: 404", call.user, call.caller)
            call.reject(404, "not_found")
            return None
        call_id = new_id()
        choice, asked = await self._ask_assistant(call, route, call_id, deadline_s)
        if call.state == "ended":
            return None  # cancelled while the webhook thought
        if choice is not None and choice.get("error"):
            self._reject_by_webhook(call, route, call_id, str(choice["error"]), asked or {})
            return None
        if route.agent_id is None:
            call.reject(480, "no_agent")
            return None
        return Inbound(route, call_id, asked)

    async def _test_call(self, call: IncomingCall, call_id: str) -> Inbound | None:
        """A simulated caller placing a stored test call: its agent answers, on its row (no
        assistant-request: the test is of that agent); 404 when no such test call waits."""
        try:
            route = await asyncio.to_thread(queued_test_route, self.db, call_id)
        except Exception:
            log.exception("routing test call %s failed", call_id)
            call.reject(500, "error")
            return None
        if call.state == "ended":
            return None
        if route is None:
            log.info("INVITE for test call %s, which does not wait: 404", call_id)
            call.reject(404, "not_found")
            return None
        return Inbound(route, call_id, None, stored=True)

    async def _ask_assistant(self, call: IncomingCall, route: Route, call_id: str,
                             deadline: float) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The organization's assistant-request webhook, when it has one, may pick another agent,
        override the agent's fields, set dynamic variables or refuse the call; its answer is
        applied to ``route``. No answer within the deadline (or an error): the number's agent.
        Returns the answer and what to log of it (both None without such a webhook)."""
        hooks = self.hooks
        if hooks is None or not await hooks.assistant_wanted(route.organization_id,
                                                             route.agent_id):
            return None, None
        summary = {"id": call_id, "type": "phone_call", "transport": "sip",
                   "direction": "inbound", "status": "ringing", "from_number": call.caller,
                   "to_number": route.number, "phone_number_id": route.phone_number_id,
                   "agent_id": route.agent_id, "sip_call_id": call.call_id}
        loop = asyncio.get_running_loop()
        started = loop.time()
        choice = await hooks.request_assistant(route.organization_id, summary, deadline)
        elapsed_ms = round((loop.time() - started) * 1000)
        event: dict[str, Any] = {"elapsed_ms": elapsed_ms, "deadline_ms": round(deadline * 1000),
                                 "default_agent_id": route.agent_id}
        if choice is None:
            timed_out = elapsed_ms >= deadline * 1000 - TIMEOUT_MARGIN_MS
            event["outcome"] = "timeout" if timed_out else "default"
            log.info("call %s: assistant-request %s; the number's agent answers", call_id,
                     "timed out" if timed_out else "chose nothing")
        elif choice.get("error"):
            event.update(outcome="rejected", error=str(choice["error"]))
        else:
            await asyncio.to_thread(apply_choice, self.db, route, choice)
            event.update(outcome="applied", agent_id=route.agent_id,
                         overrides=sorted(route.overrides),
                         dynamic_variables=sorted(route.variables))
        return choice, event

    def _reject_by_webhook(self, call: IncomingCall, route: Route, call_id: str,
                           error: str, asked: dict[str, Any]) -> None:
        """The assistant-request answer refused the call: 403, with its row and event kept."""
        call.reject(ASSISTANT_REJECT_STATUS, "rejected")
        now = utcnow()
        records = self.records
        records.create_call({
            "organization_id": route.organization_id, "type": "phone_call", "transport": "sip",
            "direction": "inbound", "from_number": call.caller, "to_number": route.number,
            "agent_id": route.agent_id, "phone_number_id": route.phone_number_id,
            "sip_trunk_id": route.sip_trunk_id, "sip_call_id": call.call_id, "status": "failed",
            "initiated_at": now, "ended_at": now, "disconnect_reason": words.ASSISTANT_REJECTED,
            "sip_status_code": ASSISTANT_REJECT_STATUS,
            "metadata_": {"sip_call_id": call.call_id,
                          **words.CallFailure(str(ASSISTANT_REJECT_STATUS), error).metadata(),
                          **route.rule_metadata},
        }, call_id=call_id)
        records.add_event(call_id, "engine", "webhook.assistant_request", payload=asked)
        records.add_event(call_id, "sip", "response_sent", code=ASSISTANT_REJECT_STATUS,
                          reason="Forbidden")
        records.add_event(call_id, "engine", "call.ended", status="failed",
                          failure=words.ASSISTANT_REJECTED, payload={"error": error})
        records.forget(call_id)


__all__ = ["ASSISTANT_REJECT_STATUS", "Inbound", "InboundRouter"]
