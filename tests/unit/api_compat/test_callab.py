"""Callab's ``POST /v1/calls`` under /compat/callab: the seed's own example request, answered
in Callab's ``{status, message, data}`` envelope with every documented field (an outbound call
dialled, an inbound one stored as a record with its provider); its refusals use the envelope
and name Callab's field."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from engine.api.compat.callab import callab_call
from tests.unit.api_compat.keys import BEARER, KEY
from tests.unit.api_compat.shapes import shape_errors

URL = "/compat/callab/v1/calls"
SEED_UUID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
TIME = "2023-11-07T05:31:56Z"

# The seed's example request (002_3915e583f161c064.txt), as printed
EXAMPLE_REQUEST: dict[str, Any] = {
    "company_id": SEED_UUID, "campaign_id": SEED_UUID, "ai_agent_id": SEED_UUID,
    "contact_id": SEED_UUID, "call_provider": "<string>", "call_from": "<string>",
    "call_to": "<string>", "call_direction": "<string>", "is_test": False, "metadata": {},
    "agent_dynamic_variables": {}, "notes": "<string>", "workspace_id": "<string>",
}

# The seed's example response
EXAMPLE_RESPONSE: dict[str, Any] = {
    "status": "<string>", "message": "<string>",
    "data": {
        "id": SEED_UUID, "call_sid": "<string>", "company_id": SEED_UUID, "campaign_id": SEED_UUID,
        "ai_agent_id": SEED_UUID, "contact_id": SEED_UUID, "call_provider": "<string>",
        "call_from": "<string>", "call_to": "<string>", "call_duration": 123,
        "call_status": "<string>", "call_direction": "<string>", "is_test": True,
        "call_rating": 123, "call_feedback": "<string>", "record_url": "<string>",
        "transcript": "<string>", "transcript_object": {}, "transcript_language": "<string>",
        "cost": 123, "price_unit": "<string>", "latency": 123, "disconnect_reason": "<string>",
        "analysis_sentiment": "<string>", "agent_task_status": "<string>",
        "agent_task_feedback": "<string>", "metadata": {}, "agent_dynamic_variables": {},
        "agent_post_call_outcomes": {}, "notes": "<string>", "created_at": TIME,
        "updated_at": TIME, "deleted_at": TIME, "started_at": TIME, "ended_at": TIME,
        "retry_at": TIME, "workspace_id": "<string>",
    },
}
INTEGERS = frozenset({"data.call_duration", "data.call_rating"})
# What a call just queued has no value for yet; Switchboard deletes no call
NOT_YET = frozenset(f"data.{name}" for name in (
    "call_sid", "call_duration", "call_rating", "call_feedback", "record_url",
    "transcript_language", "latency", "disconnect_reason", "analysis_sentiment",
    "agent_task_status", "agent_task_feedback", "deleted_at", "started_at", "ended_at",
    "retry_at"))


async def first(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params={"limit": 1, **params}, headers=BEARER)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["items"][0]
    return item


async def example_body(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """The seed's example with its placeholders filled: a demo campaign, one of its leads, an
    outbound call (Switchboard dials through its own trunks: no call_provider to choose)."""
    campaign = await first(http, "/v1/campaigns")
    lead = await first(http, f"/v1/campaigns/{campaign['id']}/leads")
    number = await first(http, "/v1/phone-numbers")
    return {**EXAMPLE_REQUEST, "campaign_id": campaign["id"], "ai_agent_id": campaign["agent_id"],
            "contact_id": lead["id"], "call_provider": None, "call_from": number["number"],
            "call_to": lead["phone_number"], "call_direction": "outbound",
            "metadata": {"crm_ref": "A-17"}, "agent_dynamic_variables": {"first_name": "Ada"},
            "notes": "called back as promised", "workspace_id": "ws-1", **changes}


@pytest.mark.timeout(60)
async def test_the_seed_example_creates_a_call_answered_in_callab_envelope(
        http: httpx.AsyncClient) -> None:
    body = await example_body(http)
    response = await http.post(URL, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert shape_errors(EXAMPLE_RESPONSE, answer, nullable=NOT_YET, integers=INTEGERS) == []
    assert answer["status"] == "success"
    data = answer["data"]
    assert data["call_provider"] == "sip"  # dialled through Switchboard's own SIP trunk
    for name in ("campaign_id", "ai_agent_id", "contact_id", "call_from",
                 "call_to", "call_direction", "is_test", "agent_dynamic_variables", "notes",
                 "workspace_id"):
        assert data[name] == body[name], name
    assert data["call_status"] == "queued" and data["price_unit"] == "USD"
    # stored by the core, Callab's fields under Switchboard's names
    stored = (await http.get(f"/v1/calls/{data['id']}", headers=BEARER)).json()
    assert (stored["agent_id"], stored["lead_id"], stored["campaign_id"]) == (
        body["ai_agent_id"], body["contact_id"], body["campaign_id"])
    assert stored["dynamic_variables"] == {"first_name": "Ada"}
    assert stored["notes"] == "called back as promised"
    assert stored["metadata"]["crm_ref"] == "A-17"
    # only what has no place in the core is kept for Callab: the API key decides the tenant
    assert stored["metadata"]["compat"] == {"platform": "callab", "company_id": SEED_UUID,
                                            "workspace_id": "ws-1"}
    assert data["company_id"] == stored["organization_id"]


@pytest.mark.timeout(60)
async def test_an_inbound_call_is_stored_as_a_record_with_its_provider(
        http: httpx.AsyncClient) -> None:
    """``call_direction: inbound``: a call another system took, stored as it happened (nothing
    is dialled), its carrier as the core's provider."""
    body = await example_body(http, call_direction="inbound", call_provider="twilio")
    body["call_from"], body["call_to"] = body["call_to"], body["call_from"]  # the lead called in
    response = await http.post(URL, json=body, headers=BEARER)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["call_direction"], data["call_status"], data["call_provider"]) == (
        "inbound", "completed", "twilio")
    assert (data["call_from"], data["call_to"]) == (body["call_from"], body["call_to"])
    stored = (await http.get(f"/v1/calls/{data['id']}", headers=BEARER)).json()
    assert stored["metadata"]["provider"] == "twilio"
    assert "call_provider" not in stored["metadata"]["compat"]
    events = (await http.get(f"/v1/calls/{data['id']}/events", headers=BEARER)).json()["events"]
    assert [e["event_type"] for e in events] == ["call.recorded"]


