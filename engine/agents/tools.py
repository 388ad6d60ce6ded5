"""Tools an agent's brain may call, described once for both brains (and OpenAI's tool schema)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.speech.frames import END_CALL, FUNCTION, TRANSFER_CALL, ToolCall

TOOL_TYPES = (FUNCTION, END_CALL, TRANSFER_CALL)

# Runs a function tool (a webhook, in a live call) and returns its JSON answer; raises on failure.
ToolRunner = Callable[[ToolCall], Awaitable[Mapping[str, Any]]]


class ToolError(RuntimeError):
    """A function tool failed (webhook error, timeout, no runner)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool: its name (as scripts and the LLM call it), type, description, JSON-schema parameters."""

    name: str
    type: str = FUNCTION
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    destinations: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_template(cls, template: Mapping[str, Any]) -> ToolSpec:
        """From a ToolTemplate record (as a dict)."""
        function = template.get("function") or {}
        transfer = template.get("transfer") or {}
        kind = template.get("type") or FUNCTION
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        destinations = tuple(transfer.get("destinations") or ())
        if kind == TRANSFER_CALL and destinations and not function.get("parameters"):
            labels = [d.get("label") or d.get("to") for d in destinations]
            parameters = {
                "type": "object",
                "properties": {"destination": {"type": "string", "enum": labels}},
            }
        return cls(
            name=function.get("name") or template.get("name") or kind,
            type=kind,
            description=function.get("description") or template.get("description") or "",
            parameters=parameters,
            destinations=destinations,
        )

    def openai(self) -> dict[str, Any]:
        """The tool in OpenAI chat-completions form."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


def tool_index(tools: Iterable[ToolSpec]) -> dict[str, ToolSpec]:
    return {tool.name: tool for tool in tools}


__all__ = [
    "END_CALL",
    "FUNCTION",
    "TOOL_TYPES",
    "TRANSFER_CALL",
    "ToolError",
    "ToolRunner",
    "ToolSpec",
    "tool_index",
]
