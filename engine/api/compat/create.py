"""A platform's new call, created by Switchboard's own ``POST /v1/calls`` logic.

The platform's request is mapped to Switchboard's ``CallCreate`` and handed to the core's
``create_call``, so validation, storage, events and dialling are the core's. A field the core
has no meaning for is kept in the call's ``metadata.compat``; as soon as ``CallCreate`` grows a
field of that name (``user_id``, ``direction``, ``tags``), the value goes there instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from engine.api.auth import Principal
from engine.api.compat.platform import Platform, core_model, refuse
from engine.api.routes.calls import CallCreate, create_call

DIRECTIONS = ("inbound", "outbound")


def core_fields() -> frozenset[str]:
    """The fields Switchboard's ``POST /v1/calls`` takes today."""
    return frozenset(CallCreate.model_fields)


def check_direction(direction: str | None, field: str) -> None:
    """An outbound call is what the core creates today; an inbound one is refused, naming the
    field, until ``CallCreate`` takes a direction."""
    if direction is None or direction == "outbound" or "direction" in core_fields():
        return
    if direction not in DIRECTIONS:
        raise refuse(field, f"expected one of {', '.join(DIRECTIONS)}, got {direction!r}")
    raise refuse(field, "Switchboard creates outbound calls through the API; an inbound call "
                         "is one that calls a Switchboard number (its record is made then)")


def create(request: Request, principal: Principal, platform: Platform, values: Mapping[str, Any],
           kept: Mapping[str, Any]) -> dict[str, Any]:
    """Create the call; answers its API v1 detail. ``values`` are ``CallCreate`` fields;
    ``kept`` are the platform's fields without a core meaning (None values are dropped)."""
    fields = core_fields()
    body = dict(values)
    rest: dict[str, Any] = {}
    for name, value in kept.items():
        if name in fields and value is not None:
            body[name] = value
        elif name != "direction":  # checked by check_direction: outbound, what the core makes
            rest[name] = value
    body["metadata"] = platform.stash(body.get("metadata") or {}, rest)
    request_body = core_model(CallCreate, body)
    return create_call(request, principal, request_body)


__all__ = ["check_direction", "core_fields", "create"]
