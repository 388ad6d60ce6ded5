"""A campaign's lifecycle actions (which the engine says are legal now, and why not), its
figures as the campaign view shows them, and the engine's refusals in plain words (pure: no Qt
widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console import formatting as fmt
from engine.client import ApiError, Record

# the lifecycle's actions, in the order of the view's buttons; which of them a campaign's state
# allows, and why not, is the engine's to say: the record's ``actions`` (engine.campaigns.lifecycle)
ACTIONS = ("start", "pause", "resume", "cancel")
ACTION_HINTS = {
    "start": "Start placing the campaign's calls",
    "pause": "Stop dialling new leads (calls under way go on)",
    "resume": "Dial the campaign's leads again",
    "cancel": "Cancel the campaign: its leads waiting to be called are not called",
}
# the counters of the campaign view, in order: (key, caption)
COUNTERS = (("calling", "Dialling now"), ("completed", "Completed"), ("voicemail", "Voicemail"),
            ("no_answer", "No answer"), ("busy", "Busy"), ("failed", "Failed"),
            ("do_not_call", "Do not call"), ("answer_rate", "Answer rate"),
            ("human_machine", "Human / machine"))


def action_blockers(campaign: Record | None, *, leads_total: int | None) -> dict[str, str]:
    """Why each lifecycle action cannot be taken on ``campaign`` now ("" when it can): the
    engine's reason from the record's ``actions``, then what starting needs (an agent, leads).

    ``leads_total`` is the campaign's number of leads, None while it is not known yet."""
    if campaign is None:
        return dict.fromkeys(ACTIONS, "Save the campaign first")
    said: dict[str, Any] = campaign.get("actions") or {}
    blockers: dict[str, str] = {}
    for action in ACTIONS:
        if action not in said:
            blockers[action] = "The engine did not say whether the campaign can " + action
        else:
            reason = str(said[action] or "").strip()
            blockers[action] = reason[:1].upper() + reason[1:]
    if not blockers["start"]:
        if not campaign.get("agent_id"):
            blockers["start"] = "Choose an agent first"
        elif leads_total == 0:
            blockers["start"] = "Import leads first"
    return blockers


def plain_error(exc: Exception) -> str:
    """The engine's refusal as a sentence: ``the campaign is running; only a paused campaign
    can resume`` reads ``The campaign is running; only a paused campaign can resume.``"""
    text = exc.message if isinstance(exc, ApiError) else str(exc)
    text = text.strip()
    if not text:
        return "The engine refused without saying why."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@dataclass(frozen=True)
class Figures:
    """A campaign's stats (``GET /v1/campaigns/{id}/stats``) as the view shows them."""

    done: int
    total: int
    counters: dict[str, str]
    outcomes: dict[str, int]
    summary: str

    @classmethod
    def of(cls, stats: Record) -> Figures:
        leads: dict[str, Any] = stats.get("leads") or {}
        by_status: dict[str, int] = leads.get("by_status") or {}
        progress: dict[str, Any] = stats.get("progress") or {}
        counters = {key: str(int(by_status.get(key, 0))) for key, _ in COUNTERS
                    if key not in ("answer_rate", "human_machine")}
        counters["answer_rate"] = percent(stats.get("answer_rate"))
        counters["human_machine"] = f"{int(stats.get('human') or 0)} / {int(stats.get('machine') or 0)}"
        done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
        waiting = int(leads.get("waiting_for_retry") or 0)
        parts = [f"{done:,} of {total:,} leads done"]
        if waiting:
            parts.append(f"{waiting:,} waiting to be tried again")
        parts.append(f"{int(stats.get('attempts') or 0):,} attempts")
        duration = stats.get("average_duration_seconds")
        if duration is not None:
            parts.append(f"average answered call {fmt.duration(float(duration))}")
        cost = stats.get("cost_usd")
        if cost:
            parts.append(f"cost ${float(cost):,.2f}")
        return cls(done=done, total=total, counters=counters,
                   outcomes={str(k): int(v) for k, v in (stats.get("outcomes") or {}).items()},
                   summary=" · ".join(parts))


def merge_progress(lead: Record, event: Any) -> Record:
    """A lead's row with what a ``campaign.progress`` event says of it now."""
    return {**lead, "status": event.lead_status, "attempts": event.attempts,
            "next_attempt_at": event.next_attempt_at,
            "last_call_id": event.last_call_id or lead.get("last_call_id")}


__all__ = ["ACTIONS", "ACTION_HINTS", "COUNTERS", "Figures", "action_blockers", "merge_progress",
           "percent", "plain_error"]
