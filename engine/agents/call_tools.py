"""The engine's own tools, run in the engine rather than through a webhook.

- ``schedule_callback`` (``when``, ``reason``, ``instructions``): writes a
  :class:`~engine.store.ScheduledCallback` for the call's other party; the campaign dialer places
  it at that time (:mod:`engine.campaigns.callbacks`). ``when`` is an ISO 8601 time, or words as a
  caller says them: "tomorrow at 3", "Friday 10 am", "in 2 hours", "3 pm" (today, or tomorrow when
  that time has passed), read in the callee's time zone (:func:`callback_time`).
- ``opt_out``: the caller's number goes on the organization's do-not-call list (reason
  :data:`OPT_OUT_REASON`, source ``opt_out``), the call's lead and every lead waiting to call the
  number become ``do_not_call``, and the number's scheduled callbacks are canceled. The brains then
  say :data:`OPT_OUT_CONFIRMATION` (or the script's words) and end the call.

The API's ``POST /v1/calls/{id}/callback`` schedules through :func:`schedule_callback` too, so both
check a request the same way (:class:`CallbackError` names the field).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones
from sqlalchemy import Engine as SqlEngine
from sqlmodel import select

from engine.agents.slots import parse_date, parse_time
from engine.agents.tools import OPT_OUT, SCHEDULE_CALLBACK
from engine.events import CallbackChanged, EventBus
from engine.speech.frames import ToolCall
from engine.store import Call, Campaign, DoNotCall, Lead, ScheduledCallback, row_dict, session_scope
from engine.store.dnc import block_numbers
from engine.store.numbers import to_e164
from engine.store.timeutil import utcnow

OPT_OUT_REASON = "caller asked"
OPT_OUT_CONFIRMATION = ("Understood. I've taken your number off our list and you won't be called "
                        "again. Goodbye.")
MAX_AHEAD = timedelta(days=365)  # a callback further away than a year is a mistake
MAX_REASON = 500
MAX_INSTRUCTIONS = 2000
CALLBACK_VARIABLES = ("callback_reason", "callback_instructions")  # in a callback call's variables
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_IN_SPAN = re.compile(r"\bin\s+(an?|\d+)\s+(minute|hour|day)s?\b")


class CallbackError(ValueError):
    """A callback request that cannot be scheduled; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def e164(field: str, value: str) -> str:
    """``value`` as an E.164 number, or CallbackError naming ``field``."""
    try:
        return to_e164(value)
    except ValueError as exc:
        raise CallbackError(field, str(exc)) from None


