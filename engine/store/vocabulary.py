"""The call vocabulary: the words a call record uses for where the call stands, how it ended,
which menu item the caller chose and what went wrong, one set for live, demo and imported calls.

- **Statuses**: :data:`CALL_STATUSES` (``engine.store.calls``), live ones first.
- **Disconnect reasons** (``disconnect_reason``): who or what ended the call. The party that hung
  up is named by its role (``caller_hangup`` on an inbound or web call, ``callee_hangup`` on an
  outbound one), as the SIP stack names it; a call that never connected says why (``busy``,
  ``no_answer``, ``number_not_found``, …), and a failure names what failed.
- **Errors**: a failed call (status ``failed``, or a failure reason) carries
  ``metadata.error_code`` and ``metadata.error_message`` (Samva's ``errorCode``/``errorMessage``).
  The code is the final SIP status as a string (``"503"``) when a SIP response ended the call,
  else one of :data:`ERROR_CODES`; the message says what happened in words.
- **Menu matches** (``metadata.menu_matches``, ``metadata.menu_final_selection``):
  ``{menu, digit, phrase, matched_text, confidence, at}`` — the menu item chosen (its label), the
  key pressed (DTMF) or the caller's words (speech; the other one is null), what in them matched,
  how sure the match is (0..1; a keyed digit is exact) and when (ISO 8601, UTC).

:func:`call_problems` checks one call row against all of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.store.calls import CALL_STATUSES, LIVE_STATUSES

END_STATUSES = tuple(s for s in CALL_STATUSES if s not in LIVE_STATUSES)

# -- disconnect reasons ------------------------------------------------------------------------

# the call was connected and ended normally
CALLER_HANGUP = "caller_hangup"  # the caller of an inbound or web call hung up
CALLEE_HANGUP = "callee_hangup"  # the called party of an outbound call hung up
AGENT_HANGUP = "agent_hangup"  # the AI agent ended the call (its end_call tool, a goodbye)
SUPERVISOR_HANGUP = "supervisor_hangup"  # a supervisor ended it from the console or the API
TRANSFERRED = "transferred"  # the caller left with a blind transfer
IDLE_TIMEOUT = "idle_timeout"  # the caller stayed silent past the agent's idle prompts
MAX_DURATION = "max_duration"  # the agent's longest call was reached
VOICEMAIL = "voicemail"  # answering-machine detection found a machine and hung up
# the call was never connected
CANCELED = "canceled"  # the caller gave up while it rang (CANCEL), or we canceled the INVITE
NO_ANSWER = "no_answer"  # nobody answered (408, 480, the ringing timeout)
BUSY = "busy"  # 486, 600
REJECTED = "rejected"  # another 4xx/6xx final response (403, 603 Decline, …)
NUMBER_NOT_FOUND = "number_not_found"  # 404, 484, 604
CODEC_MISMATCH = "codec_mismatch"  # no common codec: 488, 606, 415
AUTH_FAILED = "auth_failed"  # the trunk refused our credentials (401/407 after a retry)
TRUNK_UNAVAILABLE = "trunk_unavailable"  # the trunk answered 5xx
ENGINE_OVERLOADED = "engine_overloaded"  # the engine refused an inbound call (503)
ASSISTANT_REJECTED = "assistant_rejected"  # the assistant-request webhook refused the call
CONNECT_TIMEOUT = "connect_timeout"  # a web caller's peer connection never came up
ICE_FAILED = "ice_failed"  # a web caller's ICE checks failed
# the call failed while it ran, or could not be placed
RTP_TIMEOUT = "rtp_timeout"  # no media from the party for the engine's RTP timeout
TRANSFER_FAILED = "transfer_failed"  # a transfer with no fallback found nobody
ENGINE_RESTART = "engine_restart"  # the engine stopped while the call was live
ERROR = "error"  # the engine failed (the error code says where)

HANGUP_REASONS = (CALLER_HANGUP, CALLEE_HANGUP, AGENT_HANGUP, SUPERVISOR_HANGUP, TRANSFERRED,
                  IDLE_TIMEOUT, MAX_DURATION, VOICEMAIL)
NOT_CONNECTED_REASONS = (CANCELED, NO_ANSWER, BUSY)
FAILURE_REASONS = (REJECTED, NUMBER_NOT_FOUND, CODEC_MISMATCH, AUTH_FAILED, TRUNK_UNAVAILABLE,
                   ENGINE_OVERLOADED, ASSISTANT_REJECTED, CONNECT_TIMEOUT, ICE_FAILED, RTP_TIMEOUT,
                   TRANSFER_FAILED, ENGINE_RESTART, ERROR)
DISCONNECT_REASONS = HANGUP_REASONS + NOT_CONNECTED_REASONS + FAILURE_REASONS

# Words of earlier releases (and of the first demo data) and what they are now; migration 0010
# rewrites stored rows with them. ``customer_ended_call`` depends on the call's direction.
OLD_REASONS: dict[str, str] = {
    "agent_ended_call": AGENT_HANGUP,
    "caller_canceled": CANCELED,
    "failed": REJECTED,  # an outbound call's rejected INVITE
}
OLD_CUSTOMER_ENDED = "customer_ended_call"  # caller_hangup, or callee_hangup when outbound


def remote_hangup(direction: str) -> str:
    """The reason a call ends with when its remote party hangs up."""
    return CALLEE_HANGUP if direction == "outbound" else CALLER_HANGUP


def sip_reason(status: int) -> str:
    """The disconnect reason of an INVITE's final failure response (RFC 3261 §21)."""
    if status in (486, 600):
        return BUSY
    if status in (408, 480):
        return NO_ANSWER
    if status == 487:
        return CANCELED
    if status in (404, 484, 604):
        return NUMBER_NOT_FOUND
    if status in (415, 488, 606):
        return CODEC_MISMATCH
    if status in (401, 407):
        return AUTH_FAILED
    if 500 <= status < 600:
        return TRUNK_UNAVAILABLE
    return REJECTED


