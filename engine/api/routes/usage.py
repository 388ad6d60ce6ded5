"""``/v1/usage``: metered quantities and costs, summed by day and kind, and the raw log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import page_of
from engine.api.routes.params import known_query, time_param
from engine.calls.costs import CURRENCY, price_unit
from engine.calls.serialize import record
from engine.store import UsageLog

router = APIRouter(tags=["usage"])

Auth = Annotated[Principal, Depends(principal_from)]
USAGE = UsageLog.__table__  # type: ignore[attr-defined]


def _where(principal: Principal, since: str | None, until: str | None) -> list[Any]:
    where: list[Any] = [USAGE.c.organization_id == principal.organization_id]
    start = time_param("since", since)
    end = time_param("until", until, end=True)
    if start is not None:
        where.append(USAGE.c.occurred_at >= start)
    if end is not None:
        where.append(USAGE.c.occurred_at < end)
    return where


@router.get("/v1/usage", summary="Usage and cost by day and kind, with totals",
            dependencies=[Depends(known_query)])
def usage_summary(
    request: Request, principal: Auth,
    since: Annotated[str | None, Query(description="from this time or date (ISO 8601)")] = None,
    until: Annotated[str | None, Query(description="before this time, or through this date")] = None,
) -> dict[str, Any]:
    where = _where(principal, since, until)
    day = func.substr(func.coalesce(USAGE.c.occurred_at, USAGE.c.created_at), 1, 10).label("day")
    stmt = (
        select(day, USAGE.c.kind, USAGE.c.unit, func.sum(USAGE.c.quantity).label("quantity"),
               func.sum(USAGE.c.cost_micro_usd).label("cost"))
        .where(*where)
        .group_by(day, USAGE.c.kind, USAGE.c.unit)
        .order_by(day, USAGE.c.kind, USAGE.c.unit)
    )
    days: list[dict[str, Any]] = []
    totals: dict[str, Any] = {}
    grand = 0
    with request.app.state.db.connect() as conn:
        for row in conn.execute(stmt):
            quantity = float(row.quantity or 0.0)
            cost = int(row.cost or 0)
            days.append({"day": row.day, "kind": row.kind, "quantity": quantity, "unit": row.unit,
                         "cost_micro_usd": cost, "rate_unit": price_unit(row.kind)})
            total = totals.setdefault(row.kind, {"quantity": 0.0, "unit": row.unit, "cost_micro_usd": 0,
                                                 "rate_unit": price_unit(row.kind)})
            if total["unit"] == row.unit:
                total["quantity"] += quantity
            total["cost_micro_usd"] += cost
            grand += cost
    return {"days": days, "totals": {**totals, "cost_micro_usd": grand}, "currency": CURRENCY}


@router.get("/v1/usage/logs", summary="The usage log, newest first",
            dependencies=[Depends(known_query)])
def usage_logs(
    request: Request, principal: Auth,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    sort_order: Literal["asc", "desc"] = "desc",
    kind: Literal["stt", "tts", "llm", "telephony"] | None = None,
    call_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    where = _where(principal, since, until)
    if kind is not None:
        where.append(USAGE.c.kind == kind)
    if call_id is not None:
        where.append(USAGE.c.call_id == call_id)
    with Session(request.app.state.db) as session:
        total = int(session.execute(select(func.count()).select_from(USAGE).where(*where)).scalar_one())
        order = (UsageLog.occurred_at.desc(), UsageLog.id.desc()) if sort_order == "desc" else (  # type: ignore[union-attr,attr-defined]
            UsageLog.occurred_at.asc(), UsageLog.id.asc())  # type: ignore[union-attr,attr-defined]
        rows = session.execute(
            select(UsageLog).where(*where).order_by(*order).offset((page - 1) * limit).limit(limit)
        ).scalars().all()
        items = [{**record(r), "currency": CURRENCY, "rate_unit": price_unit(r.kind)} for r in rows]
        return {**page_of(items, page, limit, total), "currency": CURRENCY}


__all__ = ["router"]
