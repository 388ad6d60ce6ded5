"""GET /v1/calls never ignores what it is given: each filter (transport, type, is_test, outcome,
sentiment, tag, disconnect reason, has recording) lists exactly its calls with the right total,
page by page; an unknown query parameter is a 422 naming it; rows carry the recording URL,
metadata and tags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import update

from engine.client import ApiError
from engine.store import Call, session_scope
from tests.harness.api_engine import NUMBER, ApiEngine, open_api_engine

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

CALLEE = "+14155550123"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def eng(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiEngine]:
    async with open_api_engine(tmp_path_factory.mktemp("filters")) as opened:
        yield opened


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def calls(eng: ApiEngine) -> list[dict[str, Any]]:
    """Calls of each kind, their analysis and recordings set as the engine would."""
    agent = eng.agent["id"]
    inbound = {"agent_id": agent, "direction": "inbound", "from_number": CALLEE, "to_number": NUMBER}
    made = [
        await eng.api.create_call(**inbound, tags=["vip"]),
        await eng.api.create_call(agent_id=agent, type="web_call", from_number="web:v1",
                                  tags=["vip", "renewal"]),
        await eng.api.create_call(agent_id=agent, phone_number_id=eng.number["id"],
                                  to_number=CALLEE),  # dialled: stays queued without SIP
        await eng.api.create_call(agent_id=agent, type="test_call"),
        await eng.api.create_call(agent_id=agent, from_number=NUMBER, to_number=CALLEE,
                                  status="busy", tags=["renewal"]),
        await eng.api.create_call(**inbound, status="failed"),
    ]
    facts: list[dict[str, Any]] = [
        {"outcome": "resolved", "sentiment": "positive", "disconnect_reason": "caller_hangup",
         "recording_path": "/tmp/a.wav", "recording_status": "completed"},
        {"outcome": "transferred_to_human", "sentiment": "negative",
         "disconnect_reason": "agent_hangup"},
        {},
        {"outcome": "resolved", "sentiment": "positive", "recording_path": "/tmp/d.wav"},
        {"disconnect_reason": "busy"},
        {"outcome": "resolved", "sentiment": "neutral", "disconnect_reason": "caller_hangup"},
    ]
    with session_scope(eng.engine.db) as session:
        for call, values in zip(made, facts, strict=True):
            if values:
                session.execute(update(Call).where(Call.id == call["id"])  # type: ignore[arg-type]
                                .values(**values))
    return [await eng.api.get_call(c["id"]) for c in made]


async def listed(eng: ApiEngine, **params: Any) -> tuple[list[str], int]:
    """Every call the list gives, two a page, and the total it announced."""
    ids: list[str] = []
    page = 1
    while True:
        got = await eng.api.list_calls(page=page, limit=2, sort_order="asc", **params)
        ids += [c["id"] for c in got.items]
        if page >= got.total_pages:
            return ids, got.total
        page += 1


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"transport": "webrtc"}, lambda c: c["transport"] == "webrtc"),
        ({"transport": "sip"}, lambda c: c["transport"] == "sip" and not c["is_test"]),
        ({"call_type": "web_call"}, lambda c: c["type"] == "web_call"),
        ({"call_type": "test_call"}, lambda c: c["type"] == "test_call"),
        ({"is_test": True}, lambda c: c["is_test"]),
        ({"is_test": False}, lambda c: not c["is_test"]),
        ({"include_tests": True}, lambda c: True),
        ({"outcome": "resolved"}, lambda c: c["outcome"] == "resolved" and not c["is_test"]),
        ({"outcome": "resolved", "include_tests": True}, lambda c: c["outcome"] == "resolved"),
        ({"outcome": "resolved", "is_test": True},
         lambda c: c["outcome"] == "resolved" and c["is_test"]),
        ({"sentiment": "negative"}, lambda c: c["sentiment"] == "negative"),
        ({"tag": "vip"}, lambda c: "vip" in c["tags"]),
        ({"tag": "renewal", "direction": "outbound"},
         lambda c: "renewal" in c["tags"] and c["direction"] == "outbound"),
        ({"disconnect_reason": "caller_hangup"}, lambda c: c["disconnect_reason"] == "caller_hangup"),
        ({"has_recording": True}, lambda c: c["recording_url"] is not None and not c["is_test"]),
        ({"has_recording": False}, lambda c: c["recording_url"] is None and not c["is_test"]),
        ({"status": "completed", "transport": "sip"},
         lambda c: c["status"] == "completed" and c["transport"] == "sip" and not c["is_test"]),
    ],
)
async def test_each_filter_lists_exactly_its_calls(eng: ApiEngine, calls: list[dict[str, Any]],
                                                   params: dict[str, Any], predicate: Any) -> None:
    wanted = [c["id"] for c in sorted(calls, key=lambda c: (c["initiated_at"], c["id"]))
              if predicate(c)]
    assert wanted, "the calls should exercise this filter"
    assert len(wanted) < len(calls) or params == {"include_tests": True}
    ids, total = await listed(eng, **params)
    assert ids == wanted
    assert total == len(wanted)


async def test_a_tag_follows_the_calls_tags(eng: ApiEngine, calls: list[dict[str, Any]]) -> None:
    failed = calls[5]
    await eng.api.update_call(failed["id"], tags=["callback"])
    assert (await listed(eng, tag="callback"))[0] == [failed["id"]]
    await eng.api.update_call(failed["id"], tags=[])
    assert (await listed(eng, tag="callback")) == ([], 0)


async def test_rows_carry_the_recording_url_metadata_and_tags(eng: ApiEngine,
                                                              calls: list[dict[str, Any]]) -> None:
    page = await eng.api.list_calls(has_recording=True)
    [row] = page.items
    assert row["id"] == calls[0]["id"]
    assert row["recording_url"] == f"/v1/calls/{row['id']}/recording"
    assert row["tags"] == ["vip"] and row["metadata"] == {} and row["user_id"] is None
    busy = next(c for c in (await eng.api.list_calls(limit=100)).items if c["status"] == "busy")
    assert busy["recording_url"] is None


@pytest.mark.parametrize(
    ("query", "field", "hint"),
    [
        ("colour=blue", "colour", None),
        ("sortBy=initiated_at", "sortBy", "sort_by"),
        ("transport=webrtc&trasport=sip", "trasport", "transport"),
        ("transport=pigeon", "transport", None),
        ("type=fax_call", "type", None),
        ("sentiment=angry", "sentiment", None),
        ("tag=%20", "tag", None),
        ("is_test=maybe", "is_test", None),
    ],
)
async def test_what_the_list_does_not_know_is_a_422_naming_it(eng: ApiEngine, query: str,
                                                              field: str, hint: str | None) -> None:
    with pytest.raises(ApiError) as err:
        await eng.api.request("GET", f"/v1/calls?{query}")
    assert err.value.status == 422 and err.value.field == field, err.value
    if hint is not None:
        assert f"did you mean {hint}" in err.value.message
