"""Tables as plain dicts: attribute/column pairs and rows keyed the way the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from engine.store.timeutil import iso

_PAIRS: dict[type[SQLModel], list[tuple[str, str]]] = {}


def column_pairs(model: type[SQLModel]) -> list[tuple[str, str]]:
    """(attribute, column key) of every column of a table model; ``metadata_`` is ``metadata``."""
    pairs = _PAIRS.get(model)
    if pairs is None:
        pairs = [(a.key, a.columns[0].key) for a in sa_inspect(model).mapper.column_attrs]
        _PAIRS[model] = pairs
    return pairs


def jsonable(value: Any) -> Any:
    """A column value as JSON shows it: times as ISO 8601 UTC with ``Z``."""
    return iso(value) if isinstance(value, datetime) else value


def row_dict(row: SQLModel) -> dict[str, Any]:
    """Every column of a row keyed by column name, times as ISO text."""
    return {key: jsonable(getattr(row, attr)) for attr, key in column_pairs(type(row))}
