"""The call's clocks, on media time: the quiet line (idle prompts, then a goodbye), the call's
time limit, and the pause that ends keyed digits.

:class:`Timers` only keeps time and says what is due; the pipeline carries it out. Media time
comes from the caller's frames, so tests run the clocks in virtual time.
"""

from __future__ import annotations

from enum import Enum

from engine.speech.pipeline.config import PipelineConfig

# Keyed digits are collected until '#' or this much time without a new digit (media time).
# Asterisk's Read() waits 3 s between digits; menus here take one digit and slots end with '#'
# or the pause, so a shorter pause keeps menu answers quick.
DTMF_INTERDIGIT_S = 1.0


class Idle(Enum):
    """What a quiet line calls for."""

    PROMPT = "prompt"  # ask whether the caller is still there
    GOODBYE = "goodbye"  # the prompts went unanswered: end the call


class Timers:
    """Idle, time-limit and inter-digit clocks of one call, read from its settings."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.idle_since = 0.0  # media time the line last went quiet
        self.idle_prompts = 0  # prompts since the caller last spoke
        self._digits: list[str] = []
        self._last_digit_at = 0.0

    # -- the quiet line ----------------------------------------------------------------------

    def reset_idle(self, at: float) -> None:
        """Something happened at ``at`` (the caller spoke or keyed, a turn ended): idle from then."""
        self.idle_since = at

    def quiet_from(self, at: float) -> None:
        """The agent stopped speaking at ``at``: the line is idle from then, unless it was later."""
        self.idle_since = max(self.idle_since, at)

    def caller_spoke(self) -> None:
        """The caller said something: the idle prompts start over."""
        self.idle_prompts = 0

    def idle_due(self, now: float, *, replying: bool, busy: bool) -> Idle | None:
        """What the quiet line calls for at ``now``. Nothing while the agent is replying (idle
        counts from its last word), while the caller is speaking, keying or being answered
        (``busy``), or before ``idle_timeout_s`` of quiet."""
        if replying or busy or self._digits:
            if replying:
                self.idle_since = max(self.idle_since, now)
            return None
        if now - self.idle_since < self.config.idle_timeout_s:
            return None
        self.idle_since = now
        if self.idle_prompts < self.config.idle_max_prompts:
            self.idle_prompts += 1
            return Idle.PROMPT
        return Idle.GOODBYE

    # -- the time limit ----------------------------------------------------------------------

    def time_up(self, now: float) -> bool:
        return now >= self.config.max_duration_s

    # -- keyed digits ------------------------------------------------------------------------

    def key(self, digit: str, now: float) -> str | None:
        """Collects a keyed digit; returns the digits once '#' ends them."""
        self.idle_since = now
        self._digits.append(digit)
        if digit == "#":
            return self._take_digits()
        self._last_digit_at = now
        return None

    def digits_due(self, now: float) -> str | None:
        """The digits collected so far, once the inter-digit pause has passed without another."""
        if self._digits and now - self._last_digit_at >= DTMF_INTERDIGIT_S:
            return self._take_digits()
        return None

    def _take_digits(self) -> str:
        digits, self._digits = "".join(self._digits), []
        return digits
