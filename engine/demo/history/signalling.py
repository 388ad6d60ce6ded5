"""The event log of a past call: SIP (or WebRTC) signalling plus the engine's own events."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict

from engine.demo.history.plan import CallPlan

# the numbers of a call: caller and callee, as the first event's payload carries them
Parties = TypedDict("Parties", {"from": str, "to": str})


@dataclass
class EventLog:
    """Events in the order they happened; rows are made from them by the call builder."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, at: datetime, provider: str, event_type: str, *, status: str | None = None,
            code: int | None = None, reason: str | None = None, failure: str | None = None,
            actor: str | None = None, **payload: Any) -> None:
        self.events.append({"occurred_at": at, "provider": provider, "event_type": event_type,
                            "status": status, "sip_status_code": code, "sip_status": reason,
                            "failure_cause": failure, "actor": actor, "payload": payload})


def setup_events(log: EventLog, plan: CallPlan, rng: random.Random, sip_call_id: str | None,
                 parties: Parties, answered_at: datetime | None, ended_at: datetime) -> None:
    """From the first INVITE (or WebRTC offer) to the answer, or to the failure that ended it."""
    t = plan.at
    ms = timedelta(milliseconds=1)
    if plan.kind == "web":
        log.add(t, "webrtc", "offer_received", status="ringing", **parties)
        log.add(t + 12 * ms, "webrtc", "answer_sent")
        if plan.status == "failed":
            log.add(ended_at, "webrtc", "ice_failed", status="failed", failure="ice_failed",
                    detail="no candidate pair succeeded within 10 s")
            return
        assert answered_at is not None
        log.add(answered_at, "webrtc", "ice_connected", status="in_progress",
                candidate_pair="host/udp")
        return

    inbound = plan.kind == "inbound"
    sent = "response_sent" if inbound else "response_received"
    log.add(t, "sip", "invite_received" if inbound else "invite_sent", status="ringing" if inbound
            else "queued", call_id=sip_call_id, **parties)
    log.add(t + rng.randint(2, 9) * ms, "sip", sent, code=100, reason="Trying")
    if plan.status == "busy":
        log.add(ended_at, "sip", sent, status="busy", code=486, reason="Busy Here", failure="busy")
        log.add(ended_at + 3 * ms, "sip", "ack_sent")
        return
    if plan.status == "failed" and plan.sip_code in (503, 404, 488):
        log.add(ended_at, "sip", sent, status="failed", code=plan.sip_code, reason=plan.sip_reason,
                failure=plan.disconnect_reason)
        log.add(ended_at + 3 * ms, "sip", "ack_received" if inbound else "ack_sent")
        return
    log.add(t + rng.randint(30, 120) * ms, "sip", sent, code=180, reason="Ringing")
    if plan.status == "no_answer":
        log.add(ended_at, "sip", sent, status="no_answer", code=plan.sip_code,
                reason=plan.sip_reason, failure="no_answer")
        log.add(ended_at + 3 * ms, "sip", "ack_sent")
        return
    if plan.status == "canceled":
        log.add(ended_at - 4 * ms, "sip", "cancel_received" if inbound else "cancel_sent",
                actor="caller" if inbound else "campaign")
        log.add(ended_at, "sip", sent, status="canceled", code=487, reason="Request Terminated",
                failure=plan.disconnect_reason)
        return
    assert answered_at is not None
    log.add(answered_at, "sip", sent, status="in_progress", code=200, reason="OK",
            codec=rng.choice(("PCMU", "PCMU", "PCMA", "G722")))
    log.add(answered_at + rng.randint(10, 40) * ms, "sip",
            "ack_received" if inbound else "ack_sent")


def teardown_events(log: EventLog, plan: CallPlan, rng: random.Random, ended_at: datetime,
                    by_caller: bool, transferred_blind: bool) -> None:
    """The hang-up of an answered call."""
    ms = timedelta(milliseconds=1)
    if plan.kind == "web":
        log.add(ended_at, "webrtc", "peer_closed", actor="caller" if by_caller else "agent")
        return
    if transferred_blind:
        return  # the REFER's NOTIFY ended our part; the caller is with the transfer target now
    if by_caller:
        log.add(ended_at, "sip", "bye_received", actor="caller")
        log.add(ended_at + rng.randint(1, 4) * ms, "sip", "response_sent", code=200, reason="OK")
    else:
        log.add(ended_at, "sip", "bye_sent", actor="agent")
        log.add(ended_at + rng.randint(15, 60) * ms, "sip", "response_received", code=200,
                reason="OK")


__all__ = ["EventLog", "setup_events", "teardown_events"]
