"""``/v1/webhooks/{id}/deliveries`` (the delivery log, newest first) and ``/v1/webhooks/{id}/test``."""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signatures.

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import MAX_LIMIT, get_owned, page_of
from engine.api.errors import not_found
from engine.api.query import known_query
from engine.api.serialize import to_api
from engine.store import Webhook, WebhookDelivery

router = APIRouter(tags=["webhooks"])

Auth = Annotated[Principal, Depends(principal_from)]


@router.get("/v1/webhooks/{webhook_id}/deliveries", summary="A webhook's deliveries, newest first",
            dependencies=[Depends(known_query)])
def list_deliveries(
    request: Request,
    webhook_id: str,
    principal: Auth,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    status: Literal["pending", "delivered", "failed"] | None = None,
    event: str | None = None,
    call_id: str | None = None,
) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        get_owned(session, Webhook, webhook_id, principal, "webhook")
        stmt = select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id,  # type: ignore[arg-type]
            WebhookDelivery.organization_id == principal.organization_id,  # type: ignore[arg-type]
        )
        for column, value in (("status", status), ("event", event), ("call_id", call_id)):
            if value:
                stmt = stmt.where(getattr(WebhookDelivery, column) == value)
        total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = session.execute(
            stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())  # type: ignore[attr-defined]
            .offset((page - 1) * limit).limit(limit)
        ).scalars().all()
        return page_of([to_api(r) for r in rows], page, limit, total)


def _owned(request: Request, principal: Principal, webhook_id: str) -> None:
    with Session(request.app.state.db) as session:
        get_owned(session, Webhook, webhook_id, principal, "webhook")


def _delivery(request: Request, delivery_id: str) -> dict[str, Any] | None:
    with Session(request.app.state.db) as session:
        row = session.get(WebhookDelivery, delivery_id)
        return to_api(row) if row is not None else None


@router.post("/v1/webhooks/{webhook_id}/test",
             summary="Send a ping to the webhook now (one attempt) and answer the delivery")
async def test_webhook(request: Request, webhook_id: str, principal: Auth) -> dict[str, Any]:
    await asyncio.to_thread(_owned, request, principal, webhook_id)
    delivery = await request.app.state.engine.webhooks.send_test(principal.organization_id, webhook_id)
    if delivery is None:
        raise not_found("webhook", webhook_id)
    row = await asyncio.to_thread(_delivery, request, delivery.id)
    if row is None:
        raise not_found("webhook delivery", delivery.id)
    return row


__all__ = ["router"]