def number_zone(number: str, fallback: str = "UTC") -> ZoneInfo:
    """The one time zone the number's region is in, else ``fallback``."""
    try:
        found = {z for z in number_zones.time_zones_for_number(phonenumbers.parse(number, None))
                 if z != "Etc/Unknown"}
    except phonenumbers.NumberParseException:
        found = set()
    for name in (found.pop() if len(found) == 1 else None, fallback, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")  # pragma: no cover


def _clock(spoken: str) -> time:
    """``parse_time``'s "3 PM" / "2:30 PM" as a time of day."""
    clock, _, meridiem = spoken.partition(" ")
    hours, _, minutes = clock.partition(":")
    hour = int(hours) % 12 + (12 if meridiem == "PM" else 0)
    return time(hour, int(minutes or 0))


def callback_time(when: str, now: datetime, tz: ZoneInfo, *, field: str = "when") -> datetime:
    """The instant (UTC) ``when`` names, read at ``now`` in ``tz`` (the callee's zone): an ISO 8601
    time (one without an offset is in ``tz``), "in 2 hours" / "in 30 minutes" / "in a day", or a day
    and a time of day ("tomorrow at 3", "Friday 10 am", "2027-01-07 3 pm"; a time alone is today's,
    or tomorrow's when it has passed). CallbackError naming ``field`` when it names no time."""
    text = when.strip()
    if not text:
        raise CallbackError(field, "required: an ISO 8601 time or words such as 'tomorrow at 3 pm'")
    try:
        exact = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        exact = None
    if exact is not None:
        return (exact if exact.tzinfo else exact.replace(tzinfo=tz)).astimezone(UTC)
    lowered = text.lower()
    if m := _IN_SPAN.search(lowered):
        count = 1 if m.group(1) in ("a", "an") else int(m.group(1))
        return now + timedelta(**{f"{m.group(2)}s": count})
    local_now = now.astimezone(tz)
    day: date | None = None
    if m := _ISO_DATE.search(lowered):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise CallbackError(field, f"{m.group(0)!r} is not a date") from None
        lowered = lowered.replace(m.group(0), " ")
    else:
        day = parse_date(lowered, local_now.date())
    spoken = parse_time(lowered)
    if spoken is None:
        raise CallbackError(field, f"{when!r} names no time of day (say e.g. 'tomorrow at 3 pm' "
                                   "or give an ISO 8601 time)")
    at = _clock(spoken)
    found = datetime.combine(day or local_now.date(), at, tzinfo=tz)
    if day is None and found <= local_now:
        found += timedelta(days=1)
    return found.astimezone(UTC)


def check_time(at: datetime, now: datetime, field: str = "when") -> datetime:
    """``at`` when it is in the future and within :data:`MAX_AHEAD`; else CallbackError."""
    if at <= now:
        raise CallbackError(field, f"{at.isoformat()} is in the past (now is {now.isoformat()})")
    if at - now > MAX_AHEAD:
        raise CallbackError(field, f"{at.isoformat()} is more than {MAX_AHEAD.days} days ahead")
    return at


def other_party(call: Call) -> str:
    """The number of the call's other party: the callee of an outbound call, the caller of an
    inbound one."""
    return call.to_number if call.direction == "outbound" else call.from_number


@dataclass(frozen=True)
class CallbackRequest:
    """A callback to schedule, from a brain's tool call or the API."""

    organization_id: str
    call_id: str
    when: str | datetime  # words or an ISO time (a brain's), or an instant (the API's)
    reason: str = ""
    instructions: str = ""
    to_number: str | None = None  # the call's other party when not given
    requested_by: str = "agent"


def schedule_callback(db: SqlEngine, request: CallbackRequest, now: datetime | None = None,
                      *, when_field: str = "when") -> dict[str, Any]:
    """Blocking: writes the scheduled callback; its row as a dict (times as ISO text).
    LookupError for a call the organization does not have, CallbackError naming the field for
    bad input."""
    now = now or utcnow()
    if len(request.reason) > MAX_REASON:
        raise CallbackError("reason", f"at most {MAX_REASON} characters")
    if len(request.instructions) > MAX_INSTRUCTIONS:
        raise CallbackError("instructions", f"at most {MAX_INSTRUCTIONS} characters")
    with session_scope(db) as session:
        call = session.get(Call, request.call_id)
        if call is None or call.organization_id != request.organization_id:
            raise LookupError(f"call {request.call_id} not found")
        raw = request.to_number or other_party(call)
        if not raw:
            raise CallbackError("to_number", "the call has no number to call back; give one")
        number = e164("to_number", raw)
        campaign = session.get(Campaign, call.campaign_id) if call.campaign_id else None
        lead = session.get(Lead, call.lead_id) if call.lead_id else None
        if isinstance(request.when, datetime):
            at = request.when if request.when.tzinfo else request.when.replace(tzinfo=UTC)
        else:
            zone_name = (lead.timezone if lead is not None and lead.timezone else None)
            tz = ZoneInfo(zone_name) if zone_name else number_zone(
                number, campaign.timezone if campaign is not None else "UTC")
            at = callback_time(request.when, now, tz, field=when_field)
        at = check_time(at.astimezone(UTC), now, when_field)
        row = ScheduledCallback(
            organization_id=request.organization_id, campaign_id=call.campaign_id,
            lead_id=call.lead_id, call_id=call.id, to_number=number, scheduled_at=at, dial_at=at,
            reason=request.reason, instructions=request.instructions,
            requested_by=request.requested_by, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return row_dict(row)


def opt_out(db: SqlEngine, organization_id: str, call_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Blocking: the call's other party goes on the do-not-call list, its leads become
    do_not_call and its scheduled callbacks are canceled; what was done."""
    return opting_out(db, organization_id, call_id, now)[0]


def opting_out(db: SqlEngine, organization_id: str, call_id: str,
               now: datetime | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`opt_out`: what was done, and the rows of the callbacks it canceled."""
    now = now or utcnow()
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None or call.organization_id != organization_id:
            raise LookupError(f"call {call_id} not found")
        number = e164("number", other_party(call))
        listed = session.exec(select(DoNotCall).where(
            DoNotCall.organization_id == organization_id, DoNotCall.number == number)).first()
        if listed is None:
            session.add(DoNotCall(organization_id=organization_id, number=number,
                                  reason=OPT_OUT_REASON, source="opt_out", created_at=now,
                                  updated_at=now))
        leads = 0
        if call.lead_id is not None:  # the call's own lead, whatever its state (it is calling)
            lead = session.get(Lead, call.lead_id)
            if lead is not None and lead.status != "do_not_call":
                lead.status, lead.outcome, lead.next_attempt_at = "do_not_call", "do_not_call", None
                lead.updated_at = now
                leads += 1
        blocked, canceled = block_numbers(session, organization_id, [number], now)
        return ({"number": number, "added": listed is None, "leads_blocked": leads + blocked,
                 "callbacks_canceled": len(canceled)}, canceled)


def callback_note(variables: Mapping[str, Any]) -> str | None:
    """The hidden note a callback's agent starts with (its reason and instructions), or None for
    a call that is not a scheduled callback."""
    reason = str(variables.get("callback_reason") or "").strip()
    instructions = str(variables.get("callback_instructions") or "").strip()
    if not (reason or instructions) or not variables.get("callback_id"):
        return None
    parts = ["This call is a callback the person asked for."]
    if reason:
        parts.append(f"Reason: {reason}.")
    if instructions:
        parts.append(f"Instructions: {instructions}")
    return " ".join(parts)


class EngineTools:
    """Runs the engine's own tools for one call (off the event loop)."""

    def __init__(self, db: SqlEngine, organization_id: str, call_id: str,
                 bus: EventBus | None = None) -> None:
        self.db = db
        self.organization_id = organization_id
        self.call_id = call_id
        self.bus = bus  # told of each callback scheduled or canceled (``callback.changed``)

    def _changed(self, rows: list[dict[str, Any]]) -> None:
        if self.bus is not None:
            for row in rows:
                self.bus.emit(CallbackChanged.of(row))

    async def run(self, call: ToolCall) -> dict[str, Any]:
        """The tool's answer; raises CallbackError / LookupError when it cannot be done."""
        arguments = dict(call.arguments)
        if call.type == SCHEDULE_CALLBACK or call.name == SCHEDULE_CALLBACK:
            request = CallbackRequest(
                organization_id=self.organization_id, call_id=self.call_id,
                when=str(arguments.get("when") or ""), reason=str(arguments.get("reason") or ""),
                instructions=str(arguments.get("instructions") or ""))
            row = await asyncio.to_thread(schedule_callback, self.db, request)
            self._changed([row])
            return {"ok": True, "callback_id": row["id"], "scheduled_at": row["scheduled_at"],
                    "to_number": row["to_number"]}
        if call.type == OPT_OUT or call.name == OPT_OUT:
            done, canceled = await asyncio.to_thread(opting_out, self.db, self.organization_id,
                                                     self.call_id)
            self._changed(canceled)
            return {"ok": True, **done}
        raise LookupError(f"{call.name} is not one of the engine's tools")


__all__ = [
    "CALLBACK_VARIABLES",
    "OPT_OUT_CONFIRMATION",
    "OPT_OUT_REASON",
    "CallbackError",
    "CallbackRequest",
    "EngineTools",
    "callback_note",
    "callback_time",
    "check_time",
    "e164",
    "number_zone",
    "opt_out",
    "opting_out",
    "other_party",
    "schedule_callback",
]
