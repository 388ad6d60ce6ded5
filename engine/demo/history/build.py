"""Rows of past calls: the call, its transcript entries, events, usage, transfers.

Costs come from the usage rows (the call's cost columns are their sums), latency from the
transcript's turns, analysis from the generated conversation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table

from engine.calls.metrics import percentile
from engine.demo.catalog import BILLING_DESK_NUMBER, PBX_DOMAIN, TRUNK_HOST, Catalog, DemoAgent
from engine.demo.conversations import CONVERSATIONS, Conversation, Turn
from engine.demo.conversations.model import SENTIMENT_SCORES, CallContext
from engine.demo.history.plan import CallPlan
from engine.demo.history.signalling import EventLog, Parties, setup_events, teardown_events
from engine.demo.history.timeline import Timeline, lay_out
from engine.demo.people import fictional_number, person_name
from engine.demo.rows import RowMaker
from engine.store import Call, CallEvent, TranscriptEntry, Transfer, UsageLog, iso, table_of
from engine.store import vocabulary as words

# Local rates that turn metered usage into cost (integer micro-USD). Commodity cloud list prices,
# so a demo call shows the same cost fields a hosted platform would bill.
STT_MICRO_USD_PER_SECOND = 100  # $0.006 per minute of recognised speech
TTS_MICRO_USD_PER_CHARACTER = 15  # $15 per million characters
TELEPHONY_MICRO_USD_PER_MINUTE = 8_500  # SIP trunk, US termination/origination
TELEPHONY_PROVIDER = "carrier"


@dataclass
class LeadProgress:
    attempts: int = 0
    last_call_id: str | None = None
    last_status: str = "pending"
    last_at: datetime | None = None
    outcome: str | None = None


@dataclass
class History:
    rows: dict[Table, list[dict[str, Any]]]
    leads: dict[str, LeadProgress] = field(default_factory=dict)


class CallBuilder:
    """Turns call plans into rows for one organization."""

    def __init__(self, catalog: Catalog, org: str, rng: random.Random,
                 new_id: Callable[[], str]) -> None:
        self.catalog = catalog
        self.org = org
        self.rng = rng
        self.new_id = new_id
        self.make_call = RowMaker(Call)
        self.make_entry = RowMaker(TranscriptEntry)
        self.make_event = RowMaker(CallEvent)
        self.make_usage = RowMaker(UsageLog)
        self.make_transfer = RowMaker(Transfer)
        self.history = History({table_of(m): [] for m in (Call, TranscriptEntry, CallEvent, UsageLog,
                                                         Transfer)})
        self._humans = [u for u in catalog.users if u["role"] == "agent"]

    def add(self, plan: CallPlan) -> dict[str, Any]:
        rng = self.rng
        agent = self.catalog.agents[plan.role]
        call_id = self.new_id()
        caller_name = plan.lead.name if plan.lead else person_name(rng)
        user_id: str | None = None
        is_test = False
        sip_call_id: str | None = None
        if plan.kind == "web":
            user = rng.choice(self.catalog.users) if rng.random() < 0.5 else None
            user_id = user["id"] if user else None
            is_test = user is not None
            from_number = f"web:{user['extension']}" if user else f"web:visitor-{rng.randrange(16**6):06x}"
            to_number = f"agent:{agent.name}"
            number_id = None
        elif plan.kind == "inbound":
            from_number, to_number, number_id = fictional_number(rng), agent.number, agent.number_id
            sip_call_id = f"{rng.getrandbits(64):016x}@{TRUNK_HOST}"
        else:
            number_id, own = (self._campaign_number(plan.campaign_id) if plan.campaign_id
                              else (agent.number_id, agent.number))
            from_number = own
            to_number = plan.lead.phone_number if plan.lead else fictional_number(rng)
            sip_call_id = f"{rng.getrandbits(64):016x}@switchboard.local"
        parties: Parties = {"from": from_number, "to": to_number}

        log = EventLog()
        answered_at: datetime | None = None
        timeline: Timeline | None = None
        convo: Conversation | None = None
        transfer_row: dict[str, Any] | None = None
        if plan.status == "completed":
            ring = rng.uniform(0.6, 2.5) if plan.kind != "outbound" else rng.uniform(4.0, 18.0)
            answered_at = plan.at + timedelta(seconds=ring)
            ctx = CallContext(rng, plan.at, caller_name, "outbound" if plan.kind == "outbound"
                              else "inbound", plan.lead.variables if plan.lead else {})
            convo = CONVERSATIONS[plan.role](ctx)
            transfer_turns, transfer_row = self._transfer(convo, call_id, agent, caller_name)
            convo.turns.extend(transfer_turns)
            timeline = lay_out(convo.turns, rng, answered_at, agent.stt_engine)
            if transfer_row is not None:
                transfer_row["created_at"] = next(line.started_at for line in timeline.lines
                                                  if line.turn.source == "system")
            last = timeline.lines[-1].ended_at
            blind_done = transfer_row is not None and transfer_row["kind"] == "blind" \
                and transfer_row["status"] == "completed"
            ended_at = last + timedelta(seconds=rng.uniform(0.2, 0.6) if blind_done
                                        else rng.uniform(0.4, 1.6))
        elif plan.status == "no_answer":
            ended_at = plan.at + timedelta(seconds=rng.uniform(25.0, 32.0))
        elif plan.status == "canceled":
            ended_at = plan.at + timedelta(seconds=rng.uniform(2.0, 14.0))
        elif plan.status == "busy":
            ended_at = plan.at + timedelta(seconds=rng.uniform(0.4, 3.0))
        else:
            ended_at = plan.at + timedelta(seconds=rng.uniform(0.2, 6.0 if plan.kind == "web" else 2.0))

        setup_events(log, plan, rng, sip_call_id, parties, answered_at, ended_at)
        if plan.campaign_id:
            log.events.insert(0, {"occurred_at": plan.at, "provider": "engine",
                                  "event_type": "campaign.dial", "status": "queued",
                                  "sip_status_code": None, "sip_status": None,
                                  "failure_cause": None, "actor": "campaign",
                                  "payload": {"campaign_id": plan.campaign_id,
                                              "lead_id": plan.lead.id if plan.lead else None,
                                              "attempt": plan.attempt}})
        entries: list[dict[str, Any]] = []
        if timeline is not None and answered_at is not None and convo is not None:
            log.add(answered_at, "engine", "call.answered", status="in_progress",
                    agent_id=agent.id, agent=agent.name)
            entries = self._entries(call_id, timeline, agent)
            for line in timeline.lines:
                tool = line.turn.tool
                if tool is not None and line.latency is not None:
                    log.add(line.started_at - timedelta(milliseconds=line.latency["tts_ttfb_ms"] + 20),
                            "engine", "tool.called", name=tool.name, arguments=tool.arguments,
                            ok=tool.ok, duration_ms=line.latency["brain_ms"])
            if transfer_row is not None:
                self._transfer_events(log, transfer_row, plan)
            by_caller = self._disconnect(plan, convo, transfer_row) in (words.CALLER_HANGUP,
                                                                         words.CALLEE_HANGUP)
            blind = transfer_row is not None and transfer_row["kind"] == "blind" \
                and transfer_row["status"] == "completed"
            teardown_events(log, plan, rng, ended_at, by_caller, blind)
        final_status = plan.status
        log.add(ended_at + timedelta(milliseconds=5), "engine", "call.ended", status=final_status,
                failure=plan.disconnect_reason or None,
                disconnect_reason=self._disconnect(plan, convo, transfer_row))
        log.add(ended_at + timedelta(milliseconds=rng.randint(300, 1500)), "engine",
                "analysis.completed", status="heuristic")

        row = self._call_row(plan, call_id, agent, parties, number_id, user_id, is_test, sip_call_id,
                             answered_at, ended_at, timeline, convo, transfer_row)
        self.history.rows[table_of(Call)].append(row)
        self.history.rows[table_of(TranscriptEntry)].extend(entries)
        log.events.sort(key=lambda event: event["occurred_at"])
        self.history.rows[table_of(CallEvent)].extend(
            self.make_event(self.org, self.new_id(), event["occurred_at"], call_id=call_id, **event)
            for event in log.events)
        if transfer_row is not None:
            self.history.rows[table_of(Transfer)].append(transfer_row)
        if plan.lead is not None:
            progress = self.history.leads.setdefault(plan.lead.id, LeadProgress())
            progress.attempts += 1
            progress.last_call_id = call_id
            progress.last_status = plan.status
            progress.last_at = ended_at
            progress.outcome = row["outcome"]
        return row

    # -- parts ----------------------------------------------------------------------------------

    def _campaign_number(self, campaign_id: str | None) -> tuple[str, str]:
        campaign = next(c for c in self.catalog.campaigns if c.id == campaign_id)
        return campaign.number_id, campaign.number

    def _transfer(self, convo: Conversation, call_id: str, agent: DemoAgent, caller_name: str
                  ) -> tuple[list[Turn], dict[str, Any] | None]:
        plan = convo.transfer
        if plan is None:
            return [], None
        rng = self.rng
        human = rng.choice(self._humans)
        first = human["display_name"].split()[0]
        destinations = [
            {"to": f"sip:{u['extension']}@{PBX_DOMAIN}", "label": u["display_name"]}
            for u in self._humans
        ] + [{"to": BILLING_DESK_NUMBER, "label": "Billing desk queue"}]
        turns = [Turn("system", f"Transferring the call to the billing desk ({plan.kind} transfer).")]
        attempts: list[dict[str, Any]] = []
        ringing = 0.0
        if plan.succeeds:
            target = next(d for d in destinations if d["label"] == human["display_name"])
            if rng.random() < 0.3:  # the first choice was busy; routing moved on
                other = next(d for d in destinations[:2] if d is not target)
                attempts.append({"to": other["to"], "label": other["label"], "status": "failed",
                                 "sip_status_code": 486, "failure_cause": "busy"})
            attempts.append({"to": target["to"], "label": target["label"], "status": "completed",
                             "sip_status_code": 200})
            ringing = self._time_attempts(attempts)
            if plan.kind == "blind":
                turns.append(Turn("system", f"The caller was connected to {human['display_name']}; "
                                            "the agent left the call.", pause_s=ringing))
            else:
                turns += [
                    Turn("human_agent", f"Hi, this is {first} from the billing desk. I've got the "
                                        f"notes: {plan.reason}. I can take it from here.",
                         pause_s=ringing + rng.uniform(4.0, 15.0)),
                    Turn("user", rng.choice(("Great, thank you.", "Oh good, thanks.",
                                             "Finally, thanks."))),
                    Turn("human_agent", "Let me pull up your account. One moment."),
                ]
            status, cause, code = "completed", None, 200
            transfer_to = target["to"]
        else:
            for dest, code, cause in zip(destinations, (486, 480, 408), ("busy", "no_answer",
                                                                          "no_answer"),
                                         strict=True):
                attempts.append({"to": dest["to"], "label": dest["label"], "status": "failed",
                                 "sip_status_code": code, "failure_cause": cause})
            ringing = self._time_attempts(attempts)
            turns += [
                Turn("system", "Transfer failed: no one at the billing desk answered.",
                     pause_s=ringing),
                Turn("agent", "I'm sorry, everyone at the desk is busy right now. Please leave "
                              "your name and number and we'll call you back."),
                Turn("user", f"Sure, it's {caller_name}. You can call me back on this number."),
                Turn("agent", "Thanks, we'll call you back within one business day. Goodbye!"),
            ]
            convo.outcome, convo.success, convo.ended_by = "callback_requested", False, "agent"
            convo.structured_data["follow_up_needed"] = True
            convo.summary += " The transfer failed (no one at the desk answered); the caller " \
                             "left a callback request."
            status, cause, code = "failed", "no_answer", 408
            transfer_to = destinations[-1]["to"]
        row = self.make_transfer(
            self.org, self.new_id(), datetime.min, call_id=call_id, kind=plan.kind, status=status,
            transfer_to=transfer_to, destinations=destinations,
            consultation_room=f"consult-{rng.randrange(16**8):08x}" if plan.kind == "warm" else None,
            participants=[{"role": "caller", "name": caller_name},
                          {"role": "agent", "agent_id": agent.id, "name": agent.name}]
            + ([{"role": "human_agent", "user_id": human["id"], "name": human["display_name"]}]
               if plan.kind == "warm" and plan.succeeds else []),
            outbound_trunk_id=self.catalog.trunk_id,
            screening_prompt="Summarise the caller's issue in one sentence for the desk.",
            summary=f"Caller {caller_name}: {plan.reason}.", failure_cause=cause, sip_status_code=code,
            routing_attempts=attempts,
            fallback={"strategy": "take_message",
                      "message": "Everyone at the desk is busy. Please leave a message."},
            requested_by=f"agent:{agent.name}", metadata_={"reason": plan.reason})
        return turns, row

    def _time_attempts(self, attempts: list[dict[str, Any]]) -> float:
        """How long each routing attempt rang; returns the total in seconds."""
        for attempt in attempts:
            attempt["seconds"] = round(self.rng.uniform(4.0, 12.0) if attempt["status"] == "failed"
                                       else self.rng.uniform(3.0, 8.0), 2)
        return float(sum(attempt["seconds"] for attempt in attempts))

    def _transfer_events(self, log: EventLog, transfer: dict[str, Any], plan: CallPlan) -> None:
        """Fill the transfer's times (it starts at the timeline's system line) and log events."""
        requested: datetime = transfer["created_at"]
        transfer["updated_at"] = requested
        log.add(requested, "engine", "transfer.requested", status="transferring",
                kind=transfer["kind"], transfer_id=transfer["id"])
        t = requested
        for attempt in transfer["routing_attempts"]:
            attempt["started_at"] = iso(t)
            t += timedelta(seconds=attempt.pop("seconds"))
            attempt["ended_at"] = iso(t)
            log.add(t, "sip", "transfer_leg_response", code=attempt["sip_status_code"],
                    reason={200: "OK", 486: "Busy Here", 480: "Temporarily Unavailable",
                            408: "Request Timeout"}[attempt["sip_status_code"]],
                    failure=attempt.get("failure_cause"), to=attempt["to"])
        if transfer["kind"] == "blind" and transfer["status"] == "completed" and plan.kind != "web":
            log.add(t, "sip", "refer_sent", code=202, reason="Accepted", refer_to=transfer["transfer_to"])
        done = "transfer.completed" if transfer["status"] == "completed" else "transfer.failed"
        log.add(t + timedelta(milliseconds=50), "engine", done, status=transfer["status"],
                failure=transfer["failure_cause"], transfer_id=transfer["id"])
        transfer["completed_at"] = t + timedelta(milliseconds=50)
        transfer["updated_at"] = transfer["completed_at"]

    def _entries(self, call_id: str, timeline: Timeline, agent: DemoAgent) -> list[dict[str, Any]]:
        rows = []
        for index, line in enumerate(timeline.lines):
            turn = line.turn
            metadata: dict[str, Any] = {}
            provider: str | None = None
            model: str | None = None
            latency = line.latency or {}
            if turn.source == "agent":
                provider, model = "espeak-ng", agent.voice
                metadata["brain"] = "scripted"
                if turn.intent:
                    metadata["intent"] = turn.intent
                if turn.tool is not None:
                    metadata["tool_calls"] = [{"name": turn.tool.name, "arguments": turn.tool.arguments,
                                               ("result" if turn.tool.ok else "error"): turn.tool.result}]
            elif turn.source in ("user", "human_agent"):
                if turn.dtmf:
                    provider, metadata["dtmf"] = "dtmf", turn.dtmf
                else:
                    provider, model = agent.stt_engine, agent.stt_model
                    metadata["language"] = "en-US"
                if turn.intent:
                    metadata["intent"] = turn.intent
            if turn.source == "system":
                metadata["event"] = "transfer"
            rows.append(self.make_entry(
                self.org, self.new_id(), line.started_at, call_id=call_id, index=index,
                source=turn.source, text=turn.text, started_at=line.started_at,
                ended_at=line.ended_at, provider=provider, model=model,
                confidence=(round(self.rng.uniform(0.85, 0.96), 3) if turn.source == "human_agent"
                            else line.confidence),
                eou_ms=latency.get("eou_ms"), stt_ms=latency.get("stt_ms"),
                brain_ms=latency.get("brain_ms"), tts_ttfb_ms=latency.get("tts_ttfb_ms"),
                voice_to_voice_ms=latency.get("voice_to_voice_ms"), interrupted=line.interrupted,
                metadata_=metadata))
        return rows

    def _disconnect(self, plan: CallPlan, convo: Conversation | None,
                    transfer: dict[str, Any] | None) -> str:
        """The call's reason in the call vocabulary (:mod:`engine.store.vocabulary`)."""
        if plan.status != "completed" or convo is None:
            return plan.disconnect_reason
        customer = words.remote_hangup("outbound" if plan.kind == "outbound" else "inbound")
        if transfer is not None and transfer["status"] == "completed":
            return words.TRANSFERRED if transfer["kind"] == "blind" else customer
        return customer if convo.ended_by == "customer" else words.AGENT_HANGUP

    def _usage(self, call_id: str, at: datetime, kind: str, quantity: float, unit: str, cost: int,
               provider: str) -> dict[str, Any]:
        row = self.make_usage(self.org, self.new_id(), at, call_id=call_id, kind=kind,
                              quantity=quantity, unit=unit, cost_micro_usd=cost, provider=provider,
                              occurred_at=at)
        self.history.rows[table_of(UsageLog)].append(row)
        return row

    def _call_row(self, plan: CallPlan, call_id: str, agent: DemoAgent, parties: Parties,
                  number_id: str | None, user_id: str | None, is_test: bool,
                  sip_call_id: str | None, answered_at: datetime | None, ended_at: datetime,
                  timeline: Timeline | None, convo: Conversation | None,
                  transfer: dict[str, Any] | None) -> dict[str, Any]:
        rng = self.rng
        values: dict[str, Any] = {}
        metadata: dict[str, Any] = {"stt_language": "en-US", "stt_engine": agent.stt_engine,
                                    "stt_model": agent.stt_model, "tts_voice": agent.voice,
                                    "barge_in_count": 0}
        if sip_call_id:
            metadata["sip_call_id"] = sip_call_id
        if plan.status == "failed":
            error = (words.CallFailure.sip(plan.sip_code, plan.sip_reason) if plan.sip_code
                     else words.CallFailure.of(plan.disconnect_reason))
            metadata.update(error.metadata())
        stt_s = tts_chars = 0.0
        if timeline is not None and convo is not None and answered_at is not None:
            lines = timeline.lines
            metadata["barge_in_count"] = timeline.barge_ins
            if convo.menu_matches:
                keyed = [line for line in lines if line.turn.dtmf]
                matches = [words.menu_match(match["menu"], digit=match["digit"],
                                            at=iso(line.started_at) or "")
                           for match, line in zip(convo.menu_matches, keyed, strict=True)]
                metadata["menu_matches"] = matches
                metadata["menu_final_selection"] = matches[-1]
            turns = timeline.turn_latencies
            v2v = [t["voice_to_voice_ms"] for t in turns]
            stt_s = round(sum((line.ended_at - line.started_at).total_seconds() for line in lines
                              if line.turn.source in ("user", "human_agent") and not line.turn.dtmf), 2)
            tts_chars = float(sum(len(line.turn.text) for line in lines
                                  if line.turn.source == "agent"))
            score_lo, score_hi = SENTIMENT_SCORES[convo.sentiment]
            values.update(
                transcript="\n".join(f"{_speaker(line.turn.source)}: {line.turn.text}"
                                     for line in lines),
                summary=convo.summary, sentiment=convo.sentiment,
                sentiment_score=rng.randint(score_lo, score_hi), outcome=convo.outcome,
                success=convo.success, structured_data=convo.structured_data,
                latency_turns=turns, latency_p50_ms=percentile(v2v, 0.5),
                latency_p95_ms=percentile(v2v, 0.95))
            if rng.random() < 0.05:
                rating = {"positive": rng.randint(4, 5), "neutral": rng.randint(3, 4),
                          "negative": rng.randint(1, 3)}[convo.sentiment]
                values.update(rating=rating, feedback=rng.choice(_FEEDBACK[rating >= 4]),
                              notes=rng.choice(_NOTES))
        else:
            code = f"{plan.sip_code} {plan.sip_reason}" if plan.sip_code else plan.disconnect_reason
            values.update(summary=f"The call was not connected ({code}).", outcome="not_connected",
                          success=False, structured_data={})
        duration = round((ended_at - answered_at).total_seconds()) if answered_at else 0
        stt_cost = round(stt_s * STT_MICRO_USD_PER_SECOND)
        tts_cost = round(tts_chars * TTS_MICRO_USD_PER_CHARACTER)
        minutes = round(duration / 60, 4) if plan.kind != "web" else 0.0
        telephony_cost = round(minutes * TELEPHONY_MICRO_USD_PER_MINUTE)
        if stt_s:
            self._usage(call_id, ended_at, "stt", stt_s, "seconds", stt_cost, agent.stt_engine)
        if tts_chars:
            self._usage(call_id, ended_at, "tts", tts_chars, "characters", tts_cost, "espeak-ng")
        if minutes:
            self._usage(call_id, ended_at, "telephony", minutes, "minutes", telephony_cost,
                        TELEPHONY_PROVIDER)
        custom: dict[str, Any] = {}
        if plan.campaign_id:
            custom = {"campaign_attempt": plan.attempt}
        if custom:
            metadata["custom"] = custom
        return self.make_call(
            self.org, call_id, plan.at, type="web_call" if plan.kind == "web" else "phone_call",
            transport="webrtc" if plan.kind == "web" else "sip",
            direction="outbound" if plan.kind == "outbound" else "inbound",
            from_number=parties["from"], to_number=parties["to"], agent_id=agent.id,
            phone_number_id=number_id, sip_trunk_id=self.catalog.trunk_id if plan.kind != "web"
            else None, campaign_id=plan.campaign_id, lead_id=plan.lead.id if plan.lead else None,
            user_id=user_id, sip_call_id=sip_call_id, status=plan.status, initiated_at=plan.at,
            answered_at=answered_at, ended_at=ended_at, duration_seconds=duration,
            disconnect_reason=self._disconnect(plan, convo, transfer),
            sip_status_code=plan.sip_code, recording_status="none", analysis_status="heuristic",
            post_call_webhook_status=None, cost_stt_micro_usd=stt_cost, cost_llm_micro_usd=0,
            cost_tts_micro_usd=tts_cost, cost_telephony_micro_usd=telephony_cost,
            cost_total_micro_usd=stt_cost + tts_cost + telephony_cost,
            cost_details={"stt_audio_duration_seconds": stt_s, "tts_characters": int(tts_chars),
                          "llm_prompt_tokens": 0, "llm_completion_tokens": 0,
                          "telephony_minutes": minutes},
            metadata_=metadata,
            dynamic_variables=dict(plan.lead.variables) if plan.lead else {},
            is_test=is_test, **values) | {"updated_at": ended_at}


def _speaker(source: str) -> str:
    return {"user": "Caller", "agent": "Agent", "human_agent": "Human agent",
            "system": "System"}.get(source, source.title())


_FEEDBACK = {
    True: ("Quick and easy.", "The assistant understood me first time.", "Helpful, thanks!"),
    False: ("Took too long to get to a person.", "It didn't understand my order number.",
            "I had to repeat myself."),
}
_NOTES = (
    "Reviewed by Dana: good handling.",
    "Follow up: customer asked for an email confirmation.",
    "Flag for script review: intent matched late.",
    "Check the lookup webhook latency on this one.",
    "Customer called back later the same day.",
)

__all__ = ["STT_MICRO_USD_PER_SECOND", "TELEPHONY_MICRO_USD_PER_MINUTE",
           "TTS_MICRO_USD_PER_CHARACTER", "CallBuilder", "History", "LeadProgress"]
