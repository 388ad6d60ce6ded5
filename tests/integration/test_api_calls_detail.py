"""One call: detail, notes, new outbound calls, events, report and re-analysis, recording, transfers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from engine.client import ApiError, Client
from engine.store import Call
from tests.harness.tenants import SEED_CALLS, Scratch, Tenant, write_wav


def completed(tenant: Tenant) -> dict[str, Any]:
    return next(c for c in tenant.calls if c["status"] == "completed")


async def test_detail(tapi: Client, tenant: Tenant) -> None:
    row = tenant.calls[0]
    call = await tapi.get_call(row["id"])
    assert call["id"] == row["id"] and call["status"] == row["status"]
    assert call["agent"] == {"id": tenant.agents[0]["id"], "name": "Ava"}
    costs = call["costs"]
    assert {k: costs[k] for k in ("stt", "llm", "tts", "telephony", "total", "details")} == {
        "stt": 0, "llm": 0, "tts": 500, "telephony": 2000, "total": 2500,
        "details": {"stt_audio_duration_seconds": 12.5, "tts_characters": 140}}
    assert (costs["currency"], costs["unit"]) == ("USD", "micro_usd")
    assert {line["kind"]: line["rate_unit"] for line in costs["lines"]}["tts"] == "per 1k characters"
    assert call["latency"] == {"p50_ms": 300, "p95_ms": 500,
                               "turns": [{"turn": 0, "voice_to_voice_ms": 320}]}
    entries = call["transcript"]["entries"]
    assert [e["index"] for e in entries] == [0, 1, 2, 3]
    assert entries[1]["source"] == "user" and "appointment" in entries[1]["text"]
    assert call["recording"] == {"status": "none", "duration_ms": None, "url": None}
    assert [t["kind"] for t in call["transfers"]] == ["warm"]
    assert call["analysis"]["status"] == "pending"
    assert call["metadata"] == {"sip_call_id": "sip-0"}
    with pytest.raises(ApiError) as err:
        await tapi.get_call("00000000-0000-0000-0000-000000000000")
    assert err.value.status == 404 and err.value.code == "NOT_FOUND"


async def test_update_notes_rating_feedback_metadata(tapi: Client, tenant: Tenant) -> None:
    call_id = tenant.calls[1]["id"]
    updated = await tapi.update_call(call_id, notes="called back", rating=4, feedback="polite",
                                     metadata={"crm_id": "A-17"})
    assert updated["notes"] == "called back" and updated["rating"] == 4
    assert updated["feedback"] == "polite"
    assert updated["metadata"] == {"sip_call_id": "sip-1", "crm_id": "A-17"}
    removed = await tapi.update_call(call_id, metadata={"crm_id": None})
    assert removed["metadata"] == {"sip_call_id": "sip-1"} and removed["rating"] == 4
    for fields, field in (({"rating": 6}, "rating"), ({"rating": 0}, "rating"),
                          ({"status": "completed"}, "status"), ({"to_number": "+1"}, "to_number")):
        with pytest.raises(ApiError) as err:
            await tapi.update_call(call_id, **fields)
        assert err.value.status == 422 and err.value.field == field


async def test_create_call(scratch: Scratch) -> None:
    api, agent, number = scratch.api, scratch.agent, scratch.number
    call = await api.create_call(agent_id=agent["id"], phone_number_id=number["id"],
                                 to_number="+1 (415) 555-0123", metadata={"ticket": 9},
                                 dynamic_variables={"first_name": "Dana"}, notes="vip",
                                 ringing_timeout=20)
    assert call["status"] == "queued" and call["direction"] == "outbound"
    assert call["type"] == "phone_call" and call["to_number"] == "+14155550123"
    assert call["from_number"] == number["number"] and call["phone_number_id"] == number["id"]
    assert call["dynamic_variables"] == {"first_name": "Dana"} and call["metadata"] == {"ticket": 9}
    assert call["ringing_timeout_seconds"] == 20 and call["initiated_at"]
    assert call["agent"] == {"id": agent["id"], "name": "Scratch agent"}
    events = await api.call_events(call["id"])
    assert [e["event_type"] for e in events] == ["call.queued"]
    listed = await api.list_calls(status="queued")
    assert [c["id"] for c in listed.items] == [call["id"]]

    test_call = await api.create_call(agent_id=agent["id"], to_number="+442071838750", is_test=True,
                                      from_number="+14155550100")
    assert test_call["type"] == "test_call" and test_call["phone_number_id"] == number["id"]
    bare_test = await api.create_call(agent_id=agent["id"], to_number="+442071838750", is_test=True)
    assert bare_test["from_number"] == "" and bare_test["phone_number_id"] is None

    campaign = await api.campaigns.create(name="C", agent_id=agent["id"])
    other = await api.campaigns.create(name="D", agent_id=agent["id"])
    lead = await api.leads(campaign["id"]).create(phone_number="+14155550777")
    with_lead = await api.create_call(agent_id=agent["id"], from_number="+14155550100",
                                      to_number="+14155550777", campaign_id=campaign["id"],
                                      lead_id=lead["id"])
    assert with_lead["lead_id"] == lead["id"] and with_lead["campaign_id"] == campaign["id"]
    with pytest.raises(ApiError) as err:
        await api.create_call(agent_id=agent["id"], from_number="+14155550100",
                              to_number="+14155550777", campaign_id=other["id"], lead_id=lead["id"])
    assert err.value.status == 422 and err.value.field == "lead_id"
    with pytest.raises(ApiError) as err:
        await api.create_call(agent_id=agent["id"], phone_number_id=number["id"],
                              from_number="+14155550199", to_number="+14155550777")
    assert err.value.status == 422 and err.value.field == "from_number"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"to_number": "12"}, "to_number"),
        ({"to_number": "not a number"}, "to_number"),
        ({"agent_id": "missing"}, "agent_id"),
        ({"agent_id": None}, "agent_id"),
        ({"phone_number_id": "missing"}, "phone_number_id"),
        ({"phone_number_id": None}, "from_number"),
        ({"campaign_id": "missing"}, "campaign_id"),
        ({"lead_id": "missing"}, "lead_id"),
        ({"status": "ringing"}, "status"),  # a record (given a status) is of an ended call
        ({"status": "completed", "amd": "detect"}, "amd"),  # a record is not dialled
        ({"ringing_timeout": 1}, "ringing_timeout"),
    ],
)
async def test_create_call_validation(tapi: Client, tenant: Tenant, fields: dict[str, Any],
                                      field: str) -> None:
    """Invalid requests store nothing (the tenant's call count is unchanged)."""
    body: dict[str, Any] = {"agent_id": tenant.agents[0]["id"], "phone_number_id": tenant.numbers[0]["id"],
                            "to_number": "+14155550123", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(ApiError) as err:
        await tapi.create_call(**body)
    assert err.value.status == 422 and err.value.field == field
    assert (await tapi.list_calls(limit=1)).total == SEED_CALLS


async def test_create_call_refers_only_to_own_rows(api: Client, tenant: Tenant) -> None:
    """The parent organization cannot place a call with the child's agent."""
    with pytest.raises(ApiError) as err:
        await api.create_call(agent_id=tenant.agents[0]["id"], to_number="+14155550123", is_test=True)
    assert err.value.status == 422 and err.value.field == "agent_id"


async def test_events_in_time_order(tapi: Client, tenant: Tenant) -> None:
    events = await tapi.call_events(tenant.calls[0]["id"])
    assert [e["event_type"] for e in events] == ["sip.invite", "call.initiated", "sip.ringing",
                                                 "call.completed"]
    assert events[0]["sip_status_code"] == 100 and events[0]["occurred_at"].endswith("Z")


async def test_transfers(tapi: Client, tenant: Tenant) -> None:
    response = await tapi.request("GET", f"/v1/calls/{tenant.calls[0]['id']}/transfers")
    assert [t["transfer_to"] for t in response["items"]] == ["+14155550199"]
    empty = await tapi.request("GET", f"/v1/calls/{tenant.calls[1]['id']}/transfers")
    assert empty["items"] == []


async def test_report_and_finalize(tapi: Client, tenant: Tenant) -> None:
    call_id = tenant.calls[0]["id"]  # "book an appointment for Tuesday"
    report = await tapi.call_report(call_id)
    assert report["analysis_status"] == "pending"
    assert report["cost_micro_usd"] == 2500
    assert {b["kind"] for b in report["cost_breakdown"]} == {"stt", "llm", "tts", "telephony"}
    assert len(report["transcript"]["entries"]) == 4
    final = await tapi.finalize_report(call_id)
    assert final["analysis_status"] == "heuristic"
    assert final["outcome"] == "appointment_booked"
    assert final["sentiment"] == "positive" and final["success"] is True
    assert final["structured_data"].get("appointment_day", "").lower() == "tuesday"
    assert "appointment" in final["summary"]
    again = await tapi.get_call(call_id)
    assert again["analysis"]["outcome"] == "appointment_booked"
    assert again["analysis"]["status"] == "heuristic"
    live = next(c for c in tenant.calls if c["status"] == "in_progress")
    with pytest.raises(ApiError) as err:
        await tapi.finalize_report(live["id"])
    assert err.value.status == 409


async def test_recording_404_then_range(tapi: Client, tenant: Tenant) -> None:
    call_id = completed(tenant)["id"]
    with pytest.raises(ApiError) as err:
        await tapi.recording(call_id)
    assert err.value.status == 404
    assert err.value.message == f"call {call_id} has no recording yet"
    relative = f"recordings/{call_id}.wav"
    db = tenant.db()
    try:
        with db.begin() as conn:
            conn.execute(update(Call.__table__).where(Call.__table__.c.id == call_id)  # type: ignore[attr-defined]
                         .values(recording_path=relative, recording_status="completed",
                                 recording_duration_ms=1000))
    finally:
        db.dispose()
    with pytest.raises(ApiError) as err:  # recorded, but the file is not there (yet)
        await tapi.recording(call_id)
    assert err.value.status == 404
    data = write_wav(tenant.data_dir / relative)
    whole = await tapi.recording(call_id)
    assert whole == data and whole[:4] == b"RIFF"
    async with httpx.AsyncClient(base_url=tenant.url,
                                 headers={"Authorization": f"Bearer {tenant.key}"}) as raw:
        response = await raw.get(f"/v1/calls/{call_id}/recording", headers={"Range": "bytes=100-199"})
        assert response.status_code == 206
        assert response.content == data[100:200]
        assert response.headers["content-range"] == f"bytes 100-199/{len(data)}"
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["accept-ranges"] == "bytes"
    call = await tapi.get_call(call_id)
    assert call["recording"] == {"status": "completed", "duration_ms": 1000,
                                 "url": f"/v1/calls/{call_id}/recording"}
