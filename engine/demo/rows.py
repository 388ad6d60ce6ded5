"""Plain row dicts for Core inserts: every column of a table, defaults filled, ids deterministic."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from engine.store import default_factory, table_of

_COMMON = frozenset({"id", "organization_id", "created_at", "updated_at"})


class RowMaker:
    """Builds rows of one table keyed by column name (``metadata_`` becomes ``metadata``).

    Every row has every column, so one ``executemany`` takes them all; the defaults are the
    model's own, applied without per-row validation (fast enough for hundreds of thousands of
    rows).
    """

    def __init__(self, model: type[SQLModel]) -> None:
        self.table: Table = table_of(model)
        self._defaults: list[tuple[str, Callable[[], Any] | None, Any]] = []
        self._attr_to_column: dict[str, str] = {}
        for attr in sa_inspect(model).mapper.column_attrs:
            column = attr.columns[0].key
            self._attr_to_column[attr.key] = column
            if column in _COMMON:
                continue
            info = model.model_fields[attr.key]
            factory = default_factory(info)
            if factory is not None:
                self._defaults.append((column, factory, None))
            else:
                default = None if info.default is PydanticUndefined else info.default
                self._defaults.append((column, None, default))

    def __call__(self, organization_id: str, ident: str, at: datetime, **values: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column, factory, default in self._defaults:
            row[column] = factory() if factory is not None else default
        row.update(id=ident, organization_id=organization_id, created_at=at, updated_at=at)
        for key, value in values.items():
            row[self._attr_to_column.get(key, key)] = value
        return row


def make_ids(rng: random.Random) -> Callable[[], str]:
    """A source of UUID4 strings drawn from ``rng`` (the same seed gives the same ids)."""

    def next_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    return next_id


__all__ = ["RowMaker", "make_ids"]
