"""The demo organization's records: agents, tools, analysis templates, trunk, numbers, users,
campaigns and leads. Past calls refer to them (see engine.demo.calls)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table

from engine.demo import scripts
from engine.demo.people import person_name, unique_numbers
from engine.demo.rows import RowMaker
from engine.store import (
    Agent,
    AnalysisTemplate,
    Campaign,
    Lead,
    PhoneNumber,
    SipTrunk,
    ToolTemplate,
    User,
    table_of,
)
from engine.store.calling_hours import ZonedWindow

BILLING_DESK_NUMBER = "+14155550190"
TRUNK_HOST = "sip.carrier.example.net"  # .example is reserved: the demo never dials out for real
# A trunk to the engine's simulated people (engine.simulator.callee): who answers depends on the
# number dialled (engine.simulator.number_plan.demo_plan: +1 NPA 555-01XX). Its port is set
# when the engine starts them.
CALLEES_TRUNK = "Simulated people"
CALLEES_HOST = "127.0.0.1"
CALLEES_NUMBER = "+12025550100"  # the demo's caller ID towards them
PBX_DOMAIN = "pbx.northwind.example"

CUSTOMER_SERVICE_OUTCOMES = ["order_status_provided", "resolved", "transferred_to_human",
                             "callback_requested", "unresolved", "abandoned", "not_connected"]
APPOINTMENT_OUTCOMES = ["appointment_booked", "appointment_rescheduled", "appointment_confirmed",
                        "appointment_canceled", "no_availability", "not_interested",
                        "wrong_number", "abandoned", "not_connected"]


@dataclass
class DemoAgent:
    role: str  # orders | billing | appointments
    id: str
    name: str
    voice: str
    stt_engine: str
    stt_model: str
    analysis_template_id: str
    number_id: str = ""
    number: str = ""


@dataclass
class DemoLead:
    id: str
    campaign_id: str
    phone_number: str
    name: str
    variables: dict[str, Any]


@dataclass
class DemoCampaign:
    id: str
    agent_role: str
    number_id: str
    number: str
    status: str
    window: ZonedWindow
    max_concurrent: int
    max_attempts: int
    retry_delay_minutes: int
    started_at: datetime | None = None
    leads: list[DemoLead] = field(default_factory=list)

    @classmethod
    def of(cls, row: dict[str, Any], agent_role: str, number: str) -> DemoCampaign:
        """The handle past calls need, from the campaign's row."""
        window = ZonedWindow.of(row["timezone"], row["calling_days"], row["calling_hours_start"],
                                row["calling_hours_end"])
        return cls(row["id"], agent_role, row["phone_number_id"], number, row["status"], window,
                   row["max_concurrent"], row["max_attempts"], row["retry_delay_minutes"],
                   row.get("started_at"))


@dataclass
class Catalog:
    """Rows to insert (per table, in order) and the handles past calls need."""

    rows: dict[Table, list[dict[str, Any]]]
    agents: dict[str, DemoAgent]
    trunk_id: str
    users: list[dict[str, Any]]
    campaigns: list[DemoCampaign]
    numbers: list[dict[str, Any]]
    tool_ids: dict[str, str]


AGENT_SPECS: tuple[dict[str, Any], ...] = (
    {"role": "orders", "name": "Order status", "business": "Northwind Outfitters",
     "description": "Answers the main line: looks up orders and reads their status back.",
     "script": scripts.order_status_script, "voice": "en-us+f3", "rate": 170, "pitch": 55,
     "stt": ("whisper", "tiny.en"), "template": "customer_service",
     "tools": (scripts.ORDER_LOOKUP_TOOL, scripts.TRANSFER_TOOL, scripts.END_CALL_TOOL),
     "number": ("+14155550134", "Main line")},
    {"role": "billing", "name": "Billing", "business": "Northwind Outfitters",
     "description": "Answers common billing questions and hands disputes to the billing desk.",
     "script": scripts.billing_script, "voice": "en-gb-x-rp", "rate": 160, "pitch": 42,
     "stt": ("whisper", "tiny.en"), "template": "customer_service",
     "tools": (scripts.TRANSFER_TOOL, scripts.END_CALL_TOOL),
     "number": ("+14155550178", "Billing line")},
    {"role": "appointments", "name": "Appointments", "business": "Harbor Dental",
     "description": "Books, moves and cancels dental appointments; calls patients with reminders.",
     "script": scripts.appointments_script, "voice": "en-us+m3", "rate": 180, "pitch": 50,
     "stt": ("whisper", "tiny.en"), "template": "appointments",
     "tools": (scripts.END_CALL_TOOL,),
     "number": ("+12125550142", "Appointments line")},
)


