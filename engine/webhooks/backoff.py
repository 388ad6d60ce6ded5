"""When a failed delivery is tried again: exponential backoff, for the report events only."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

log = logging.getLogger(__name__)

# Waits of 1, 4, 16 and 64 s between five attempts: a receiver gets ~85 s to come back, the
# same order as Stripe's and Vapi's first retries; longer outages are visible as failed rows.
BACKOFF_BASE_S = 1.0
BACKOFF_FACTOR = 4.0
MAX_ATTEMPTS = 5
BACKOFF_ENV = "SWITCHBOARD_WEBHOOK_BACKOFF_S"  # the first wait in seconds (tests use ~0.02)

# The events worth retrying: a report is sent once per call and nothing else carries it.
# Status updates are superseded by the next one; assistant-request and tool-calls are answered
# live (a late answer is useless).
RETRIED_EVENTS = frozenset({"end-of-call-report"})


def backoff_delays(attempts: int = MAX_ATTEMPTS, base_s: float = BACKOFF_BASE_S,
                   factor: float = BACKOFF_FACTOR) -> list[float]:
    """The waits between ``attempts`` attempts: base, base*factor, base*factor², ..."""
    return [base_s * factor**i for i in range(max(0, attempts - 1))]


def base_from_env(environ: Mapping[str, str] = os.environ) -> float:
    """The first wait: ``SWITCHBOARD_WEBHOOK_BACKOFF_S`` when set to a positive number."""
    raw = environ.get(BACKOFF_ENV, "").strip()
    if not raw:
        return BACKOFF_BASE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        log.warning("%s=%r is not a positive number of seconds; using %g", BACKOFF_ENV, raw,
                    BACKOFF_BASE_S)
        return BACKOFF_BASE_S
    return value


def retryable(code: int | None) -> bool:
    """Whether an answer is worth another try: no answer, 408, 429 or 5xx."""
    return code is None or code in (408, 429) or code >= 500


__all__ = ["BACKOFF_BASE_S", "BACKOFF_ENV", "BACKOFF_FACTOR", "MAX_ATTEMPTS", "RETRIED_EVENTS",
           "backoff_delays", "base_from_env", "retryable"]
