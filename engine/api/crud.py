"""Generic CRUD routes for the ordinary records (agents, numbers, trunks, templates, ...).

Each resource is described once (``Resource``); create and update schemas are derived from its
table so the API and the store cannot drift apart. Unknown fields are rejected with 422 naming
the field; rows are always scoped to the caller's organization.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the generated body models as
# real classes on the handlers' signatures.

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional

import annotated_types
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as PydField
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError, not_found
from engine.api.query import KnownQuery
from engine.api.serialize import to_api
from engine.events import Event, record_event
from engine.store.timeutil import utcnow

COMMON_FIELDS = frozenset({"id", "organization_id", "created_at", "updated_at"})
MAX_LIMIT = 100

Validator = Callable[[Session, Principal, dict[str, Any], SQLModel | None], None]
# Checks of the fields a request sent itself (a default the client left out is not checked):
# (the sent fields, the row being updated or None on create)
SentCheck = Callable[[dict[str, Any], SQLModel | None], None]


@dataclass
class Resource:
    """One REST collection over one table."""

    model: type[SQLModel]
    path: str  # e.g. "/v1/agents" or "/v1/campaigns/{campaign_id}/leads"
    name: str  # singular, for messages and event types: "agent"
    required: tuple[str, ...] = ()
    read_only: frozenset[str] = frozenset()
    overrides: dict[str, Any] = field(default_factory=dict)  # field -> annotation (enums)
    sorts: tuple[str, ...] = ("created_at",)
    default_sort: str = "created_at"
    filters: tuple[str, ...] = ()
    validate: Validator | None = None
    check_sent: SentCheck | None = None
    parent: tuple[str, type[SQLModel], str] | None = None  # (path param, parent model, fk column)
    methods: tuple[str, ...] = ("list", "create", "get", "update", "delete")
    serialize: Callable[[SQLModel], dict[str, Any]] = to_api

    @property
    def title(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


def _field_defs(res: Resource, *, for_update: bool) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for name, info in res.model.model_fields.items():
        if name in COMMON_FIELDS or name in res.read_only:
            continue
        if res.parent is not None and name == res.parent[2]:
            continue
        annotation = res.overrides.get(name, info.annotation)
        constraints = [m for m in info.metadata if isinstance(m, annotated_types.BaseMetadata)]
        if constraints:
            annotation = Annotated[annotation, *constraints]
        alias = name.rstrip("_") if name.endswith("_") else None
        if for_update:
            defs[name] = (Optional[annotation], PydField(default=None, alias=alias))  # noqa: UP045 - a runtime annotation
        elif name in res.required:
            defs[name] = (annotation, PydField(alias=alias))
        elif info.default_factory is not None:
            defs[name] = (annotation, PydField(default_factory=info.default_factory, alias=alias))
        else:
            defs[name] = (annotation, PydField(default=info.default, alias=alias))
    return defs


def body_models(res: Resource) -> tuple[type[BaseModel], type[BaseModel]]:
    config = ConfigDict(extra="forbid", populate_by_name=True)
    create = create_model(f"{res.title}Create", __config__=config, **_field_defs(res, for_update=False))
    update = create_model(f"{res.title}Update", __config__=config, **_field_defs(res, for_update=True))
    return create, update


def page_of(items: list[dict[str, Any]], page: int, limit: int, total: int) -> dict[str, Any]:
    return {
        "items": items,
        "pagination": {
            "page": page,
            "limit": limit,
            "total": total,
            "total_pages": (total + limit - 1) // limit if limit else 0,
        },
    }


def get_owned(session: Session, model: type[SQLModel], ident: str, principal: Principal,
              what: str) -> Any:
    """A row of the caller's organization, or 404 (another organization's rows do not exist)."""
    row = session.get(model, ident)
    if row is None or getattr(row, "organization_id", None) != principal.organization_id:
        raise not_found(what, ident)
    return row


def emit(request: Request, event: Event) -> None:
    """Send a typed event on the engine's bus."""
    request.app.state.bus.emit(event)


