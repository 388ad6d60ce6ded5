"""The store: sqlmodel tables over SQLite (WAL) or PostgreSQL, migrations, the batched writer."""

from engine.store.agents import Agent, AnalysisTemplate, ToolTemplate
from engine.store.base import Record
from engine.store.calls import (
    CALL_SORTS,
    CALL_STATUSES,
    LIVE_STATUSES,
    Call,
    CallEvent,
    TranscriptEntry,
    Transfer,
    UsageLog,
)
from engine.store.campaigns import CAMPAIGN_STATUSES, LEAD_STATUSES, Campaign, Lead
from engine.store.columns import table_of
from engine.store.db import make_engine, migrate, session_scope, sqlite_url
from engine.store.org import ApiKey, Organization, ProviderCredential, User
from engine.store.telephony import PhoneNumber, SipTrunk
from engine.store.timeutil import iso, parse_iso, utcnow
from engine.store.webhooks import WEBHOOK_EVENTS, Webhook, WebhookDelivery

__all__ = [
    "CALL_SORTS",
    "CALL_STATUSES",
    "CAMPAIGN_STATUSES",
    "LEAD_STATUSES",
    "LIVE_STATUSES",
    "WEBHOOK_EVENTS",
    "Agent",
    "AnalysisTemplate",
    "ApiKey",
    "Call",
    "CallEvent",
    "Campaign",
    "Lead",
    "Organization",
    "PhoneNumber",
    "ProviderCredential",
    "Record",
    "SipTrunk",
    "ToolTemplate",
    "TranscriptEntry",
    "Transfer",
    "UsageLog",
    "User",
    "Webhook",
    "WebhookDelivery",
    "iso",
    "make_engine",
    "migrate",
    "parse_iso",
    "session_scope",
    "sqlite_url",
    "table_of",
    "utcnow",
]
