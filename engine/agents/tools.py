"""Tools an agent's brain may call, described once for both brains (and OpenAI's tool schema)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.speech.frames import END_CALL, FUNCTION, TRANSFER_CALL, ToolCall

# Tools the engine runs itself (not through a webhook): a callback later, and the caller's
# wish not to be called again (engine.agents.call_tools).
SCHEDULE_CALLBACK = "schedule_callback"
OPT_OUT = "opt_out"
ENGINE_TOOL_TYPES = (SCHEDULE_CALLBACK, OPT_OUT)
TOOL_TYPES = (FUNCTION, END_CALL, TRANSFER_CALL, *ENGINE_TOOL_TYPES)

ENGINE_TOOL_DESCRIPTIONS = {
    SCHEDULE_CALLBACK: "Schedule a call back to the caller at a time they ask for (e.g. "
                       "'tomorrow at 3'). Confirm the time with them first.",
    OPT_OUT: "The caller asks not to be called again ('stop calling me', 'take me off your "
             "list'): adds their number to the do-not-call list and ends the call.",
}
ENGINE_TOOL_PARAMETERS: dict[str, dict[str, Any]] = {
    SCHEDULE_CALLBACK: {
        "type": "object",
        "properties": {
            "when": {"type": "string",
                     "description": "When to call back: an ISO 8601 time (2027-01-07T15:00:00-05:00) "
                                    "or words such as 'tomorrow at 3 pm' or 'in 2 hours'"},
            "reason": {"type": "string", "description": "Why the caller wants a call back"},
            "instructions": {"type": "string",
                             "description": "What the agent placing the callback should do"},
        },
        "required": ["when"],
    },
    OPT_OUT: {"type": "object", "properties": {}},
}

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
        if kind in ENGINE_TOOL_TYPES:  # the engine's own tools: their schema is the engine's
            parameters = ENGINE_TOOL_PARAMETERS[kind]
        if kind == TRANSFER_CALL and destinations and not function.get("parameters"):
            labels = [d.get("label") or d.get("to") for d in destinations]
            parameters = {
                "type": "object",
                "properties": {"destination": {"type": "string", "enum": labels}},
            }
        return cls(
            name=kind if kind in ENGINE_TOOL_TYPES else (function.get("name") or template.get("name")
                                                         or kind),
            type=kind,
            description=(function.get("description") or template.get("description")
                         or ENGINE_TOOL_DESCRIPTIONS.get(kind, "")),
            parameters=parameters,
            destinations=destinations,
        )

    @classmethod
    def engine_tool(cls, kind: str) -> ToolSpec:
        """One of the engine's own tools (:data:`ENGINE_TOOL_TYPES`) with its built-in schema."""
        return cls(name=kind, type=kind, description=ENGINE_TOOL_DESCRIPTIONS[kind],
                   parameters=ENGINE_TOOL_PARAMETERS[kind])

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
    "ENGINE_TOOL_DESCRIPTIONS",
    "ENGINE_TOOL_PARAMETERS",
    "ENGINE_TOOL_TYPES",
    "FUNCTION",
    "OPT_OUT",
    "SCHEDULE_CALLBACK",
    "TOOL_TYPES",
    "TRANSFER_CALL",
    "ToolError",
    "ToolRunner",
    "ToolSpec",
    "tool_index",
]
