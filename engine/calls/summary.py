"""The briefing a warm transfer's recipient hears: a short, deterministic summary of the call so
far, from the transcript's last caller and agent turns and the data the agent collected."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ACCEPT_PROMPT = "Press 1 or say yes to accept, press 2 or say no to decline."
LAST_TURNS = 6  # turns a console user's transfer offer carries
QUOTE_CHARS = 160  # a quoted turn is clipped to about two spoken sentences
SPOKEN_ROLES = {"user": "caller", "agent": "agent", "supervisor": "agent",
                "human_agent": "agent"}

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Turn:
    """One transcript line as the summary sees it: ``role`` user, agent, supervisor, ..."""

    role: str
    text: str


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary near ``limit`` characters."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "..."


def spoken_turns(turns: Iterable[Turn]) -> list[Turn]:
    """The turns with words in them, in order."""
    return [t for t in turns if t.text.strip() and t.role in SPOKEN_ROLES]


def last_turns(turns: Iterable[Turn], count: int = LAST_TURNS) -> list[dict[str, str]]:
    """The last ``count`` spoken turns as ``{"role", "text"}``."""
    return [{"role": t.role, "text": t.text.strip()} for t in spoken_turns(turns)[-count:]]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return clip(str(value), 60)


def describe_data(data: Mapping[str, Any]) -> str:
    """``order number 12345, email a@b.c`` from collected data (empty values left out)."""
    parts = [f"{str(key).replace('_', ' ')} {_value(value)}" for key, value in data.items()
             if value not in (None, "", [], {})]
    return ", ".join(parts)


def summarize_call(turns: Sequence[Turn], data: Mapping[str, Any] | None = None, *,
                   caller: str = "", agent_name: str = "") -> str:
    """A few sentences for the recipient: who calls, what the caller last said, the agent's
    last answer and what was collected."""
    spoken = spoken_turns(turns)
    who = f"A caller from {caller}" if caller else "A caller"
    with_whom = f" has been speaking with {agent_name}" if agent_name else \
        " has been speaking with the assistant"
    parts = [f"{who}{with_whom}."]
    said = [t for t in spoken if SPOKEN_ROLES[t.role] == "caller"]
    answered = [t for t in spoken if SPOKEN_ROLES[t.role] == "agent"]
    if said:
        parts.append(f'The caller said: "{clip(said[-1].text)}".')
        if len(said) > 1:
            parts[-1] = f'The caller said: "{clip(said[-2].text)}", then: "{clip(said[-1].text)}".'
    else:
        parts.append("The caller has not said anything yet.")
    if answered:
        parts.append(f'The agent last said: "{clip(answered[-1].text)}".')
    collected = describe_data(data or {})
    if collected:
        parts.append(f"Collected so far: {collected}.")
    return " ".join(parts)


def briefing(summary: str, screening_prompt: str | None = None) -> str:
    """What the recipient hears: the screening prompt, the summary, then how to answer."""
    parts = [p.strip() for p in (screening_prompt, summary) if p and p.strip()]
    return " ".join([*parts, ACCEPT_PROMPT])


__all__ = ["ACCEPT_PROMPT", "LAST_TURNS", "Turn", "briefing", "clip", "describe_data",
           "last_turns", "spoken_turns", "summarize_call"]
