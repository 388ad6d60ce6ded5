"""Organizations, console users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from engine.store.base import Record
from engine.store.timeutil import utcnow
from engine.store.types import UTCDateTime, new_id


class Organization(SQLModel, table=True):
    """A tenant. Child organizations point at their parent."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    parent_id: str | None = Field(default=None, index=True, max_length=36)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class User(Record, table=True):
    """A console user: an admin, a supervisor or a human agent who takes transfers."""

    email: str = Field(max_length=320, index=True)
    display_name: str = Field(max_length=200)
    role: str = Field(default="agent", max_length=20)  # admin | supervisor | agent
    presence: str = Field(default="offline", max_length=20)  # available | busy | away | offline
    extension: str | None = Field(default=None, max_length=32)


class ApiKey(Record, table=True):
    """A bearer key. Only a prefix (for display) and a SHA-256 hash of the key are stored."""

    __tablename__ = "api_key"

    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: list[str] = Field(default_factory=lambda: ["admin"], sa_type=JSON)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProviderCredential(Record, table=True):
    """A bring-your-own-key record for an LLM or speech provider; the key is write-only."""

    __tablename__ = "provider_credential"

    provider: str = Field(max_length=50)  # openai-compatible, ...
    name: str = Field(default="", max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key: str = Field(default="", max_length=500)
    # the last check of the key against the provider (engine.api.provider_checks), if it ran
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    check_ok: bool | None = Field(default=None)
    check_message: str | None = Field(default=None, max_length=500)
