"""Rows to API JSON: ISO times with Z, ``metadata_`` as ``metadata``, secrets never shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from engine.store.timeutil import iso

# Write-only fields: never returned; the API says only whether one is set.
SECRET_FIELDS = {"password", "secret", "api_key", "key_hash"}

_ATTRS: dict[type[SQLModel], list[tuple[str, str]]] = {}


def _attrs(model: type[SQLModel]) -> list[tuple[str, str]]:
    pairs = _ATTRS.get(model)
    if pairs is None:
        pairs = [(a.key, a.columns[0].key) for a in sa_inspect(model).mapper.column_attrs]
        _ATTRS[model] = pairs
    return pairs


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return value


def to_api(row: SQLModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One row as the API shows it."""
    out: dict[str, Any] = {}
    for attr, key in _attrs(type(row)):
        if key in exclude:
            continue
        value = getattr(row, attr)
        if key in SECRET_FIELDS:
            if key != "key_hash":
                out[f"has_{key}"] = bool(value)
            continue
        out[key] = jsonable(value)
    return out
