"""What the events socket itself says: the snapshot it opens with, and that a slow reader lost
events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.events.base import Event, Record, Wire, registered


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot(Event):
    """The first event of ``WS /v1/events``: without ``call_id``, the organization's live calls
    (``calls``, summary rows); with it, that call's detail with its transcript so far (``call``).
    On the wire it has neither ``organization_id`` nor ``at``."""

    type: ClassVar[str] = "snapshot"

    call: Record | None = None
    calls: list[Record] | None = None

    def payload(self) -> Record:
        data: Record = dict(self.extra) if self.extra else {}
        if self.call is not None:
            data["call"] = self.call
        if self.calls is not None:
            data["calls"] = self.calls
        return data

    def to_wire(self, at: str | None = None) -> Wire:
        return {"type": self.type, "call_id": self.call_id, "data": self.payload()}

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "call" and isinstance(value, dict):
                values["call"] = value
            elif key == "calls" and isinstance(value, list):
                values["calls"] = [c for c in value if isinstance(c, dict)]
            else:
                extra[key] = value
        if extra:
            values["extra"] = extra
        return values


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class StreamOverflow(Event):
    """This reader fell behind: its oldest events were dropped (``SUBSCRIBER_QUEUE``). A client
    that keeps state should reopen the socket for a fresh snapshot."""

    type: ClassVar[str] = "stream.overflow"

    def to_wire(self, at: str | None = None) -> Wire:
        return {"type": self.type, "data": self.payload()}


__all__ = ["Snapshot", "StreamOverflow"]
