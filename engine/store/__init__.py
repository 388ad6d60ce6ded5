"""The store: sqlmodel tables over SQLite (WAL) or PostgreSQL, migrations, the batched writer.

The face is what the rest of the engine takes from the store: the tables and their value lists,
the database (engine, migrations, sessions), rows as plain dicts for Core work, the batched
writer, ids and UTC times."""

from engine.store.agents import Agent, AnalysisTemplate, ToolTemplate
from engine.store.analysis_runs import ANALYSIS_JOB_STATUSES, AnalysisJob, AnalysisRun
from engine.store.callbacks import CALLBACK_STATUSES, ScheduledCallback
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
from engine.store.campaigns import Campaign, Lead
from engine.store.columns import column_pairs, default_factory, jsonable, row_dict, table_of
from engine.store.db import make_engine, migrate, session_scope, sqlite_url
from engine.store.dnc import DoNotCall
from engine.store.org import ApiKey, Organization, ProviderCredential, User
from engine.store.rehearsals import REHEARSAL_STATUSES, Rehearsal
from engine.store.telephony import PhoneNumber, SipTrunk
from engine.store.timeutil import as_utc, iso, parse_iso, utcnow
from engine.store.types import new_id
from engine.store.webhooks import WEBHOOK_EVENTS, Webhook, WebhookDelivery
from engine.store.writer import BatchWriter, row_values

__all__ = [
    "ANALYSIS_JOB_STATUSES",
    "CALLBACK_STATUSES",
    "CALL_SORTS",
    "CALL_STATUSES",
    "LIVE_STATUSES",
    "REHEARSAL_STATUSES",
    "WEBHOOK_EVENTS",
    "Agent",
    "AnalysisJob",
    "AnalysisRun",
    "AnalysisTemplate",
    "ApiKey",
    "BatchWriter",
    "Call",
    "CallEvent",
    "Campaign",
    "DoNotCall",
    "Lead",
    "Organization",
    "PhoneNumber",
    "ProviderCredential",
    "Rehearsal",
    "ScheduledCallback",
    "SipTrunk",
    "ToolTemplate",
    "TranscriptEntry",
    "Transfer",
    "UsageLog",
    "User",
    "Webhook",
    "WebhookDelivery",
    "as_utc",
    "column_pairs",
    "default_factory",
    "iso",
    "jsonable",
    "make_engine",
    "migrate",
    "new_id",
    "parse_iso",
    "row_dict",
    "row_values",
    "session_scope",
    "sqlite_url",
    "table_of",
    "utcnow",
]
