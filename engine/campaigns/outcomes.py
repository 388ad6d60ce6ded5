"""How an attempt ended, and when (whether) the lead is called again (pure; no clock).

A call's row says how it ended (its status, disconnect reason, SIP code and answering-machine
result); :func:`attempt_outcome` turns that into the lead's status, and :func:`next_attempt`
decides the retry: a busy line after ``retry_busy_minutes``, no answer and voicemail after
``retry_no_answer_minutes``, a failure by its SIP code (a number that does not exist is not
called again; an overloaded carrier is, after ``retry_delay_minutes``), up to ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# SIP finals that say the number cannot be reached however often it is tried (RFC 3261 §21):
# 404 Not Found, 410 Gone, 484 Address Incomplete, 604 Does Not Exist Anywhere
PERMANENT_SIP = frozenset({404, 410, 484, 604})
# Finals that say "not now": 408 Request Timeout, 480 Temporarily Unavailable, 500 Server
# Internal Error, 503 Service Unavailable, 504 Server Time-out; a failure without a SIP code
# (the network, the engine) is retried too
RETRIED_SIP = frozenset({408, 480, 500, 503, 504})
# A lead in one of these is dialled again while its next_attempt_at is set
RETRYABLE = ("busy", "no_answer", "voicemail", "failed")
# A lead in one of these is done with
FINAL = ("completed", "do_not_call", "canceled")
ENDED_CALL = frozenset({"completed", "failed", "busy", "no_answer", "canceled"})


@dataclass(frozen=True)
class RetryPolicy:
    """A campaign's retry fields."""

    max_attempts: int
    retry_busy_minutes: int
    retry_no_answer_minutes: int
    retry_delay_minutes: int
    retry_on: Sequence[str]

    def retries(self, outcome: str) -> bool:
        """Whether ``retry_on`` asks for ``outcome`` to be tried again (voicemail counts as no
        answer for campaigns made before it was an outcome of its own)."""
        return outcome in self.retry_on or (outcome == "voicemail" and "no_answer" in self.retry_on)

    def wait(self, outcome: str) -> timedelta:
        minutes = {"busy": self.retry_busy_minutes, "no_answer": self.retry_no_answer_minutes,
                   "voicemail": self.retry_no_answer_minutes}.get(outcome, self.retry_delay_minutes)
        return timedelta(minutes=minutes)


@dataclass(frozen=True)
class Attempt:
    """How one attempt ended, for the lead: its status and the SIP code behind a failure."""

    status: str  # completed | busy | no_answer | voicemail | failed | canceled
    sip_code: int | None = None


def attempt_outcome(status: str, disconnect_reason: str | None, sip_code: int | None,
                    metadata: Mapping[str, Any] | None) -> Attempt:
    """The lead's outcome of a call that ended with this row."""
    amd = (metadata or {}).get("amd_result")
    machine = isinstance(amd, Mapping) and amd.get("decision") == "machine"
    if disconnect_reason == "voicemail" or machine:
        return Attempt("voicemail", sip_code)
    if status in ("completed", "busy", "no_answer", "canceled"):
        return Attempt(status, sip_code)
    return Attempt("failed", sip_code)


def next_attempt(attempt: Attempt, attempts: int, policy: RetryPolicy,
                 now: datetime) -> datetime | None:
    """When the lead is called again after ``attempts`` attempts, or None (never)."""
    if attempt.status in ("completed", "canceled") or attempts >= policy.max_attempts:
        return None
    if attempt.status == "failed" and attempt.sip_code is not None:
        if attempt.sip_code in PERMANENT_SIP or attempt.sip_code not in RETRIED_SIP:
            return None
    if not policy.retries(attempt.status):
        return None
    return now + policy.wait(attempt.status)


__all__ = ["ENDED_CALL", "FINAL", "PERMANENT_SIP", "RETRIED_SIP", "RETRYABLE", "Attempt",
           "RetryPolicy", "attempt_outcome", "next_attempt"]
