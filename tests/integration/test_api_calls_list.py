"""GET /v1/calls: pagination, every sort and filter, number substrings, full text, keyset cursors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.client import ApiError, Client
from engine.store import CALL_SORTS, iso
from tests.harness.tenants import SEED_CALLS, Tenant


async def walk_pages(api: Client, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        result = await api.list_calls(page=page, **params)
        items.extend(result.items)
        if page >= result.total_pages:
            return items
        page += 1


async def walk_cursor(api: Client, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    result = await api.list_calls(**params)
    items.extend(result.items)
    while result.next_cursor:
        result = await api.list_calls(cursor=result.next_cursor, **params)
        items.extend(result.items)
    return items


def expected_order(calls: list[dict[str, Any]], sort_by: str, order: str) -> list[str]:
    """SQLite's order: NULLs first ascending, last descending; ties broken by id."""
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[sort_by]
        value = iso(value) if hasattr(value, "tzinfo") else value
        return (value is not None, value if value is not None else 0, row["id"])
    ordered = sorted(calls, key=key, reverse=(order == "desc"))
    return [r["id"] for r in ordered]


async def test_default_page_and_shape(tapi: Client, tenant: Tenant) -> None:
    page = await tapi.list_calls()
    assert page.total == SEED_CALLS
    assert page.limit == 20 and page.page == 1 and page.total_pages == 3
    assert len(page.items) == 20
    assert page.next_cursor
    first = page.items[0]
    assert first["id"] == expected_order(tenant.calls, "initiated_at", "desc")[0]
    assert "transcript" not in first and "latency_turns" not in first
    names = {a["id"]: a["name"] for a in tenant.agents}
    assert first["agent_name"] == names[first["agent_id"]]
    assert first["initiated_at"].endswith("Z")
    last = await tapi.list_calls(page=3)
    assert len(last.items) == SEED_CALLS - 40 and last.next_cursor is None
    beyond = await tapi.list_calls(page=50)
    assert beyond.items == [] and beyond.total == SEED_CALLS


@pytest.mark.parametrize("sort_by", CALL_SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_each_sort_and_cursor_walk(tapi: Client, tenant: Tenant, sort_by: str, order: str) -> None:
    by_pages = await walk_pages(tapi, sort_by=sort_by, sort_order=order, limit=7)
    by_cursor = await walk_cursor(tapi, sort_by=sort_by, sort_order=order, limit=7)
    expected = expected_order(tenant.calls, sort_by, order)
    assert [c["id"] for c in by_pages] == expected
    assert [c["id"] for c in by_cursor] == expected


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"status": "completed"}, lambda c, t: c["status"] == "completed"),
        ({"status": "failed,busy"}, lambda c, t: c["status"] in ("failed", "busy")),
        ({"status": "live"}, lambda c, t: c["status"] == "in_progress"),
        ({"direction": "outbound"}, lambda c, t: c["direction"] == "outbound"),
        ({"agent_id": 1}, lambda c, t: c["agent_id"] == t.agents[1]["id"]),
        ({"campaign_id": 0}, lambda c, t: c["campaign_id"] == t.campaign["id"]),
        ({"phone_number_id": 1}, lambda c, t: c["phone_number_id"] == t.numbers[1]["id"]),
        ({"since": "2026-03-02T20:00:00Z"}, lambda c, t: iso(c["initiated_at"]) >= "2026-03-02T20:00"),
        ({"until": "2026-03-02T12:00:00Z"}, lambda c, t: iso(c["initiated_at"]) < "2026-03-02T12:00"),
        ({"until": "2026-03-02"}, lambda c, t: iso(c["initiated_at"]) < "2026-03-03"),
        ({"since": "2026-03-02T10:00:00+01:00", "status": "completed"},
         lambda c, t: iso(c["initiated_at"]) >= "2026-03-02T09:00" and c["status"] == "completed"),
    ],
)
async def test_filters(tapi: Client, tenant: Tenant, params: dict[str, Any], predicate: Any) -> None:
    resolved = dict(params)
    if resolved.get("agent_id") == 1:
        resolved["agent_id"] = tenant.agents[1]["id"]
    if resolved.get("campaign_id") == 0:
        resolved["campaign_id"] = tenant.campaign["id"]
    if resolved.get("phone_number_id") == 1:
        resolved["phone_number_id"] = tenant.numbers[1]["id"]
    wanted = [c for c in tenant.calls if predicate(c, tenant)]
    assert wanted, "the seed data should exercise this filter"
    got = await walk_pages(tapi, limit=100, sort_order="asc", **resolved)
    assert [c["id"] for c in got] == expected_order(wanted, "initiated_at", "asc")
    page = await tapi.list_calls(limit=5, **resolved)
    assert page.total == len(wanted)
    cursor_walk = await walk_cursor(tapi, limit=4, sort_by="duration_seconds", **resolved)
    assert [c["id"] for c in cursor_walk] == expected_order(wanted, "duration_seconds", "desc")


