"""What every live call does the same way, whatever its transport (SIP or WebRTC): open the AI
agent's leg, record the mixer, and work out the call row's final fields."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.calls.agent_leg import AgentLeg, CallInfo, Records
from engine.media import Mixer, Recorder

log = logging.getLogger(__name__)

CLEAN_ENDS = ("caller_hangup", "agent_hangup", "transferred")  # reasons that are not failures


async def open_agent(agents: Any, info: CallInfo, records: Records,
                     hangup: Callable[[str], None]) -> AgentLeg | None:
    """The agent's speech pipeline from ``agents`` (:class:`~engine.calls.agent_leg.AgentLegs`),
    or None when it fails to start (the call then goes on with the greeting player)."""
    try:
        leg: AgentLeg = await agents.open(info, records, hangup)
    except Exception:
        log.exception("call %s: the agent's pipeline failed to start", info.call_id)
        return None
    return leg


def start_recording(mixer: Mixer, recordings_dir: Any, call_id: str) -> Recorder:
    """A recorder of ``mixer`` (caller left, everyone heard right) to ``<call_id>.wav``."""
    recorder = Recorder(recordings_dir / f"{call_id}.wav")
    mixer.taps.append(recorder.write)
    return recorder


async def end_fields(ended_at: datetime, answered_at: datetime | None, reason: str | None,
                     recorder: Recorder | None) -> dict[str, Any]:
    """The row's fields at the end: status, reason, duration, and the closed recording's."""
    fields: dict[str, Any] = {"ended_at": ended_at, "disconnect_reason": reason}
    if answered_at is not None:
        fields["status"] = "completed"
        fields["duration_seconds"] = round((ended_at - answered_at).total_seconds())
    else:
        fields["status"] = "canceled" if reason == "canceled" else "failed"
    if recorder is not None:
        duration = await recorder.close()
        fields["recording_status"] = "failed" if recorder.failed else "completed"
        fields["recording_duration_ms"] = duration
    return fields


def failure_of(reason: str | None) -> str | None:
    """The failure cause an ended call's event carries (None for an ordinary hang-up)."""
    return None if reason in CLEAN_ENDS else reason