@pytest.mark.timeout(60)
async def test_a_finished_call_fills_every_field(http: httpx.AsyncClient) -> None:
    row = await first(http, "/v1/calls", status="completed", direction="inbound",
                      sort_by="duration_seconds")
    detail = (await http.get(f"/v1/calls/{row['id']}", headers=BEARER)).json()
    data = callab_call(detail)
    optional = frozenset({"data.call_rating", "data.call_feedback", "data.record_url",
                          "data.deleted_at", "data.retry_at", "data.workspace_id",
                          "data.campaign_id", "data.contact_id", "data.disconnect_reason",
                          "data.call_sid"})  # a web call has no SIP call id
    assert shape_errors(EXAMPLE_RESPONSE, {"status": "success", "message": "", "data": data},
                        nullable=optional, integers=INTEGERS) == []
    assert data["transcript_language"] == detail["metadata"]["stt_language"]
    assert data["agent_task_status"] == {True: "success", False: "failure"}[
        detail["analysis"]["success"]]
    assert data["cost"] == detail["costs"]["total"] / 1_000_000


@pytest.mark.parametrize(("change", "field"), [
    ({"ai_agent_id": None}, "ai_agent_id"),  # Switchboard needs the agent
    ({"call_to": "call me maybe"}, "call_to"),
    ({"call_to": None}, "call_to"),
    ({"call_from": None}, "call_from"),
    ({"contact_id": "no-such-lead"}, "contact_id"),
    ({"call_provider": "twilio"}, "call_provider"),  # dialled through Switchboard's own trunks
    ({"is_test": True, "call_direction": "outbound"}, "call_direction"),  # a caller calls in
    ({"call_direction": "sideways"}, "call_direction"),
    ({"is_test": "maybe"}, "is_test"),
    ({"metadata": {"compat": 1}}, "metadata.compat"),  # reserved
    ({"colour": "blue"}, "colour"),
])
@pytest.mark.timeout(60)
async def test_a_bad_body_is_refused_in_the_envelope_naming_the_field(
        http: httpx.AsyncClient, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**(await example_body(http)), **change}.items() if v is not None}
    response = await http.post(URL, json=body, headers=BEARER)
    assert 400 <= response.status_code < 500
    error = response.json()
    assert (error["status"], error["data"], error["field"]) == ("error", None, field)
    assert error["message"].startswith(f"{field}: ")
    assert re.search(r"\b(to_number|from_number|agent_id|lead_id)\b",
                     error["message"]) is None
    assert "Extra inputs" not in error["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sb_not_a_key"}])
@pytest.mark.timeout(60)
async def test_without_its_bearer_key_the_envelope_says_unauthorized(
        http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post(URL, json=await example_body(http), headers=headers)
    assert response.status_code == 401
    error = response.json()
    assert (error["status"], error["data"], error["code"]) == ("error", None, "UNAUTHORIZED")
