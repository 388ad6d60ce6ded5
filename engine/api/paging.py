"""Keyset cursors: an opaque token for "the rows after this one" in a given sort.

A cursor is URL-safe base64 of ``{"s": sort column, "o": asc|desc, "v": last sort value, "id": last
id}``. Paging by cursor costs an index seek whatever the depth, where ``OFFSET`` walks every
skipped row.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from engine.api.errors import invalid


@dataclass(frozen=True)
class Cursor:
    """The position after which the next page starts."""

    sort_by: str
    order: str
    value: Any
    id: str

    def encode(self) -> str:
        raw = json.dumps({"s": self.sort_by, "o": self.order, "v": self.value, "id": self.id},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort_by: str, order: str, field: str = "cursor") -> Cursor:
        """Parse a token made for the same sort, or a 422 naming ``field``."""
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            cursor = cls(str(data["s"]), str(data["o"]), data["v"], str(data["id"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise invalid(field, "not a cursor this API issued") from None
        if (cursor.sort_by, cursor.order) != (sort_by, order):
            raise invalid(field, f"the cursor was made for sort_by={cursor.sort_by} "
                                 f"sort_order={cursor.order}; pass the same sort")
        if cursor.value is not None and not isinstance(cursor.value, str | int | float):
            raise invalid(field, "not a cursor this API issued")
        return cursor


__all__ = ["Cursor"]