# -- errors ------------------------------------------------------------------------------------

DIAL_FAILED = "dial_failed"  # an outbound call could not be placed (no SIP, no trunk, bad number)
SETUP_FAILED = "setup_failed"  # a web call's offer could not be answered
PIPELINE_FAILED = "pipeline_failed"  # the agent's speech pipeline did not start or broke
ENGINE_ERROR = "engine_error"  # the engine failed while the call ran
# The named error codes; a SIP failure's code is its status instead (SIP_ERROR_CODE).
ERROR_CODES = (*(r for r in FAILURE_REASONS if r != ERROR), DIAL_FAILED, SETUP_FAILED,
               PIPELINE_FAILED, ENGINE_ERROR)
SIP_ERROR_CODE = re.compile(r"^[3-6]\d\d$")  # a final SIP status that ended the call, as text

# What a failure's error message says when nothing more specific is known.
DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    REJECTED: "The far end refused the call.",
    NUMBER_NOT_FOUND: "The number does not exist.",
    CODEC_MISMATCH: "The parties have no audio codec in common.",
    AUTH_FAILED: "The trunk refused the credentials.",
    TRUNK_UNAVAILABLE: "The trunk could not place the call.",
    ENGINE_OVERLOADED: "The engine had no capacity for the call.",
    ASSISTANT_REJECTED: "The assistant-request webhook refused the call.",
    CONNECT_TIMEOUT: "The web caller's connection never came up.",
    ICE_FAILED: "The web caller's connection failed (no ICE candidate pair).",
    RTP_TIMEOUT: "No audio came from the party.",
    TRANSFER_FAILED: "The transfer found nobody to take the call.",
    ENGINE_RESTART: "The engine stopped while the call was live.",
    ERROR: "The engine failed during the call.",
    ENGINE_ERROR: "The engine failed during the call.",
    DIAL_FAILED: "The call could not be placed.",
    SETUP_FAILED: "The call could not be set up.",
    PIPELINE_FAILED: "The agent's speech pipeline failed.",
}


@dataclass(frozen=True)
class CallFailure:
    """What went wrong on a call: ``{code, message}``."""

    code: str
    message: str

    @classmethod
    def sip(cls, status: int, phrase: str | None) -> CallFailure:
        """A SIP final response that ended the call: its status is the code."""
        return cls(str(status), f"{status} {phrase}" if phrase else str(status))

    @classmethod
    def of(cls, code: str, message: str | None = None) -> CallFailure:
        """A named error, with its default message when none is given."""
        return cls(code, message or DEFAULT_ERROR_MESSAGES.get(code, code.replace("_", " ")))

    def metadata(self) -> dict[str, str]:
        """The call metadata's fields for it."""
        return {"error_code": self.code, "error_message": self.message}


def is_failure(status: str | None, reason: str | None) -> bool:
    """Whether a call with this status and reason failed (and so carries an error)."""
    return status == "failed" or reason in FAILURE_REASONS


# -- menu matches ------------------------------------------------------------------------------

MENU_MATCH_FIELDS = ("menu", "digit", "phrase", "matched_text", "confidence", "at")
KEYED_CONFIDENCE = 1.0  # a keyed DTMF digit is what the caller pressed: no recognition involved


def menu_match(menu: str, *, at: str, digit: str | None = None, phrase: str | None = None,
               matched_text: str | None = None, confidence: float | None = None) -> dict[str, Any]:
    """One menu match: a keyed ``digit`` (confidence 1) or a spoken ``phrase``."""
    if (digit is None) == (phrase is None):
        raise ValueError("a menu match has a digit or a phrase, not both or neither")
    if digit is not None:
        confidence = KEYED_CONFIDENCE if confidence is None else confidence
        matched_text = digit if matched_text is None else matched_text
    return {"menu": menu, "digit": digit, "phrase": phrase,
            "matched_text": matched_text if matched_text is not None else phrase,
            "confidence": None if confidence is None else round(float(confidence), 3), "at": at}