def _tool_templates(make: RowMaker, org: str, new_id: Callable[[], str],
                    at: datetime) -> list[dict[str, Any]]:
    return [
        make(org, new_id(), at, name=scripts.ORDER_LOOKUP_TOOL, type="function",
             description="Looks an order up in the shop system by its number.",
             function={
                 "name": scripts.ORDER_LOOKUP_TOOL,
                 "description": "Find an order by number and return its status and delivery "
                                "details.",
                 "parameters": {
                     "type": "object",
                     "properties": {"order_number": {
                         "type": "string", "pattern": "^[0-9]{5,8}$",
                         "description": "The order number the caller read out, digits only."}},
                     "required": ["order_number"],
                 },
                 "url": "https://orders.northwind.example/api/lookup",
                 "headers": {"X-Api-Key": "demo-orders-key"},
                 "timeout_seconds": 4,
             }),
        make(org, new_id(), at, name=scripts.TRANSFER_TOOL, type="transfer_call",
             description="Hands the caller to a person at the billing desk.",
             transfer={
                 "destinations": [
                     {"to": f"sip:1001@{PBX_DOMAIN}", "label": "Marcus Bell (billing desk)"},
                     {"to": f"sip:1002@{PBX_DOMAIN}", "label": "Priya Raman (billing desk)"},
                     {"to": BILLING_DESK_NUMBER, "label": "Billing desk queue"},
                 ],
                 "kind": "warm",
                 "screening_prompt": "Summarise the caller's issue in one sentence for the desk "
                                     "before connecting them.",
                 "fallback": {"strategy": "take_message",
                              "message": "Everyone at the desk is busy. Please leave a message."},
             }),
        make(org, new_id(), at, name=scripts.END_CALL_TOOL, type="end_call",
             description="Ends the call after the goodbye.",
             function={"name": scripts.END_CALL_TOOL,
                       "description": "Hang up once the caller has nothing more to ask.",
                       "parameters": {"type": "object", "properties": {}}}),
    ]


