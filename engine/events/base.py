"""What every event is: a frozen dataclass that knows its wire ``type``, its organization and
call, and builds its own ``data``; and ``parse_event``, which turns a wire dict back into one.

On the wire (``WS /v1/events``) an event is ``{"type", "organization_id", "call_id", "at",
"data"}``. A class lists the keys of its ``data`` as its fields (a field's ``wire`` metadata
names a key that differs from the field); the keys it does not know travel in ``extra``, so an
event read from a newer engine loses nothing. A type this version does not know at all parses
into :class:`UnknownEvent`.

A type that adds no field of its own is a plain subclass with ``__slots__ = ()`` rather than
another ``@dataclass``: making a dataclass costs ~0.6 ms at import (measured), and the console
imports every event type as it starts.

This module imports nothing of the engine: the console imports it through ``engine.client``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

Record = dict[str, Any]  # a JSON object as the API shows it
Wire = dict[str, Any]  # an event as ``WS /v1/events`` sends it

ENVELOPE = frozenset({"organization_id", "call_id", "at", "extra"})  # the fields outside ``data``

E = TypeVar("E", bound="Event")


class MissingField(ValueError):
    """A wire event of a known type whose ``data`` lacks a key the type requires."""


def iso(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (``2026-11-22T05:31:56.123456Z``), as the API writes times;
    a string is taken as already written (the same format as ``engine.store.timeutil.iso``)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The time now as an event's ``at``."""
    return iso(datetime.now(UTC)) or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """The envelope every event has. ``at`` is stamped by the bus when the event is sent (so it
    does not take part in comparisons); ``extra`` holds the ``data`` keys the class does not
    name."""

    type: ClassVar[str] = ""
    # how the class carries ``data``; set by ``@registered`` from the dataclass fields
    _fields: ClassVar[tuple[tuple[str, str, bool], ...]] = ()  # (field, wire key, required)
    _known: ClassVar[frozenset[str]] = frozenset()  # wire keys read into fields or dropped
    # ``data`` repeats the envelope's ``call_id`` (or ``organization_id``) for these types
    call_id_in_data: ClassVar[bool] = False
    organization_id_in_data: ClassVar[bool] = False
    constants: ClassVar[tuple[tuple[str, Any], ...]] = ()  # keys of fixed value in ``data``
    derived: ClassVar[tuple[str, ...]] = ()  # keys ``payload()`` computes from the fields

    organization_id: str = ""
    call_id: str | None = None
    at: str | None = field(default=None, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict)

    # -- to the wire --------------------------------------------------------------------------

    def payload(self) -> Record:
        """The event's ``data`` as it goes on the wire."""
        data: Record = dict(self.extra) if self.extra else {}
        if self.organization_id_in_data:
            data["organization_id"] = self.organization_id
        if self.call_id_in_data:
            data["call_id"] = self.call_id
        for name, key, _ in self._fields:
            data[key] = getattr(self, name)
        for key, value in self.constants:
            data[key] = value
        return data

    def to_wire(self, at: str | None = None) -> Wire:
        """The whole event as ``WS /v1/events`` sends it; ``at`` (else the event's own)."""
        return {"type": self.type, "organization_id": self.organization_id,
                "call_id": self.call_id, "at": at or self.at, "data": self.payload()}

    # -- from the wire ------------------------------------------------------------------------

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        """The event of a wire dict of this type; :class:`MissingField` when ``data`` lacks a
        key the type requires. Values are taken as the engine sent them (JSON types)."""
        data = wire.get("data")
        if not isinstance(data, Mapping):
            data = {}
        call_id = wire.get("call_id")
        if call_id is None and cls.call_id_in_data:
            call_id = data.get("call_id")
        values = cls._read(data)
        return cls(organization_id=wire.get("organization_id") or "", call_id=call_id,
                   at=wire.get("at"), **values)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments (fields and ``extra``) of the event that carries ``data``."""
        values: dict[str, Any] = {}
        for name, key, required in cls._fields:
            if key in data:
                values[name] = data[key]
            elif required:
                raise MissingField(f"{cls.type}: data has no {key!r}")
        known = cls._known
        if len(data) > len(values):
            extra = {key: value for key, value in data.items() if key not in known}
            if extra:
                values["extra"] = extra
        return values


REGISTRY: dict[str, type[Event]] = {}  # wire type -> class


def registered(cls: type[E]) -> type[E]:
    """Class decorator (outside ``@dataclass``): reads the class's ``data`` fields and files it
    under its wire ``type`` for :func:`parse_event`."""
    fields = tuple(
        (f.name, str(f.metadata.get("wire", f.name)),
         f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls) if f.name not in ENVELOPE)
    cls._fields = fields
    known = {key for _, key, _ in fields} | {key for key, _ in cls.constants} | set(cls.derived)
    if cls.call_id_in_data:
        known.add("call_id")
    if cls.organization_id_in_data:
        known.add("organization_id")
    cls._known = frozenset(known)
    if cls.type:
        if cls.type in REGISTRY:
            raise TypeError(f"two event classes for {cls.type!r}: {REGISTRY[cls.type].__name__} "
                            f"and {cls.__name__}")
        REGISTRY[cls.type] = cls
    return cls


def wire_name(name: str) -> dict[str, Any]:
    """Field metadata: the field travels under another key (``call.control``'s ``type``)."""
    return {"wire": name}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An event of a type this version does not know (a newer engine's), or of a known type
    without the data the type requires: kept whole, so it can be shown or passed on."""

    name: str
    data: Record = field(default_factory=dict)

    def payload(self) -> Record:
        return dict(self.data)

    def to_wire(self, at: str | None = None) -> Wire:
        return {"type": self.name, "organization_id": self.organization_id,
                "call_id": self.call_id, "at": at or self.at, "data": self.payload()}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        data = wire.get("data")
        return cls(name=str(wire.get("type") or ""), organization_id=wire.get("organization_id") or "",
                   call_id=wire.get("call_id"), at=wire.get("at"),
                   data=dict(data) if isinstance(data, Mapping) else {})


def parse_event(wire: Mapping[str, Any]) -> Event:
    """The typed event of a wire dict; :class:`UnknownEvent` for a type this version does not
    know, or one whose ``data`` lacks what the type requires."""
    name = wire.get("type")
    cls = REGISTRY.get(name) if isinstance(name, str) else None
    if cls is not None:
        try:
            return cls.from_wire(wire)
        except MissingField:
            pass
    return UnknownEvent.from_wire(wire)


__all__ = ["REGISTRY", "Event", "MissingField", "Record", "UnknownEvent", "Wire", "iso", "now",
           "parse_event", "registered", "wire_name"]
