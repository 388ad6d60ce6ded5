"""Routers beyond the generic CRUD: calls, organizations, keys, usage, voices, events."""

from __future__ import annotations

from fastapi import APIRouter

from engine.api.routes import (
    call_records,
    callbacks,
    calls,
    campaign_actions,
    control,
    do_not_call,
    events,
    join,
    models,
    organizations,
    rehearsals,
    transfers,
    usage,
    voices,
    webhook_deliveries,
)

ROUTERS: list[APIRouter] = [
    calls.router,
    control.router,
    transfers.router,
    join.router,
    call_records.router,
    campaign_actions.router,
    callbacks.router,
    do_not_call.router,
    organizations.router,
    rehearsals.router,
    usage.router,
    voices.router,
    models.router,
    webhook_deliveries.router,
    events.router,
]
