"""What live calls ask of the organization's webhooks, as an interface the engine hands in (the
webhooks package implements it): whether an inbound call's agent is asked for, the
assistant-request itself, and a brain's tool runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from engine.speech.frames import ToolCall

ToolRunner = Callable[[ToolCall], Awaitable[Mapping[str, Any]]]


class CallHooks(Protocol):
    """The organization's webhooks as live calls use them."""

    assistant_deadline_s: float  # an assistant-request answer later than this is ignored

    async def assistant_wanted(self, organization_id: str, agent_id: str | None) -> bool:
        """Whether the organization has an assistant-request webhook for this agent."""

    async def request_assistant(self, organization_id: str, call: Mapping[str, Any],
                                deadline_s: float) -> dict[str, Any] | None:
        """The webhook's answer (agent, overrides, variables or an error), or None."""

    def tool_runner(self, organization_id: str, call: Mapping[str, Any]) -> ToolRunner:
        """Runs a brain's tool calls of one call through the tool's webhook."""


__all__ = ["CallHooks", "ToolRunner"]
