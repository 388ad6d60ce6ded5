"""Test calls that run and rehearsals that score an agent, through the API of a real engine with
SIP on loopback: a simulated caller of the persona calls the agent over SIP and RTP, whisper on
both sides, and the stored rows are read back."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from sqlmodel import select

from engine.api import create_app
from engine.app import Engine
from engine.client import ApiError, Client
from engine.store import UsageLog, session_scope
from tests.harness.demo_agents import ORDERS, add_demo_agents
from tests.harness.sip_engine import SipEngine, sip_settings, started

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = [pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Api:
    sip: SipEngine
    client: Client
    agents: dict[str, str]

    @property
    def engine(self) -> Engine:
        return self.sip.engine


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    engine = Engine(sip_settings(tmp_path_factory.mktemp("test-calls")))
    key = engine.setup()
    assert key is not None
    agents = add_demo_agents(engine)
    async with started(engine, ORDERS, agents["orders"], warm_s=30) as sip:
        client = Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)),
                        timeout=30)
        yield Api(sip, client, agents)
        await client.aclose()


async def _finished_test_call(api: Api, call_id: str) -> dict[str, object]:
    assert api.engine.test_calls is not None
    async with asyncio.timeout(120):
        while call_id not in api.engine.test_calls.results:  # noqa: ASYNC110 - the placer's task fills it
            await asyncio.sleep(0.2)
    await api.engine.settle_call(call_id)
    return await api.client.get_call(call_id)


async def test_test_calls_run_and_fill_their_rows_without_usage(api: Api) -> None:
    created = await api.client.create_call(agent_id=api.agents["orders"], is_test=True,
                                           persona="order_status")
    assert created["status"] == "queued" and created["is_test"] is True
    assert created["type"] == "test_call" and created["direction"] == "inbound"
    # type=test_call alone is a test call of the default persona (run at the same time)
    typed = await api.client.create_call(agent_id=api.agents["billing"], type="test_call")
    assert typed["is_test"] is True and typed["metadata"]["persona"] == "quick_question"

    call, typed_call = await asyncio.gather(_finished_test_call(api, created["id"]),
                                            _finished_test_call(api, typed["id"]))

    assert typed_call["status"] == "completed", typed_call
    assert typed_call["agent_name"] == "Billing"
    assert call["status"] == "completed", call
    caller = call["metadata"]["test_caller"]
    assert caller["persona"] == "order_status" and caller["answered"] is True, caller
    assert caller["goal_reached"] is True, caller
    sources = [e["source"] for e in call["transcript"]["entries"]]
    assert "user" in sources and "agent" in sources, sources
    assert call["sip_call_id"], call
    events = {e["event_type"] for e in await api.client.call_events(created["id"])}
    assert {"call.queued", "invite_received", "tool.called"} <= events, events
    listed = await api.client.list_calls()  # test calls are left out of the default list
    assert created["id"] not in {c["id"] for c in listed.items} and listed.total == 0
    with_tests = await api.client.list_calls(include_tests=True)
    assert {created["id"], typed["id"]} <= {c["id"] for c in with_tests.items}
    with session_scope(api.engine.db) as session:  # usage is not counted for a test call
        assert session.exec(select(UsageLog).where(
            UsageLog.call_id.in_([created["id"], typed["id"]]))).all() == []  # type: ignore[attr-defined]


async def test_bad_test_calls_are_refused_naming_the_field(api: Api) -> None:
    agent = api.agents["orders"]
    for fields, field in ((dict(is_test=True, persona="no_such_persona"), "persona"),
                          (dict(persona="order_status", to_number="+14155550100",
                                from_number="+14155550134"), "persona"),
                          (dict(is_test=True, type="phone_call"), "type"),
                          (dict(), "to_number")):
        with pytest.raises(ApiError) as refused:
            await api.client.create_call(agent_id=agent, **fields)
        assert refused.value.status == 422 and refused.value.field == field, refused.value
    with pytest.raises(ApiError) as unknown:
        await api.client.create_call(agent_id=agent, is_test=True, persona="no_such_persona")
    assert "order_status" in str(unknown.value)  # the known personas are listed


async def _completed(api: Api, rehearsal_id: str) -> dict[str, object]:
    async with asyncio.timeout(200):
        while True:
            rehearsal = await api.client.rehearsal(rehearsal_id)
            if rehearsal["status"] in ("completed", "failed"):
                return rehearsal
            await asyncio.sleep(0.5)


async def test_a_rehearsal_scores_each_persona_and_compares_with_the_previous(api: Api) -> None:
    agent = api.agents["orders"]
    started_ = await api.client.rehearse(agent, ["order_status", "wants_human"])
    assert started_["status"] == "queued" and started_["previous_id"] is None

    first = await _completed(api, started_["id"])

    assert first["status"] == "completed", first
    rows = {row["persona"]: row for row in first["report"]["personas"]}
    assert set(rows) == {"order_status", "wants_human"}
    for name, row in rows.items():
        assert row["goal_reached"] is True, (name, row["why"])
        assert row["status"] == "completed" and row["sip_status"] == 200, row
        assert row["turns"] >= 1 and row["voice_to_voice_p50_ms"] is not None, row
        wer = row["words_misheard"]  # the persona's lines against the agent's transcript
        assert wer["words"] > 0 and 0.0 <= wer["wer"] <= 1.0, wer
        call = await api.client.get_call(row["call_id"])
        assert call["is_test"] is True and call["metadata"]["persona"] == name
    assert rows["wants_human"]["transfers"] >= 0
    assert first["report"]["totals"]["goals_reached"] == 2

    second = await _completed(api, (await api.client.rehearse(agent, ["wants_human"]))["id"])
    assert second["previous_id"] == first["id"]
    comparison = second["report"]["comparison"]
    assert comparison["previous_id"] == first["id"]
    [changes] = comparison["personas"]
    assert changes["persona"] == "wants_human" and changes["new"] is False
    assert all(c["verdict"] in ("better", "worse", "changed") for c in changes["changes"])
    page = await api.client.rehearsals(agent)
    assert [r["id"] for r in page.items] == [second["id"], first["id"]]


async def test_bad_rehearsals_are_refused(api: Api) -> None:
    with pytest.raises(ApiError) as unknown:
        await api.client.rehearse(api.agents["orders"], ["order_status", "nobody"])
    assert unknown.value.status == 422 and unknown.value.field == "personas[1]"
    with pytest.raises(ApiError) as missing:
        await api.client.rehearse("no-such-agent")
    assert missing.value.status == 404
    names = {p["name"] for p in await api.client.personas()}
    assert {"order_status", "wants_human", "quick_question"} <= names
