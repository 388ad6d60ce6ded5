"""Bring-your-own-key credentials beyond their CRUD (``/v1/provider-credentials``, served by the
generic routes with :func:`validate`): the provider catalogue, each credential's key checked with
its provider as it is saved (and again on request), the last check shown with it
(``checked_at``, ``check_ok``, ``check_message``). The key itself is write-only.

The catalogue's route is included before the generic ones, whose ``/{item_id}`` would take
``providers`` for an id.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from engine.api.auth import Principal, principal_from
from engine.api.crud import emit, get_owned
from engine.api.errors import invalid
from engine.api.query import known_query
from engine.api.serialize import to_api
from engine.calls.providers import PROVIDERS, Provider, check_key
from engine.events import record_event
from engine.store import ProviderCredential
from engine.store.timeutil import utcnow

router = APIRouter(tags=["provider credentials"])

Auth = Annotated[Principal, Depends(principal_from)]
CHECKED_FIELDS = frozenset({"checked_at", "check_ok", "check_message"})  # read-only
KEY_FIELDS = ("provider", "base_url", "api_key")  # a change of one of them re-checks the key


@router.get("/v1/provider-credentials/providers", summary="The providers a credential may be for",
            description="Each provider with its fields (which are secret), its default base "
                        "URL, whether agents use its keys, and whether a key is checked on save.",
            dependencies=[Depends(known_query)])
def providers(principal: Auth) -> dict[str, Any]:
    return {"items": [p.view() for p in PROVIDERS.values()]}


def provider_of(name: Any) -> Provider:
    """The catalogue's provider ``name``, or a 422 naming ``provider``."""
    provider = PROVIDERS.get(str(name)) if name is not None else None
    if provider is None:
        raise invalid("provider", f"unknown provider {name!r}; one of {', '.join(PROVIDERS)} "
                                  "(GET /v1/provider-credentials/providers)")
    return provider


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("base_url", f"not an http(s) URL: {url!r}")


def checked(provider: Provider, base_url: str | None, api_key: str) -> dict[str, Any]:
    """The check's fields for the credential. Blocking: the provider is asked."""
    if provider.check_path is None:
        return {"checked_at": None, "check_ok": None, "check_message": None}
    if not base_url:
        return {"checked_at": None, "check_ok": None,
                "check_message": "not checked: the credential has no base_url"}
    result = check_key(provider, base_url, api_key)
    return {"checked_at": utcnow(), "check_ok": result.ok, "check_message": result.message}


def validate(session: Session, principal: Principal, values: dict[str, Any], row: Any) -> None:
    """A known provider, a base URL (its default when left out), and the key checked with the
    provider when the provider, the base URL or the key is new (the generic routes run this in
    the server's thread pool, off the event loop)."""
    provider = provider_of(values.get("provider", row.provider if row is not None else None))
    if row is None or "provider" in values or "base_url" in values:
        base_url = values.get("base_url") if "base_url" in values else (
            row.base_url if row is not None else None)
        if not base_url:
            values["base_url"] = provider.default_base_url  # None: the brain's base_url serves
        else:
            _check_base_url(str(base_url))
    if row is None or any(name in values for name in KEY_FIELDS):
        base_url = values.get("base_url") or (row.base_url if row is not None else None)
        api_key = values["api_key"] if "api_key" in values else (
            row.api_key if row is not None else "")
        values.update(checked(provider, base_url, str(api_key or "")))


@router.post("/v1/provider-credentials/{credential_id}/check",
             summary="Check a credential's key with its provider again")
async def check_again(request: Request, credential_id: str, principal: Auth) -> dict[str, Any]:
    db = request.app.state.db

    def work() -> dict[str, Any]:
        with Session(db, expire_on_commit=False) as session:
            row: ProviderCredential = get_owned(session, ProviderCredential, credential_id,
                                                principal, "provider credential")
            provider = provider_of(row.provider)
            for name, value in checked(provider, row.base_url, row.api_key).items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
            return to_api(row)

    data = await asyncio.to_thread(work)
    emit(request, record_event("provider_credential.updated",
                               organization_id=principal.organization_id, record=data))
    return data


__all__ = ["CHECKED_FIELDS", "checked", "provider_of", "providers", "router", "validate"]
