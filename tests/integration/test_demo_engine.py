"""An engine started with ``--demo`` serves the demo data through API v1."""

from __future__ import annotations

from engine.client import Client
from engine.demo.seed import DEMO_CALLS, DEMO_LEADS


async def test_demo_records(demo_api: Client) -> None:
    agents = await demo_api.agents.all()
    assert {a["name"] for a in agents} == {"Order status", "Billing", "Appointments"}
    assert len({a["tts"]["voice"] for a in agents}) == 3
    assert all(a["script"]["intents"] and a["brain"]["kind"] == "scripted" for a in agents)

    numbers = await demo_api.phone_numbers.all()
    assert len(numbers) == 5 and all(n["number"].startswith("+1") for n in numbers)
    trunks = {t["name"]: t for t in await demo_api.sip_trunks.all()}
    assert set(trunks) == {"Carrier (primary)", "Simulated people"}
    carrier = trunks["Carrier (primary)"]
    assert carrier["has_password"] is True and "password" not in carrier
    assert trunks["Simulated people"]["host"] == "127.0.0.1"
    assert len(await demo_api.tool_templates.all()) == 3
    assert len(await demo_api.analysis_templates.all()) == 2
    users = await demo_api.users.all()
    assert {u["role"] for u in users} == {"supervisor", "agent"}

    campaigns = await demo_api.campaigns.all()
    assert sorted(c["status"] for c in campaigns) == ["draft", "running"]
    lead_total = 0
    for campaign in campaigns:
        lead_total += (await demo_api.leads(campaign["id"]).list(limit=1)).total
    assert lead_total == DEMO_LEADS


async def test_demo_calls_list_filter_and_search(demo_api: Client) -> None:
    page = await demo_api.list_calls(limit=50)  # the test calls (is_test) are left out
    everything = await demo_api.list_calls(limit=1, include_tests=True)
    assert everything.total == DEMO_CALLS and 0 < DEMO_CALLS - page.total < DEMO_CALLS / 10
    assert len(page.items) == 50 and not any(c["is_test"] for c in page.items)
    times = [c["initiated_at"] for c in page.items]
    assert times == sorted(times, reverse=True)

    busy = await demo_api.list_calls(status="busy", limit=100)
    assert busy.total > 0 and all(c["status"] == "busy" for c in busy.items)

    agents = {a["name"]: a["id"] for a in await demo_api.agents.all()}
    billing = await demo_api.list_calls(agent_id=agents["Billing"], limit=10)
    assert 0 < billing.total < DEMO_CALLS

    running = next(c for c in await demo_api.campaigns.all() if c["status"] == "running")
    campaign_calls = await demo_api.list_calls(campaign_id=running["id"], limit=10)
    assert campaign_calls.total > 0
    assert all(c["direction"] == "outbound" for c in campaign_calls.items)

    found = await demo_api.list_calls(q="refund", limit=20)
    assert found.total > 0
    detail = await demo_api.get_call(found.items[0]["id"])
    assert "refund" in " ".join(e["text"] for e in detail["transcript"]["entries"]).lower()

    by_number = await demo_api.list_calls(number="5550134", limit=5)
    assert by_number.total > 0


async def test_demo_call_detail_events_and_costs(demo_api: Client) -> None:
    page = await demo_api.list_calls(status="completed", direction="inbound", limit=20)
    call = next(c for c in page.items if c.get("type", "phone_call") == "phone_call")
    detail = await demo_api.get_call(call["id"])
    entries = detail["transcript"]["entries"]
    assert 4 <= len(entries) <= 14 and entries[0]["source"] == "agent"
    assert detail["recording"]["status"] == "none"
    costs = detail["costs"]
    assert costs["total"] == sum(costs[kind] for kind in ("stt", "llm", "tts", "telephony")) > 0
    assert costs["details"]["llm_prompt_tokens"] == 0
    assert detail["latency"]["p50_ms"] and detail["latency"]["turns"]
    assert detail["analysis"]["status"] == "heuristic"

    events = await demo_api.call_events(call["id"])
    codes = [e["sip_status_code"] for e in events if e["sip_status_code"]]
    assert codes[:3] == [100, 180, 200]
    assert events[-1]["event_type"] in ("analysis.completed", "call.ended")
