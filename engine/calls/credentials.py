"""The provider key an agent's brain names (``brain.credential_id``), read from the store.

The key travels only from here to the brain's ``Authorization`` header: it is never logged, and
``repr`` leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlmodel import Session

from engine.store import ProviderCredential


class CredentialError(LookupError):
    """The brain names a credential this organization does not have."""


@dataclass(frozen=True)
class ProviderKey:
    """A provider credential as a brain uses it."""

    credential_id: str
    api_key: str = field(repr=False)
    base_url: str | None = None


def provider_key(session: Session, organization_id: str,
                 brain: Mapping[str, Any]) -> ProviderKey | None:
    """The credential ``brain["credential_id"]`` names (None when it names none).

    Raises :class:`CredentialError` when it is missing or belongs to another organization."""
    ident = brain.get("credential_id")
    if not ident:
        return None
    row = session.get(ProviderCredential, str(ident))
    if row is None or row.organization_id != organization_id:
        raise CredentialError(f"no provider credential {ident} in this organization")
    return ProviderKey(row.id, row.api_key, row.base_url or None)


def load_provider_key(db: SqlEngine, organization_id: str,
                      brain: Mapping[str, Any]) -> ProviderKey | None:
    """Blocking: :func:`provider_key` in a session of its own."""
    with Session(db) as session:
        return provider_key(session, organization_id, brain)


__all__ = ["CredentialError", "ProviderKey", "load_provider_key", "provider_key"]
