"""A platform's new call, created by Switchboard's own ``POST /v1/calls`` logic.

The platform's request is mapped to Switchboard's ``CallCreate`` and handed to the core's
``create_call``, so validation, storage, events and dialling (or recording: an inbound call, a
web call) are the core's. Only the fields the core has no meaning for are kept, in the call's
``metadata.compat`` (Callab's company and workspace: the API key decides the organization).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from engine.api.auth import Principal
from engine.api.compat.platform import Platform, core_model
from engine.api.routes.calls import CallCreate, create_call


def create(request: Request, principal: Principal, platform: Platform, values: Mapping[str, Any],
           kept: Mapping[str, Any]) -> dict[str, Any]:
    """Create (or record) the call; answers its API v1 detail. ``values`` are ``CallCreate``
    fields; ``kept`` are the platform's fields without a core meaning (None values are dropped)."""
    body = dict(values)
    body["metadata"] = platform.stash(body.get("metadata") or {}, kept)
    return create_call(request, principal, core_model(CallCreate, body))


__all__ = ["create"]