def _analysis_templates(make: RowMaker, org: str, new_id: Callable[[], str],
                        at: datetime) -> dict[str, dict[str, Any]]:
    return {
        "customer_service": make(
            org, new_id(), at, name="Customer service call",
            summary_prompt="Summarise the call in two sentences: what the caller wanted and what "
                           "the agent did.",
            structured_data_schema={
                "type": "object",
                "properties": {
                    "order_number": {"type": "string"},
                    "order_status": {"type": "string"},
                    "issue_type": {"type": "string", "enum": [
                        "order_status", "address_change", "return", "billing_question",
                        "double_charge", "card_update", "refund", "dispute", "other"]},
                    "disputed_amount_usd": {"type": ["number", "null"]},
                    "follow_up_needed": {"type": "boolean"},
                },
                "required": ["issue_type", "follow_up_needed"],
            },
            outcomes=CUSTOMER_SERVICE_OUTCOMES,
            success_criteria="The caller's question was answered or the call reached a person.",
            sentiment_enabled=True),
        "appointments": make(
            org, new_id(), at, name="Appointment booking",
            summary_prompt="Summarise the call: who called, which appointment was booked, moved "
                           "or canceled, and when.",
            structured_data_schema={
                "type": "object",
                "properties": {
                    "customer_name": {"type": "string"},
                    "appointment_date": {"type": "string"},
                    "appointment_time": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
            outcomes=APPOINTMENT_OUTCOMES,
            success_criteria="An appointment was booked, confirmed, moved or canceled as asked.",
            sentiment_enabled=True),
    }


def build_catalog(org: str, rng: random.Random, new_id: Callable[[], str], now: datetime,
                  lead_count: int) -> Catalog:
    """Every record but the calls, ready for insertion."""
    at = now - timedelta(days=45)
    tools = _tool_templates(RowMaker(ToolTemplate), org, new_id, at)
    tool_ids = {row["name"]: row["id"] for row in tools}
    templates = _analysis_templates(RowMaker(AnalysisTemplate), org, new_id, at)

    trunk = RowMaker(SipTrunk)(
        org, new_id(), at, name="Carrier (primary)", host=TRUNK_HOST, port=5060, transport="udp",
        username="northwind-demo", password="demo-trunk-password", auth_realm="carrier.example.net",
        register_enabled=False, codecs=["PCMU", "PCMA", "G722", "telephone-event"],
        caller_id="+14155550134", allow_refer=True, registration_status="none")

    make_agent, make_number = RowMaker(Agent), RowMaker(PhoneNumber)
    agent_rows: list[dict[str, Any]] = []
    number_rows: list[dict[str, Any]] = []
    agents: dict[str, DemoAgent] = {}
    for spec in AGENT_SPECS:
        script = spec["script"]()
        template = templates[spec["template"]]
        stt_engine, stt_model = spec["stt"]
        row = make_agent(
            org, new_id(), at, name=spec["name"], description=spec["description"],
            language="en-US", first_message=script["greeting"],
            system_prompt=f"You are the {spec['name']} assistant of {spec['business']}. "
                          f"{spec['description']}",
            script=script, brain={"kind": "scripted"},
            stt={"engine": stt_engine, "model": stt_model, "language": "en-US"},
            tts={"engine": "espeak-ng", "voice": spec["voice"], "rate": spec["rate"],
                 "pitch": spec["pitch"]},
            tool_ids=[tool_ids[name] for name in spec["tools"]],
            analysis_template_id=template["id"], idle_timeout_seconds=8, idle_max_prompts=1,
            max_duration_seconds=900, interruptible=True,
            end_call_message=script["goodbye"]["say"],
            voicemail_message=f"Hi, this is {spec['business']} calling. We'll try you again later.",
            metadata_={"team": "customer care", "demo": True})
        agent_rows.append(row)
        number, label = spec["number"]
        number_row = make_number(org, new_id(), at, number=number, label=label,
                                 agent_id=row["id"], sip_trunk_id=trunk["id"])
        number_rows.append(number_row)
        agents[spec["role"]] = DemoAgent(spec["role"], row["id"], spec["name"], spec["voice"],
                                         stt_engine, stt_model, template["id"], number_row["id"],
                                         number)
    outbound = make_number(org, new_id(), at, number="+16465550199", label="Outbound campaigns",
                           agent_id=agents["appointments"].id, sip_trunk_id=trunk["id"])
    number_rows.append(outbound)

    make_user = RowMaker(User)
    users = [
        make_user(org, new_id(), at, email="dana.whitfield@northwind.example",
                  display_name="Dana Whitfield", role="supervisor", presence="available",
                  extension="1000"),
        make_user(org, new_id(), at, email="marcus.bell@northwind.example",
                  display_name="Marcus Bell", role="agent", presence="available", extension="1001"),
        make_user(org, new_id(), at, email="priya.raman@northwind.example",
                  display_name="Priya Raman", role="agent", presence="away", extension="1002"),
    ]

    callees = RowMaker(SipTrunk)(
        org, new_id(), at, name=CALLEES_TRUNK, host=CALLEES_HOST, port=5060, transport="udp",
        register_enabled=False, codecs=["G722", "PCMU", "PCMA", "telephone-event"],
        caller_id=CALLEES_NUMBER, allow_refer=False, registration_status="none")
    callees_number = make_number(org, new_id(), at, number=CALLEES_NUMBER,
                                 label="Test dialling (simulated people)",
                                 agent_id=agents["appointments"].id, sip_trunk_id=callees["id"])
    # the running campaign dials through the simulated people, so the demo shows its calls live
    campaigns, campaign_rows = _campaigns(org, new_id, now, agents, outbound, callees_number)
    lead_rows = _leads(org, rng, new_id, now, campaigns, lead_count,
                       avoid={row["number"] for row in number_rows} | {BILLING_DESK_NUMBER})

    rows: dict[Table, list[dict[str, Any]]] = {
        table_of(ToolTemplate): tools,
        table_of(AnalysisTemplate): list(templates.values()),
        table_of(SipTrunk): [trunk, callees],
        table_of(Agent): agent_rows,
        table_of(PhoneNumber): [*number_rows, callees_number],
        table_of(User): users,
        table_of(Campaign): campaign_rows,
        table_of(Lead): lead_rows,
    }
    return Catalog(rows, agents, trunk["id"], users, campaigns, number_rows, tool_ids)


def _campaigns(org: str, new_id: Callable[[], str], now: datetime,
               agents: dict[str, DemoAgent], outbound: dict[str, Any], dialling: dict[str, Any]
               ) -> tuple[list[DemoCampaign], list[dict[str, Any]]]:
    make = RowMaker(Campaign)
    started = now - timedelta(days=12)
    running = make(
        org, new_id(), now - timedelta(days=14), name="Check-up reminders",
        description="Reminds patients of their booked visit and offers to move it. In the demo "
                    "its patients are simulated people, so it calls around the clock.",
        agent_id=agents["appointments"].id, phone_number_id=dialling["id"], status="running",
        timezone="America/New_York", calling_hours_start="00:00", calling_hours_end="24:00",
        calling_days=[0, 1, 2, 3, 4, 5, 6], max_concurrent=2, calls_per_minute=4, max_attempts=3,
        retry_delay_minutes=120, retry_on=["no_answer", "busy", "failed"], started_at=started)
    draft = make(
        org, new_id(), now - timedelta(days=2), name="Annual plan renewal follow-up",
        description="Calls members whose plan renews next month to answer billing questions.",
        agent_id=agents["billing"].id, phone_number_id=outbound["id"], status="draft",
        timezone="America/Chicago", calling_hours_start="10:00", calling_hours_end="17:30",
        calling_days=[0, 1, 2, 3, 4], max_concurrent=2, max_attempts=2, retry_delay_minutes=240,
        retry_on=["no_answer", "busy"])
    campaigns = [DemoCampaign.of(running, "appointments", dialling["number"]),
                 DemoCampaign.of(draft, "billing", outbound["number"])]
    return campaigns, [running, draft]


def _leads(org: str, rng: random.Random, new_id: Callable[[], str], now: datetime,
           campaigns: list[DemoCampaign], count: int, avoid: set[str]) -> list[dict[str, Any]]:
    """Leads split 60/40 between the running and the draft campaign; statuses are filled in
    later from the calls actually placed to them."""
    make = RowMaker(Lead)
    rows: list[dict[str, Any]] = []
    numbers = unique_numbers(rng, count, avoid)
    running_count = round(count * 0.6)
    plans = ("Basic", "Plus", "Family")
    for index, phone in enumerate(numbers):
        campaign = campaigns[0] if index < running_count else campaigns[1]
        name = person_name(rng)
        first = name.split()[0]
        if campaign.agent_role == "appointments":
            visit = now + timedelta(days=rng.randint(2, 20))
            variables: dict[str, Any] = {
                "first_name": first,
                "appointment": f"{visit:%A}, {visit:%B} {visit.day} at "
                               f"{rng.choice(('9 AM', '10 AM', '11 AM', '2 PM', '3 PM'))}",
                "dentist": rng.choice(("Dr. Alvarez", "Dr. Chen", "Dr. Okoye")),
            }
        else:
            renews = now + timedelta(days=rng.randint(20, 50))
            variables = {"first_name": first, "plan": rng.choice(plans),
                         "renewal_date": renews.date().isoformat(),
                         "amount_due_usd": rng.choice((59, 89, 129))}
        created = now - timedelta(days=13, minutes=index)
        lead = make(org, new_id(), created, campaign_id=campaign.id, phone_number=phone, name=name,
                    variables=variables, status="pending", attempts=0)
        rows.append(lead)
        campaign.leads.append(DemoLead(lead["id"], campaign.id, phone, name, variables))
    return rows


__all__ = ["APPOINTMENT_OUTCOMES", "BILLING_DESK_NUMBER", "CUSTOMER_SERVICE_OUTCOMES", "Catalog",
           "DemoAgent", "DemoCampaign", "DemoLead", "build_catalog"]
