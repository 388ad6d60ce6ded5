"""Keyset cursors and the calls list's query helpers."""

from __future__ import annotations

import pytest

from engine.api.errors import ApiError
from engine.api.paging import Cursor
from engine.calls.listing import fts_query


@pytest.mark.parametrize("value", ["2026-03-02T09:00:00.000000Z", 42, None])
def test_cursor_round_trip(value: object) -> None:
    cursor = Cursor("ended_at", "desc", value, "b1c2")
    token = cursor.encode()
    assert "=" not in token and "/" not in token and "+" not in token
    assert Cursor.decode(token, "ended_at", "desc") == cursor


@pytest.mark.parametrize("token", ["", "%%%", "bm90IGpzb24", "eyJzIjoxfQ"])
def test_bad_cursors_are_422(token: str) -> None:
    with pytest.raises(ApiError) as err:
        Cursor.decode(token, "initiated_at", "desc")
    assert err.value.status == 422 and err.value.field == "cursor"


def test_cursor_for_another_sort_is_422() -> None:
    token = Cursor("initiated_at", "asc", None, "x").encode()
    with pytest.raises(ApiError) as err:
        Cursor.decode(token, "initiated_at", "desc")
    assert err.value.field == "cursor" and "sort" in err.value.message


def test_fts_query_quotes_every_word() -> None:
    assert fts_query("refund please") == '"refund" "please"*'
    assert fts_query('a" OR b* NEAR(c)') == '"a" "OR" "b" "NEAR" "c"*'
    assert fts_query("exact", prefix_last=False) == '"exact"'
    assert fts_query("!!! ---") is None
