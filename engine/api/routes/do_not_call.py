"""``/v1/do-not-call``: the organization's numbers no campaign dials: list, add, remove, and a
CSV import. A number added here turns the leads waiting to call it into ``do_not_call`` and
cancels its scheduled callbacks."""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, insert, select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from engine.api import validators
from engine.api.auth import Principal, principal_from
from engine.api.crud import MAX_LIMIT, emit, page_of
from engine.api.errors import ApiError, invalid, not_found
from engine.api.query import known_query
from engine.api.serialize import to_api
from engine.events import CallbackChanged
from engine.store import DoNotCall
from engine.store.dnc import block_numbers
from engine.store.timeutil import utcnow
from engine.store.types import new_id

router = APIRouter(tags=["do not call"])

Auth = Annotated[Principal, Depends(principal_from)]

MAX_IMPORT_ROWS = 100_000
MAX_IMPORT_BYTES = 8 * 1024 * 1024
NUMBER_COLUMNS = ("number", "phone_number", "phone")
MAX_REASON = 500


class DncEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str
    reason: str = Field(default="", max_length=MAX_REASON)


@router.get("/v1/do-not-call", summary="The organization's do-not-call numbers, newest first",
            dependencies=[Depends(known_query)])
def list_do_not_call(request: Request, principal: Auth,
                     page: Annotated[int, Query(ge=1)] = 1,
                     limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
                     number: str | None = None) -> dict[str, Any]:
    where = [DoNotCall.organization_id == principal.organization_id]
    if number:
        where.append(DoNotCall.number == validators.e164("number", number))
    with Session(request.app.state.db) as session:
        total = session.execute(select(func.count()).select_from(DoNotCall).where(*where)).scalar_one()  # type: ignore[arg-type]
        rows = session.execute(select(DoNotCall).where(*where)  # type: ignore[arg-type]
                               .order_by(DoNotCall.created_at.desc(), DoNotCall.id)  # type: ignore[attr-defined]
                               .offset((page - 1) * limit).limit(limit)).scalars().all()
        return page_of([to_api(r) for r in rows], page, limit, total)


@router.post("/v1/do-not-call", status_code=201, summary="Add a number the campaigns must not call")
def add_do_not_call(request: Request, body: DncEntry, principal: Auth) -> dict[str, Any]:
    number = validators.e164("number", body.number)
    with Session(request.app.state.db, expire_on_commit=False) as session:
        clash = session.execute(select(DoNotCall).where(
            DoNotCall.organization_id == principal.organization_id,  # type: ignore[arg-type]
            DoNotCall.number == number)).scalars().first()  # type: ignore[arg-type]
        if clash is not None:
            raise ApiError(409, f"{number} is already on the do-not-call list", "CONFLICT", "number")
        row = DoNotCall(organization_id=principal.organization_id, number=number,
                        reason=body.reason, source="api")
        session.add(row)
        blocked, canceled = block_numbers(session, principal.organization_id, [number], utcnow())
        session.commit()
        answer = {**to_api(row), "leads_blocked": blocked, "callbacks_canceled": len(canceled)}
    for callback in canceled:
        emit(request, CallbackChanged.of(callback))
    return answer


@router.delete("/v1/do-not-call/{entry}",
               summary="Remove a number from the list (by the entry's id or the number)")
def delete_do_not_call(request: Request, entry: str, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        row = session.get(DoNotCall, entry)
        if row is None or row.organization_id != principal.organization_id:
            try:
                number = validators.e164("entry", entry)
            except ApiError:
                raise not_found("do-not-call entry", entry) from None
            row = session.execute(select(DoNotCall).where(
                DoNotCall.organization_id == principal.organization_id,  # type: ignore[arg-type]
                DoNotCall.number == number)).scalars().first()  # type: ignore[arg-type]
            if row is None:
                raise not_found("do-not-call entry", entry)
        ident = row.id
        session.delete(row)
        session.commit()
    return {"success": True, "id": ident}


def _import(db: Any, organization_id: str, text: str) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    column = next((header.index(n) for n in NUMBER_COLUMNS if n in header), None)
    if column is None:
        raise invalid("number", "the CSV's first row names its columns, one of them number "
                                f"(or {', '.join(NUMBER_COLUMNS[1:])}); reason is optional")
    reason_at = header.index("reason") if "reason" in header else None
    errors: list[dict[str, Any]] = []
    found: dict[str, str] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(found) + len(errors) >= MAX_IMPORT_ROWS:
            raise ApiError(413, f"more than {MAX_IMPORT_ROWS} rows in one import",
                           "PAYLOAD_TOO_LARGE", "number")
        raw = cells[column].strip() if column < len(cells) else ""
        try:
            number = validators.e164("number", raw)
        except ApiError as exc:
            errors.append({"row": line, "field": "number",
                           "error": exc.message.removeprefix("number: ") if raw else "required"})
            continue
        reason = cells[reason_at].strip() if reason_at is not None and reason_at < len(cells) else ""
        if len(reason) > MAX_REASON:
            errors.append({"row": line, "field": "reason",
                           "error": f"at most {MAX_REASON} characters"})
            continue
        found.setdefault(number, reason)
    now = utcnow()
    with Session(db) as session:
        present = set(session.execute(select(DoNotCall.number).where(  # type: ignore[call-overload]
            DoNotCall.organization_id == organization_id)).scalars())
        rows: list[dict[str, Any]] = [{"id": new_id(), "organization_id": organization_id, "created_at": now,
                 "updated_at": now, "number": n, "reason": r, "source": "import"}
                for n, r in found.items() if n not in present]
        if rows:
            session.execute(insert(DoNotCall.__table__), rows)  # type: ignore[attr-defined]
        blocked, canceled = block_numbers(session, organization_id,
                                          [str(r["number"]) for r in rows], now)
        session.commit()
    return {"imported": len(rows), "already_listed": len(found) - len(rows),
            "leads_blocked": blocked, "callbacks_canceled": canceled, "errors": errors}


@router.post("/v1/do-not-call/bulk",
             summary="Import numbers from CSV (a header row with number and, optionally, reason); "
                     "bad rows are reported by row and field, the rest imported")
async def import_do_not_call(request: Request, principal: Auth, response: Response) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise ApiError(413, f"{len(body)} bytes; a CSV import is at most {MAX_IMPORT_BYTES}",
                       "PAYLOAD_TOO_LARGE", "body")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid("body", "the CSV is not UTF-8 text") from None
    response.status_code = 200
    done = await run_in_threadpool(_import, request.app.state.db, principal.organization_id, text)
    canceled = done.pop("callbacks_canceled")
    for callback in canceled:
        emit(request, CallbackChanged.of(callback))
    return {**done, "callbacks_canceled": len(canceled)}


__all__ = ["router"]