def menu_match_problems(match: Any) -> list[str]:
    """What is wrong with one stored menu match (empty: it is in the vocabulary)."""
    if not isinstance(match, Mapping):
        return [f"a menu match is an object, not {type(match).__name__}"]
    problems = []
    if set(match) != set(MENU_MATCH_FIELDS):
        problems.append(f"menu match fields {sorted(match)} are not {sorted(MENU_MATCH_FIELDS)}")
    if not isinstance(match.get("menu"), str) or not match.get("menu"):
        problems.append("menu match has no menu")
    digit, phrase = match.get("digit"), match.get("phrase")
    if (digit is None) == (phrase is None):
        problems.append("menu match needs a digit or a phrase (one of them)")
    if digit is not None and not (isinstance(digit, str) and re.fullmatch(r"[0-9*#A-D]", digit)):
        problems.append(f"menu match digit {digit!r} is not one DTMF key")
    if not isinstance(match.get("matched_text"), str) or not match.get("matched_text"):
        problems.append("menu match has no matched_text")
    confidence = match.get("confidence")
    if confidence is None:
        if digit is not None:
            problems.append("a keyed menu match has confidence 1")
    elif isinstance(confidence, bool) or not isinstance(confidence, int | float) \
            or not 0.0 <= confidence <= 1.0:
        problems.append(f"menu match confidence {confidence!r} is not within 0..1")
    at = match.get("at")
    try:
        datetime.fromisoformat(str(at))
    except ValueError:
        problems.append(f"menu match at {at!r} is not an ISO 8601 time")
    return problems


# -- one call ----------------------------------------------------------------------------------


def call_problems(call: Mapping[str, Any]) -> list[str]:
    """What in one call row (``status``, ``disconnect_reason``, ``sip_status_code`` and
    ``metadata``/``metadata_``) is outside the vocabulary; empty when all of it is in."""
    status, reason = call.get("status"), call.get("disconnect_reason")
    metadata = call.get("metadata_", call.get("metadata")) or {}
    problems = []
    if status not in CALL_STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(CALL_STATUSES)}")
    if status in END_STATUSES and reason not in DISCONNECT_REASONS:
        problems.append(f"disconnect_reason {reason!r} is not in the vocabulary")
    elif status in LIVE_STATUSES and reason is not None:
        problems.append(f"a live call ({status}) has a disconnect_reason ({reason!r})")
    code, message = metadata.get("error_code"), metadata.get("error_message")
    if is_failure(status, reason) and (code is None or message is None):
        problems.append(f"a failed call ({status}, {reason}) has no error_code and error_message")
    if code is not None:
        if not isinstance(code, str) or not (code in ERROR_CODES or SIP_ERROR_CODE.match(code)):
            problems.append(f"error_code {code!r} is neither a SIP status nor a named error code")
        elif SIP_ERROR_CODE.match(code) and call.get("sip_status_code") != int(code):
            problems.append(f"error_code {code} but sip_status_code {call.get('sip_status_code')}")
        if not isinstance(message, str) or not message.strip():
            problems.append("an error_code without an error_message")
    matches = metadata.get("menu_matches")
    if matches is not None:
        if not isinstance(matches, list):
            problems.append("menu_matches is not a list")
        else:
            for match in matches:
                problems += menu_match_problems(match)
    final = metadata.get("menu_final_selection")
    if final is not None:
        problems += [f"menu_final_selection: {p}" for p in menu_match_problems(final)]
    return problems


__all__ = [
    "AGENT_HANGUP", "ASSISTANT_REJECTED", "AUTH_FAILED", "BUSY", "CALLEE_HANGUP", "CALLER_HANGUP",
    "CALL_STATUSES", "CANCELED", "CODEC_MISMATCH", "CONNECT_TIMEOUT", "DEFAULT_ERROR_MESSAGES",
    "DIAL_FAILED", "DISCONNECT_REASONS", "END_STATUSES", "ENGINE_ERROR", "ENGINE_OVERLOADED",
    "ENGINE_RESTART", "ERROR", "ERROR_CODES", "FAILURE_REASONS", "HANGUP_REASONS", "ICE_FAILED",
    "IDLE_TIMEOUT", "KEYED_CONFIDENCE", "LIVE_STATUSES", "MAX_DURATION", "MENU_MATCH_FIELDS",
    "NOT_CONNECTED_REASONS", "NO_ANSWER", "NUMBER_NOT_FOUND", "OLD_CUSTOMER_ENDED", "OLD_REASONS",
    "PIPELINE_FAILED", "REJECTED", "RTP_TIMEOUT", "SETUP_FAILED", "SIP_ERROR_CODE",
    "SUPERVISOR_HANGUP", "TRANSFERRED", "TRANSFER_FAILED", "TRUNK_UNAVAILABLE", "VOICEMAIL",
    "CallFailure", "call_problems", "is_failure", "menu_match", "menu_match_problems",
    "remote_hangup", "sip_reason",
]
