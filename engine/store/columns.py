"""Tables as plain dicts: attribute/column pairs and rows keyed the way the API shows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeGuard

from pydantic.fields import FieldInfo
from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from engine.store.timeutil import iso

_PAIRS: dict[type[SQLModel], list[tuple[str, str]]] = {}
_TABLES: dict[type[SQLModel], Table] = {}


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for Core statements and batched inserts (SQLModel sets
    ``__table__`` on the class without declaring it)."""
    table = _TABLES.get(model)
    if table is None:
        local = sa_inspect(model).mapper.local_table
        if not isinstance(local, Table):
            raise TypeError(f"{model.__name__} is not a table model")
        table = _TABLES[model] = local
    return table


def column_pairs(model: type[SQLModel]) -> list[tuple[str, str]]:
    """(attribute, column key) of every column of a table model; ``metadata_`` is ``metadata``."""
    pairs = _PAIRS.get(model)
    if pairs is None:
        pairs = [(a.key, a.columns[0].key) for a in sa_inspect(model).mapper.column_attrs]
        _PAIRS[model] = pairs
    return pairs


def default_factory(info: FieldInfo) -> Callable[[], Any] | None:
    """A field's default factory, or None when it has none (the tables' factories take no
    arguments: none of them needs the other fields' validated data)."""
    factory = info.default_factory
    if factory is None:
        return None
    if not _takes_no_data(factory, info):
        raise TypeError(f"a default factory taking the validated data is not supported: {factory!r}")
    return factory


def _takes_no_data(factory: Callable[[], Any] | Callable[[dict[str, Any]], Any],
                   info: FieldInfo) -> TypeGuard[Callable[[], Any]]:
    return not info.default_factory_takes_validated_data


def jsonable(value: Any) -> Any:
    """A column value as JSON shows it: times as ISO 8601 UTC with ``Z``."""
    return iso(value) if isinstance(value, datetime) else value


def row_dict(row: SQLModel) -> dict[str, Any]:
    """Every column of a row keyed by column name, times as ISO text."""
    return {key: jsonable(getattr(row, attr)) for attr, key in column_pairs(type(row))}
