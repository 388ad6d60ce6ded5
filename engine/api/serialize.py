"""Rows to API JSON: ISO times with Z, ``metadata_`` as ``metadata``, secrets never shown."""

from __future__ import annotations

from typing import Any

from sqlmodel import SQLModel

from engine.store.columns import column_pairs, jsonable

# Write-only fields: never returned; the API says only whether one is set.
SECRET_FIELDS = {"password", "secret", "api_key", "key_hash"}


def to_api(row: SQLModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One row as the API shows it."""
    out: dict[str, Any] = {}
    for attr, key in column_pairs(type(row)):
        if key in exclude:
            continue
        value = getattr(row, attr)
        if key in SECRET_FIELDS:
            if key != "key_hash":
                out[f"has_{key}"] = bool(value)
            continue
        out[key] = jsonable(value)
    return out
