"""The caller's organization, child organizations, and API keys.

Scopes: ``admin`` is required to change the organization, create child organizations and create or
revoke keys; any key may read. A key cannot revoke itself (409): the caller would lock itself out
with its next request; another admin key revokes it. The list marks the caller's own key
(``current``).
"""

# No ``from __future__ import annotations``: FastAPI reads the body models from the signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from engine.api.auth import Principal, display_prefix, hash_key, new_key, principal_from
from engine.api.errors import ApiError, invalid, not_found
from engine.api.query import known_query
from engine.api.serialize import to_api
from engine.store import ApiKey, Organization
from engine.store.timeutil import iso, utcnow

router = APIRouter(tags=["organization"])

Auth = Annotated[Principal, Depends(principal_from)]

KEY_SCOPES = ("admin", "read", "write", "supervisor")


def require_admin(principal: Principal, what: str) -> None:
    if not principal.is_admin:
        raise ApiError(403, f"{what} needs an API key with the admin scope", "FORBIDDEN")


def organization_view(session: Session, org: Organization) -> dict[str, Any]:
    children = session.execute(
        select(Organization).where(Organization.parent_id == org.id)  # type: ignore[arg-type]
        .order_by(Organization.created_at)  # type: ignore[arg-type]
    ).scalars().all()
    data = to_api(org)
    data["children"] = [{"id": c.id, "name": c.name, "created_at": iso(c.created_at)} for c in children]
    return data


def key_view(row: ApiKey, principal: Principal | None = None) -> dict[str, Any]:
    """A key as listed: never its hash, never the key itself. ``current``: the key ``principal``
    (the request) is authenticated with."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": list(row.scopes or []),
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "revoked": row.revoked_at is not None,
        "current": principal is not None and row.id == principal.key_id,
    }


def _own_org(session: Session, principal: Principal) -> Organization:
    org = session.get(Organization, principal.organization_id)
    if org is None:
        raise not_found("organization", principal.organization_id)
    return org


@router.get("/v1/organization", summary="The caller's organization")
def get_organization(request: Request, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        return organization_view(session, _own_org(session, principal))


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    settings: dict[str, Any] | None = None


@router.patch("/v1/organization", summary="Rename the organization or replace its settings")
def update_organization(request: Request, body: OrganizationUpdate, principal: Auth) -> dict[str, Any]:
    require_admin(principal, "changing the organization")
    values = body.model_dump(exclude_unset=True)
    with Session(request.app.state.db, expire_on_commit=False) as session:
        org = _own_org(session, principal)
        for name, value in values.items():
            if value is None:
                raise invalid(name, "may not be null")
            setattr(org, name, value)
        org.updated_at = utcnow()
        session.add(org)
        session.commit()
        return organization_view(session, org)


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]


def _issue_key(organization_id: str, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    key = new_key()
    row = ApiKey(organization_id=organization_id, name=name, prefix=display_prefix(key),
                 key_hash=hash_key(key), scopes=scopes)
    return row, key


@router.post("/v1/organizations", status_code=201,
             summary="Create a child organization with its first admin key (shown once)")
def create_organization(request: Request, body: OrganizationCreate, principal: Auth,
                        response: Response) -> dict[str, Any]:
    require_admin(principal, "creating an organization")
    with Session(request.app.state.db, expire_on_commit=False) as session:
        org = Organization(name=body.name, parent_id=principal.organization_id)
        session.add(org)
        row, key = _issue_key(org.id, "admin", ["admin"])
        session.add(row)
        session.commit()
        data = organization_view(session, org)
    response.status_code = 201
    return {
        "id": org.id,
        "organization": data,
        "api_key": {"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": row.scopes,
                    "key": key},
    }


@router.get("/v1/api-keys", summary="The organization's API keys (prefixes only)",
            dependencies=[Depends(known_query)])
def list_api_keys(request: Request, principal: Auth) -> dict[str, Any]:
    with Session(request.app.state.db) as session:
        rows = session.execute(
            select(ApiKey).where(ApiKey.organization_id == principal.organization_id)  # type: ignore[arg-type]
            .order_by(ApiKey.created_at)  # type: ignore[arg-type]
        ).scalars().all()
        return {"items": [key_view(r, principal) for r in rows]}


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: list[str] = Field(default_factory=lambda: ["admin"])


@router.post("/v1/api-keys", status_code=201, summary="Create an API key (the key is shown once)")
def create_api_key(request: Request, body: ApiKeyCreate, principal: Auth,
                   response: Response) -> dict[str, Any]:
    require_admin(principal, "creating API keys")
    if not body.scopes:
        raise invalid("scopes", "give at least one scope")
    for scope in body.scopes:
        if scope not in KEY_SCOPES:
            raise invalid("scopes", f"unknown scope {scope!r}; one of {', '.join(KEY_SCOPES)}")
    with Session(request.app.state.db, expire_on_commit=False) as session:
        row, key = _issue_key(principal.organization_id, body.name, list(dict.fromkeys(body.scopes)))
        session.add(row)
        session.commit()
    response.status_code = 201
    return {**key_view(row, principal), "key": key}


@router.delete("/v1/api-keys/{key_id}", summary="Revoke an API key; it stops working at once")
def revoke_api_key(request: Request, key_id: str, principal: Auth) -> dict[str, Any]:
    require_admin(principal, "revoking API keys")
    with Session(request.app.state.db, expire_on_commit=False) as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.organization_id != principal.organization_id:
            raise not_found("api key", key_id)
        if row.id == principal.key_id:
            raise ApiError(409, f"the API key “{row.name}” ({row.prefix}…) is the one this request "
                                "is authenticated with; revoke it with another admin key",
                           "CONFLICT")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.updated_at = row.revoked_at
            session.add(row)
            session.commit()
    request.app.state.verifier.forget()
    return {"success": True, "id": key_id, "revoked_at": iso(row.revoked_at)}


__all__ = ["router"]
