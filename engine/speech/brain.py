"""The brain interface: what an agent thinks, turn by turn, as a stream of frames.

Speech owns this interface: the pipeline drives a brain; :mod:`engine.agents` implements it
(``scripted`` and ``llm``). A brain answers each event of the call (greeting, the caller's final
transcript, keyed digits, a supervisor's injected context) with an async stream of
:data:`BrainOutput` frames: whole utterances (:class:`BrainText`), streamed pieces
(:class:`BrainToken`), tool calls and events. ``end_call`` and ``transfer_call`` tool calls
(:data:`~engine.speech.frames.END_CALL`, :data:`~engine.speech.frames.TRANSFER_CALL`) are for the
call session to carry out, after which the brain says nothing more.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterable

from engine.speech.frames import BrainEvent, BrainText, BrainToken, ToolCall

BrainOutput = BrainText | BrainToken | ToolCall | BrainEvent
# One answer of the brain. A generator, so the pipeline can close it when the answer is cut short.
BrainStream = AsyncGenerator[BrainOutput, None]


class Brain(ABC):
    """An agent's brain for one call."""

    kind: str = ""
    # Model tokens used so far (``prompt_tokens``, ``completion_tokens``); None for brains
    # without a model.
    usage: dict[str, int] | None = None

    def __init__(self) -> None:
        self.ended = False  # an end_call or transfer_call was issued
        self.context: list[str] = []  # supervisor instructions, in order

    @abstractmethod
    def greet(self) -> BrainStream:
        """The agent's first words."""

    @abstractmethod
    def on_user_text(self, text: str) -> BrainStream:
        """The caller finished a turn saying ``text``."""

    @abstractmethod
    def on_dtmf(self, digits: str) -> BrainStream:
        """The caller keyed ``digits`` (RFC 4733 / SIP INFO)."""

    @abstractmethod
    def inject_context(self, text: str, *, reply: bool = False) -> BrainStream:
        """A hidden instruction from a supervisor; with ``reply`` the brain answers it now."""

    @abstractmethod
    def say(self, text: str) -> None:
        """Records that the agent said ``text`` (a supervisor's ``say``), so the brain knows."""

    @abstractmethod
    def checkpoint(self) -> object:
        """A snapshot of the conversation state, for speculative turns."""

    @abstractmethod
    def rollback(self, snapshot: object) -> None:
        """Returns to a snapshot (a speculative turn was discarded)."""

    def fill(self, text: str) -> str:
        """``text`` with the call's ``{variables}`` filled in, as the brain fills its own texts
        (the pipeline's idle prompt and goodbyes). A brain without variables leaves it as is."""
        return text

    async def aclose(self) -> None:
        """Releases connections."""
        return None


async def collect(stream: AsyncIterable[BrainOutput]) -> list[BrainOutput]:
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


__all__ = ["Brain", "BrainOutput", "BrainStream", "collect", "spoken_text"]