@pytest.mark.parametrize("needle", ["+1415555001", "5550012", "0012", "838", "12", "7"])
async def test_number_substring(tapi: Client, tenant: Tenant, needle: str) -> None:
    wanted = {c["id"] for c in tenant.calls if needle in c["from_number"] or needle in c["to_number"]}
    got = await walk_pages(tapi, number=needle, limit=100)
    assert {c["id"] for c in got} == wanted
    assert wanted


async def test_full_text_search(tapi: Client, tenant: Tenant) -> None:
    refund = await walk_pages(tapi, q="refund", limit=100)
    with_entries = {c["id"] for c in tenant.calls if c["status"] in ("completed", "in_progress")}
    expected = {c["id"] for c in tenant.calls
                if c["id"] in with_entries and "refund" in c["transcript"]}
    assert expected and {c["id"] for c in refund} == expected
    both = await walk_pages(tapi, q="opening hours", limit=100)
    assert {c["id"] for c in both} == {c["id"] for c in tenant.calls
                                       if c["id"] in with_entries and "opening hours" in c["transcript"]}
    prefix = await walk_pages(tapi, q="passw", limit=100)  # the last word matches as a prefix
    assert prefix and all("password" in next(t["transcript"] for t in tenant.calls if t["id"] == c["id"])
                          for c in prefix)
    hostile = await tapi.list_calls(q='refund" OR NEAR(x* AND -"')  # operators are only words
    assert hostile.total == 0
    nothing = await tapi.list_calls(q="zyzzyva")
    assert nothing.total == 0 and nothing.items == []
    combined = await walk_pages(tapi, q="refund", direction="outbound", limit=100)
    assert {c["id"] for c in combined} == {c["id"] for c in tenant.calls if c["id"] in expected
                                           and c["direction"] == "outbound"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort_by": "summary"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"status": "done"}, "status"),
        ({"direction": "sideways"}, "direction"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"page": 0}, "page"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "!!!"}, "q"),
    ],
)
async def test_invalid_parameters(tapi: Client, params: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as err:
        await tapi.list_calls(**params)
    assert err.value.status == 422
    assert err.value.code == "VALIDATION_ERROR"
    assert err.value.field == field


async def test_cursor_must_match_sort(tapi: Client) -> None:
    page = await tapi.list_calls(limit=5, sort_by="ended_at")
    assert page.next_cursor
    with pytest.raises(ApiError) as err:
        await tapi.list_calls(cursor=page.next_cursor, sort_by="initiated_at")
    assert err.value.status == 422 and err.value.field == "cursor"


async def test_list_needs_a_key(tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=tenant.url) as raw:
        response = await raw.get("/v1/calls")
        assert response.status_code == 401
        assert response.json() == {"error": response.json()["error"], "code": "UNAUTHORIZED"}
        response = await raw.get("/v1/calls", headers={"Authorization": "Bearer sb_nope"})
        assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"


async def test_other_organizations_see_none_of_the_calls(api: Client, tenant: Tenant) -> None:
    """The parent's key sees none of the child's calls, and 404 on their ids."""
    listed = await walk_pages(api, limit=100)
    assert not {c["id"] for c in listed} & {c["id"] for c in tenant.calls}
    call_id = tenant.calls[0]["id"]
    for request in (api.get_call(call_id), api.call_events(call_id), api.call_report(call_id),
                    api.update_call(call_id, notes="x"), api.finalize_report(call_id),
                    api.recording(call_id)):
        with pytest.raises(ApiError) as err:
            await request
        assert err.value.status == 404 and err.value.code == "NOT_FOUND"
