"""Where a call goes: the route an inbound call's dialled number resolves to (its organization,
number, trunk and agent, with an assistant-request answer applied), a web call's agent, and the
dial plan of a queued outbound call (its number's trunk and its agent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Table, bindparam
from sqlalchemy import select as core_select

from engine.sip.auth import Credentials
from engine.store import Agent, Call, PhoneNumber, SipTrunk, session_scope


@dataclass
class Route:
    """What the dialled number (or a web call's agent) resolved to."""

    organization_id: str
    phone_number_id: str
    number: str
    agent_id: str | None
    agent_name: str = ""
    first_message: str = ""
    voice: str | None = None
    rate_wpm: int | None = None
    sip_trunk_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # the agent's dynamic variables
    overrides: dict[str, Any] = field(default_factory=dict)  # agent fields for this call only
    test: bool = False  # a test call: its usage is not counted
    # the routing rule an inbound call matched: the dialled phone number (its agent takes the
    # call), and what chose the agent (the number, or the assistant-request webhook's answer)
    rule_id: str | None = None
    routed_by: str | None = None

    @property
    def rule_metadata(self) -> dict[str, Any]:
        """What an inbound call's metadata records of the rule it matched (``rule_id``)."""
        if self.rule_id is None:
            return {}
        return {"rule_id": self.rule_id, "routed_by": self.routed_by or "phone_number"}


def agent_route(db: SqlEngine, organization_id: str, agent_id: str,
                variables: dict[str, Any] | None = None) -> Route:
    """Blocking: a web call's route, straight to an agent of the organization (LookupError when
    there is no such agent)."""
    with session_scope(db) as session:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.organization_id != organization_id:
            raise LookupError(f"agent {agent_id} not found")
        tts = agent.tts or {}
        return Route(organization_id=organization_id, phone_number_id="", number="",
                     agent_id=agent.id, agent_name=agent.name, first_message=agent.first_message,
                     voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None,
                     variables=dict(variables or {}))


TEST_CALL_PREFIX = "test-"  # the Request-URI user of a simulated caller placing a test call


def named_test_call(user: str) -> str | None:
    """The stored test call a Request-URI user part names (``test-<call id>``), if it names one."""
    if user.startswith(TEST_CALL_PREFIX) and len(user) > len(TEST_CALL_PREFIX):
        return user[len(TEST_CALL_PREFIX):]
    return None


def queued_test_route(db: SqlEngine, call_id: str) -> Route | None:
    """Blocking: the route of a queued test call (its agent, number and variables), or None when
    no such call waits (unknown, not a test call, or already placed)."""
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None or not call.is_test or call.status != "queued" or call.agent_id is None:
            return None
        organization_id, agent_id = call.organization_id, call.agent_id
        number, variables = call.to_number, dict(call.dynamic_variables or {})
        number_id = call.phone_number_id or ""
    try:
        route = agent_route(db, organization_id, agent_id, variables)
    except LookupError:
        return None
    route.number, route.phone_number_id, route.test = number, number_id, True
    return route


_NUMBERS: Table = PhoneNumber.__table__  # type: ignore[attr-defined]
_AGENTS: Table = Agent.__table__  # type: ignore[attr-defined]
_ROUTE = (
    core_select(_NUMBERS.c.organization_id, _NUMBERS.c.id, _NUMBERS.c.number,
                _NUMBERS.c.sip_trunk_id, _AGENTS.c.id.label("agent_id"), _AGENTS.c.name,
                _AGENTS.c.first_message, _AGENTS.c.tts)
    .select_from(_NUMBERS.outerjoin(_AGENTS, _AGENTS.c.id == _NUMBERS.c.agent_id))
    .where(_NUMBERS.c.number.in_(bindparam("numbers", expanding=True)))
    .limit(1)
)




def number_candidates(user: str) -> list[str]:
    """The stored forms a dialled user part may match: with and without the leading +."""
    bare = user.strip().lstrip("+")
    return [bare, f"+{bare}"] if bare else []


def lookup_route(db: SqlEngine, user: str) -> Route | None:
    """Blocking: the phone number (and its agent) that a Request-URI user part dials."""
    candidates = number_candidates(user)
    if not candidates:
        return None
    with db.connect() as conn:
        row = conn.execute(_ROUTE, {"numbers": candidates}).first()
    if row is None:
        return None
    tts = row.tts or {}
    return Route(
        organization_id=row.organization_id, phone_number_id=row.id, number=row.number,
        agent_id=row.agent_id, agent_name=row.name or "", first_message=row.first_message or "",
        voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None,
        sip_trunk_id=row.sip_trunk_id, rule_id=row.id, routed_by="phone_number",
    )


def apply_choice(db: SqlEngine, route: Route, choice: dict[str, Any]) -> None:
    """Blocking: an assistant-request answer applied to an inbound call's route: another agent
    (its name, greeting and voice), agent field overrides, dynamic variables."""
    agent_id = choice.get("agent_id")
    if agent_id and agent_id != route.agent_id:
        with session_scope(db) as session:
            agent = session.get(Agent, agent_id)
            if agent is not None:
                route.routed_by = "assistant_request"
                tts = agent.tts or {}
                route.agent_id, route.agent_name = agent.id, agent.name
                route.first_message = agent.first_message
                route.voice, route.rate_wpm = tts.get("voice") or None, tts.get("rate") or None
    overrides = dict(choice.get("overrides") or {})
    if overrides:
        route.overrides = overrides
        first_message = overrides.get("first_message")
        if isinstance(first_message, str):
            route.first_message = first_message
        voice = overrides.get("tts")
        if isinstance(voice, dict):
            route.voice = voice.get("voice") or route.voice
            route.rate_wpm = voice.get("rate") or route.rate_wpm
    variables = choice.get("dynamic_variables")
    if variables:
        route.variables = {**route.variables, **dict(variables)}


@dataclass
class DialPlan:
    """Where and how a queued call is dialled (read from its row, number and trunk)."""

    call_id: str
    organization_id: str
    to_number: str
    from_number: str
    host: str
    port: int
    transport: str = "UDP"
    username: str | None = None
    password: str | None = None
    realm: str | None = None
    caller_id: str | None = None
    ringing_timeout_s: float = 30.0
    agent_id: str | None = None  # the call row's agent: it talks with the callee
    agent_name: str = ""
    first_message: str = ""
    voice: str | None = None
    rate_wpm: int | None = None
    phone_number_id: str = ""
    sip_trunk_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # the row's (amd_mode, …)

    @property
    def route(self) -> Route:
        """The call's agent and number, as a route (what control and joins read)."""
        return Route(organization_id=self.organization_id, phone_number_id=self.phone_number_id,
                     number=self.from_number, agent_id=self.agent_id, agent_name=self.agent_name,
                     first_message=self.first_message, voice=self.voice, rate_wpm=self.rate_wpm,
                     sip_trunk_id=self.sip_trunk_id, variables=dict(self.variables))

    @property
    def target(self) -> str:
        return f"sip:{self.to_number}@{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials | None:
        if not self.username:
            return None
        return Credentials(self.username, self.password or "", self.realm)


class DialError(Exception):
    """A queued call that cannot be dialled (no such call, not queued, no trunk)."""


def load_dial_plan(db: SqlEngine, call_id: str) -> DialPlan:
    """Blocking: how to dial a stored queued outbound call, through its number's trunk, and
    the call's agent that talks with the callee."""
    with session_scope(db) as session:
        call = session.get(Call, call_id)
        if call is None:
            raise DialError(f"no call {call_id}")
        if call.status != "queued" or call.direction != "outbound":
            raise DialError(f"call {call_id} is {call.direction} {call.status}, not queued outbound")
        trunk_id = call.sip_trunk_id
        if trunk_id is None and call.phone_number_id is not None:
            number = session.get(PhoneNumber, call.phone_number_id)
            trunk_id = number.sip_trunk_id if number is not None else None
        trunk = session.get(SipTrunk, trunk_id) if trunk_id else None
        if trunk is None:
            raise DialError("no SIP trunk to dial through (give the number a trunk)")
        agent = session.get(Agent, call.agent_id) if call.agent_id else None
        tts = agent.tts if agent is not None else {}
        return DialPlan(
            call_id=call.id, organization_id=call.organization_id, to_number=call.to_number,
            from_number=call.from_number, host=trunk.host, port=trunk.port,
            transport=trunk.transport.upper(), username=trunk.username, password=trunk.password,
            realm=trunk.auth_realm, caller_id=trunk.caller_id or call.from_number or None,
            ringing_timeout_s=float(call.ringing_timeout_seconds or 30),
            agent_id=agent.id if agent is not None else None,
            agent_name=agent.name if agent is not None else "",
            first_message=agent.first_message if agent is not None else "",
            voice=tts.get("voice") or None, rate_wpm=tts.get("rate") or None,
            phone_number_id=call.phone_number_id or "", sip_trunk_id=trunk.id,
            variables=dict(call.dynamic_variables or {}), metadata=dict(call.metadata_ or {}))


__all__ = ["TEST_CALL_PREFIX", "DialError", "DialPlan", "Route", "agent_route", "apply_choice",
           "load_dial_plan", "lookup_route", "named_test_call", "number_candidates",
           "queued_test_route"]
