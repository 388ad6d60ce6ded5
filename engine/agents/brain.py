"""The brain interface: what an agent thinks, turn by turn, as a stream of frames.

A brain answers each event of the call (greeting, the caller's final transcript, keyed digits,
a supervisor's injected context) with an async stream of :data:`BrainOutput` frames: whole
utterances (:class:`BrainText`), streamed pieces (:class:`BrainToken`), tool calls and events.
Function tools run through the injected :data:`ToolRunner`; ``end_call`` and ``transfer_call``
tool calls are for the call session to carry out, after which the brain says nothing more.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from engine.speech.frames import BrainEvent, BrainText, BrainToken, ToolCall

BrainOutput = BrainText | BrainToken | ToolCall | BrainEvent


class Brain(ABC):
    """An agent's brain for one call."""

    kind: str = ""

    def __init__(self) -> None:
        self.ended = False  # an end_call or transfer_call was issued
        self.context: list[str] = []  # supervisor instructions, in order

    @abstractmethod
    def greet(self) -> AsyncIterator[BrainOutput]:
        """The agent's first words."""

    @abstractmethod
    def on_user_text(self, text: str) -> AsyncIterator[BrainOutput]:
        """The caller finished a turn saying ``text``."""

    @abstractmethod
    def on_dtmf(self, digits: str) -> AsyncIterator[BrainOutput]:
        """The caller keyed ``digits`` (RFC 4733 / SIP INFO)."""

    @abstractmethod
    def inject_context(self, text: str, *, reply: bool = False) -> AsyncIterator[BrainOutput]:
        """A hidden instruction from a supervisor; with ``reply`` the brain answers it now."""

    @abstractmethod
    def say(self, text: str) -> None:
        """Records that the agent said ``text`` (a supervisor's ``say``), so the brain knows."""

    @abstractmethod
    def checkpoint(self) -> Any:
        """A snapshot of the conversation state, for speculative turns."""

    @abstractmethod
    def rollback(self, snapshot: Any) -> None:
        """Returns to a snapshot (a speculative turn was discarded)."""

    async def aclose(self) -> None:
        """Releases connections."""
        return None


async def collect(stream: AsyncIterator[BrainOutput]) -> list[BrainOutput]:
    """Every output of one brain answer (tests and speculative turns)."""
    return [item async for item in stream]


def spoken_text(outputs: list[BrainOutput]) -> str:
    """What the outputs would have the agent say, as one string."""
    parts: list[str] = []
    tokens: list[str] = []
    for item in outputs:
        if isinstance(item, BrainToken):
            tokens.append(item.text)
        elif isinstance(item, BrainText):
            if tokens:
                parts.append("".join(tokens).strip())
                tokens = []
            parts.append(item.text)
    if tokens:
        parts.append("".join(tokens).strip())
    return " ".join(p for p in parts if p)
