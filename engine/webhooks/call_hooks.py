"""The webhooks as live calls use them (:class:`engine.calls.hooks.CallHooks`): whether an
inbound call's organization asks its assistant-request webhook, the request itself, and the
brains' tool runners."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine as SqlEngine

from engine.webhooks.dispatcher import ASSISTANT_DEADLINE_S, ToolRunner, WebhookDispatcher
from engine.webhooks.targets import targets_for


class DispatcherHooks:
    """:class:`engine.calls.hooks.CallHooks` on the engine's webhook dispatcher."""

    def __init__(self, db: SqlEngine, dispatcher: WebhookDispatcher) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.assistant_deadline_s = ASSISTANT_DEADLINE_S

    async def assistant_wanted(self, organization_id: str, agent_id: str | None) -> bool:
        return bool(await targets_for(self.db, organization_id, "assistant-request", agent_id))

    async def request_assistant(self, organization_id: str, call: Mapping[str, Any],
                                deadline_s: float) -> dict[str, Any] | None:
        return await self.dispatcher.request_assistant(organization_id, call, deadline_s)

    def tool_runner(self, organization_id: str, call: Mapping[str, Any]) -> ToolRunner:
        return self.dispatcher.tool_runner(organization_id, call)


__all__ = ["DispatcherHooks"]
