"""The ordinary records served by the generic CRUD routes."""

from __future__ import annotations

from typing import Literal

from engine.api import validators
from engine.api.crud import Resource
from engine.api.routes import provider_credentials
from engine.api.routes.campaign_actions import campaign_record
from engine.campaigns import SETTABLE_LEAD_STATUSES
from engine.store import (
    Agent,
    AnalysisTemplate,
    Campaign,
    Lead,
    PhoneNumber,
    ProviderCredential,
    SipTrunk,
    ToolTemplate,
    User,
    Webhook,
)

RESOURCES: list[Resource] = [
    Resource(
        Agent, "/v1/agents", "agent", required=("name",),
        sorts=("created_at", "updated_at", "name"), default_sort="created_at",
        filters=("language",), validate=validators.agent, check_sent=validators.agent_sent,
    ),
    Resource(
        ToolTemplate, "/v1/tool-templates", "tool_template", required=("name",),
        overrides={"type": Literal["function", "end_call", "transfer_call", "schedule_callback",
                                   "opt_out"]},
        sorts=("created_at", "name"), filters=("type",), validate=validators.tool_template,
    ),
    Resource(
        AnalysisTemplate, "/v1/analysis-templates", "analysis_template", required=("name",),
        sorts=("created_at", "name"),
    ),
    Resource(
        PhoneNumber, "/v1/phone-numbers", "phone_number", required=("number",),
        sorts=("created_at", "number"), filters=("agent_id", "sip_trunk_id"),
        validate=validators.phone_number,
    ),
    Resource(
        SipTrunk, "/v1/sip-trunks", "sip_trunk", required=("name", "host"),
        read_only=frozenset({"registration_status"}),
        overrides={"transport": Literal["udp", "tcp"]},
        sorts=("created_at", "name"), validate=validators.sip_trunk,
    ),
    Resource(
        Campaign, "/v1/campaigns", "campaign", required=("name", "agent_id"),
        read_only=frozenset({"started_at", "completed_at", "status"}),
        overrides={"amd": Literal["off", "detect", "detect_and_leave_message"]},
        sorts=("created_at", "name", "status"), filters=("status", "agent_id"),
        validate=validators.campaign, serialize=campaign_record,
    ),
    Resource(
        Lead, "/v1/campaigns/{campaign_id}/leads", "lead", required=("phone_number",),
        read_only=frozenset({"attempts", "last_call_id", "next_attempt_at"}),
        # a person sets only these; the dialer's own (calling, completed, ...) are refused
        overrides={"status": Literal[SETTABLE_LEAD_STATUSES]},
        sorts=("created_at", "name", "status", "attempts"), filters=("status",),
        parent=("campaign_id", Campaign, "campaign_id"), validate=validators.lead,
        # removing a lead depends on its campaign's state: engine.api.routes.campaign_actions
        methods=("list", "create", "get", "update"),
    ),
    Resource(
        Webhook, "/v1/webhooks", "webhook", required=("url",),
        sorts=("created_at",), validate=validators.webhook,
    ),
    Resource(
        User, "/v1/users", "user", required=("email", "display_name"),
        overrides={"role": Literal["admin", "supervisor", "agent"],
                   "presence": Literal["available", "busy", "away", "offline"]},
        sorts=("created_at", "display_name"), filters=("role", "presence"),
    ),
    Resource(
        ProviderCredential, "/v1/provider-credentials", "provider_credential",
        required=("provider", "api_key"), sorts=("created_at", "provider"), filters=("provider",),
        read_only=provider_credentials.CHECKED_FIELDS, validate=provider_credentials.validate,
    ),
]
