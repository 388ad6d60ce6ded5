"""Building an agent's brain from its record (as a dict): ``scripted`` or ``llm``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import httpx

from engine.agents.llm import LlmBrain, LlmConfig
from engine.agents.scripted import ScriptedBrain
from engine.agents.tools import ToolRunner, ToolSpec
from engine.speech.brain import Brain

BRAIN_KINDS = ("scripted", "llm")


def build_brain(
    agent: Mapping[str, Any],
    *,
    tools: Iterable[ToolSpec] = (),
    variables: Mapping[str, Any] | None = None,
    tool_runner: ToolRunner | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: httpx.AsyncClient | None = None,
    today: date | None = None,
) -> Brain:
    """The brain ``agent["brain"]["kind"]`` names, for one call with these dynamic variables.

    ``api_key`` and ``base_url`` (used when the brain has no ``base_url``) come from the provider
    credential the brain names, when it names one."""
    settings = agent.get("brain") or {"kind": "scripted"}
    kind = settings.get("kind", "scripted")
    if kind == "scripted":
        return ScriptedBrain(
            agent.get("script") or {},
            variables=variables,
            tools=tools,
            tool_runner=tool_runner,
            first_message=agent.get("first_message") or None,
            today=today,
        )
    if kind == "llm":
        config = LlmConfig.from_agent(settings, api_key=api_key, base_url=base_url)
        if not config.base_url or not config.model:
            raise ValueError("an llm brain needs brain.base_url and brain.model")
        return LlmBrain(
            config,
            system_prompt=agent.get("system_prompt") or "",
            first_message=agent.get("first_message") or "",
            variables=variables,
            tools=tools,
            tool_runner=tool_runner,
            client=client,
        )
    raise ValueError(f"unknown brain kind {kind!r} (one of {', '.join(BRAIN_KINDS)})")
