"""Phone numbers and SIP trunks."""

from __future__ import annotations

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field

from engine.store.base import Record


class SipTrunk(Record, table=True):
    """A SIP peer to place and receive calls through. The password is write-only."""

    __tablename__ = "sip_trunk"

    name: str = Field(max_length=200)
    host: str = Field(max_length=255)
    port: int = Field(default=5060)
    transport: str = Field(default="udp", max_length=8)  # udp | tcp
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=200)
    auth_realm: str | None = Field(default=None, max_length=200)
    register_enabled: bool = Field(default=False)  # REGISTER with the trunk and keep it refreshed
    register_expires_seconds: int = Field(default=3600)
    codecs: list[str] = Field(default_factory=lambda: ["PCMU", "PCMA", "G722"], sa_type=JSON)
    caller_id: str | None = Field(default=None, max_length=64)
    allow_refer: bool = Field(default=True)
    registration_status: str = Field(default="none", max_length=20)  # none|registered|failed


class PhoneNumber(Record, table=True):
    """An E.164 number that routes inbound calls to an agent and places outbound calls."""

    __tablename__ = "phone_number"
    __table_args__ = (UniqueConstraint("organization_id", "number"),)

    number: str = Field(max_length=20, index=True)
    label: str = Field(default="", max_length=200)
    agent_id: str | None = Field(default=None, index=True, max_length=36)
    sip_trunk_id: str | None = Field(default=None, max_length=36)
