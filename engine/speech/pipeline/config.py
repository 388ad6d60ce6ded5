"""The agent's conversation settings, as the pipeline takes them from its record."""

from __future__ import annotations

from dataclasses import dataclass

IDLE_PROMPT = "Are you still there?"
IDLE_GOODBYE = "I haven't heard from you, so I'll end the call now. Goodbye!"
MAX_DURATION_GOODBYE = "We've reached the time limit for this call. Thank you for calling. Goodbye!"


@dataclass
class PipelineConfig:
    """The agent's conversation settings (from its record)."""

    language: str | None = None
    interruptible: bool = True
    idle_timeout_s: float = 10.0
    idle_max_prompts: int = 1
    max_duration_s: float = 1800.0
    idle_prompt: str = IDLE_PROMPT
    idle_goodbye: str = IDLE_GOODBYE
    max_duration_goodbye: str = MAX_DURATION_GOODBYE
    speculate: bool = True
    greet: bool = True