def router_for(res: Resource) -> APIRouter:
    router = APIRouter(tags=[res.name.replace("_", " ") + "s"])
    create_body, update_body = body_models(res)
    model = res.model
    sort_literal = Literal[res.sorts]  # type: ignore[name-defined]
    item_path = res.path + "/{item_id}"

    def parent_id(request: Request, session: Session, principal: Principal) -> str | None:
        if res.parent is None:
            return None
        param, parent_model, _ = res.parent
        ident = request.path_params[param]
        get_owned(session, parent_model, ident, principal, parent_model.__name__.lower())
        return str(ident)

    def scoped(request: Request, session: Session, principal: Principal) -> Any:
        stmt = select(model).where(model.organization_id == principal.organization_id)  # type: ignore[attr-defined]
        pid = parent_id(request, session, principal)
        if res.parent is not None:
            stmt = stmt.where(getattr(model, res.parent[2]) == pid)
        return stmt

    def load(request: Request, session: Session, principal: Principal, item_id: str) -> Any:
        row = get_owned(session, model, item_id, principal, res.name.replace("_", " "))
        if res.parent is not None:
            pid = parent_id(request, session, principal)
            if getattr(row, res.parent[2]) != pid:
                raise not_found(res.name.replace("_", " "), item_id)
        return row

    if "list" in res.methods:
        def list_items(
            request: Request,
            principal: Annotated[Principal, Depends(principal_from)],
            page: Annotated[int, Query(ge=1)] = 1,
            limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
            sort_by: sort_literal = res.default_sort,
            sort_order: Literal["asc", "desc"] = "desc",
        ) -> dict[str, Any]:
            engine = request.app.state.db
            with Session(engine) as session:
                stmt = scoped(request, session, principal)
                for name in res.filters:
                    value = request.query_params.get(name)
                    if value is not None:
                        stmt = stmt.where(getattr(model, name) == value)
                total = session.execute(
                    select(func.count()).select_from(stmt.subquery())
                ).scalar_one()
                column = getattr(model, sort_by)
                order = column.desc() if sort_order == "desc" else column.asc()
                tie = model.id.desc() if sort_order == "desc" else model.id.asc()  # type: ignore[attr-defined]
                rows = session.execute(
                    stmt.order_by(order, tie).offset((page - 1) * limit).limit(limit)
                ).scalars().all()
                return page_of([res.serialize(r) for r in rows], page, limit, total)

        router.add_api_route(res.path, list_items, methods=["GET"], summary=f"List {res.name}s",
                             dependencies=[Depends(KnownQuery(*res.filters))])

    if "create" in res.methods:
        def create_item(
            request: Request,
            body: create_body,  # type: ignore[valid-type]
            principal: Annotated[Principal, Depends(principal_from)],
            response: Response,
        ) -> dict[str, Any]:
            values = body.model_dump()  # type: ignore[attr-defined]
            if res.check_sent is not None:
                res.check_sent(body.model_dump(exclude_unset=True), None)  # type: ignore[attr-defined]
            with Session(request.app.state.db, expire_on_commit=False) as session:
                pid = parent_id(request, session, principal)
                if res.parent is not None:
                    values[res.parent[2]] = pid
                if res.validate is not None:
                    res.validate(session, principal, values, None)
                row = model(organization_id=principal.organization_id, **values)
                session.add(row)
                session.commit()
                data = res.serialize(row)
            response.status_code = 201
            emit(request, record_event(f"{res.name}.created",
                                       organization_id=principal.organization_id, record=data))
            return data

        router.add_api_route(res.path, create_item, methods=["POST"], status_code=201,
                             summary=f"Create a {res.name}")

    if "get" in res.methods:
        def get_item(
            request: Request, item_id: str,
            principal: Annotated[Principal, Depends(principal_from)],
        ) -> dict[str, Any]:
            with Session(request.app.state.db) as session:
                return res.serialize(load(request, session, principal, item_id))

        router.add_api_route(item_path, get_item, methods=["GET"], summary=f"Get a {res.name}")

    if "update" in res.methods:
        def update_item(
            request: Request, item_id: str,
            body: update_body,  # type: ignore[valid-type]
            principal: Annotated[Principal, Depends(principal_from)],
        ) -> dict[str, Any]:
            values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
            with Session(request.app.state.db, expire_on_commit=False) as session:
                row = load(request, session, principal, item_id)
                for name, value in values.items():
                    if value is None and not _nullable(model, name):
                        raise ApiError(422, f"{name.rstrip('_')}: may not be null",
                                       "VALIDATION_ERROR", name.rstrip("_"))
                if res.check_sent is not None:
                    res.check_sent(values, row)
                if res.validate is not None:
                    res.validate(session, principal, values, row)
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = utcnow()
                session.add(row)
                session.commit()
                data = res.serialize(row)
            emit(request, record_event(f"{res.name}.updated",
                                       organization_id=principal.organization_id, record=data))
            return data

        router.add_api_route(item_path, update_item, methods=["PATCH"], summary=f"Update a {res.name}")

    if "delete" in res.methods:
        def delete_item(
            request: Request, item_id: str,
            principal: Annotated[Principal, Depends(principal_from)],
        ) -> dict[str, Any]:
            with Session(request.app.state.db) as session:
                row = load(request, session, principal, item_id)
                session.delete(row)
                session.commit()
            emit(request, record_event(f"{res.name}.deleted",
                                       organization_id=principal.organization_id,
                                       record={"id": item_id}))
            return {"success": True, "id": item_id}

        router.add_api_route(item_path, delete_item, methods=["DELETE"], summary=f"Delete a {res.name}")

    return router


def _nullable(model: type[SQLModel], name: str) -> bool:
    info = model.model_fields[name]
    return not info.is_required() and info.default is None and info.default_factory is None
