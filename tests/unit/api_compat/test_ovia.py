"""Ovia's ``POST /api/v1/calls`` under /compat/ovia: the seed's own example request, answered
with every field of Ovia's Call object; an inbound call or a web call added as a record; its
refusals name the field (an Ovia user that is no console user among them)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.api.compat.ovia import ovia_call
from tests.unit.api_compat.keys import BEARER, KEY
from tests.unit.api_compat.shapes import shape_errors

URL = "/compat/ovia/api/v1/calls"
SEED_UUID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

# The seed's example request (000_5f87bddd0b5b4316.txt), as printed
EXAMPLE_REQUEST: dict[str, Any] = {
    "user_id": SEED_UUID,
    "agent_id": SEED_UUID,
    "type": "<string>",
    "from_number": "<string>",
    "to_number": "<string>",
    "phone_number_id": SEED_UUID,
}

# The seed's example response
EXAMPLE_RESPONSE: dict[str, Any] = {
    "user_id": SEED_UUID, "agent_id": SEED_UUID, "type": "<string>", "from_number": "<string>",
    "to_number": "<string>", "phone_number_id": SEED_UUID, "id": SEED_UUID, "status": "<string>",
    "started_at": "2023-11-07T05:31:56Z", "ended_at": "2023-11-07T05:31:56Z",
    "recording_url": "<string>", "transcript": "<string>", "duration": 123, "analysis": "<string>",
    "latency_metrics": "<string>", "created_at": "2023-11-07T05:31:56Z",
    "updated_at": "2023-11-07T05:31:56Z", "agent": {"name": "<string>"},
    "metadata": {"rule_id": "<string>", "call_tag": "<string>", "call_id_full": "<string>",
                 "sip_trunk_id": "<string>"},
    "costs": {"llm": 123, "stt": 123, "tts": 123, "total": 123,
              "details": {"tts_characters": 123, "llm_prompt_tokens": 123,
                          "llm_completion_tokens": 123, "stt_audio_duration_seconds": 123}},
    "transcript_objects": [{"content": "<string>", "timestamp": "2023-11-07T05:31:56Z"}],
}
INTEGERS = frozenset({"duration"})  # "duration integer" in the seed; its other numbers are numbers
# What a call just queued has no value for yet (or Switchboard does not record yet)
NOT_YET = frozenset({"started_at", "ended_at", "recording_url", "duration", "analysis",
                     "metadata.rule_id", "metadata.call_tag", "metadata.call_id_full"})
# A record of a call that happened elsewhere: no recording, transcript or analysis here, no SIP
RECORD = NOT_YET - {"ended_at"} | {"metadata.sip_trunk_id"}


async def first(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params={"limit": 1, **params}, headers=BEARER)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["items"][0]
    return item


async def example_body(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """The seed's example with its placeholders filled from the demo store (its user: a console
    user of the organization)."""
    user = await first(http, "/v1/users")
    agent = await first(http, "/v1/agents")
    number = await first(http, "/v1/phone-numbers")
    return {**EXAMPLE_REQUEST, "user_id": user["id"], "agent_id": agent["id"],
            "type": "phone_call", "from_number": number["number"], "to_number": "+14155550123",
            "phone_number_id": number["id"], **changes}


@pytest.mark.timeout(60)
async def test_the_seed_example_creates_an_outbound_call_answered_as_ovia_call(
        http: httpx.AsyncClient) -> None:
    body = await example_body(http)
    response = await http.post(URL, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200, response.text
    call = response.json()
    assert shape_errors(EXAMPLE_RESPONSE, call, nullable=NOT_YET, integers=INTEGERS) == []
    for name in ("user_id", "agent_id", "type", "from_number", "to_number", "phone_number_id"):
        assert call[name] == body[name], name
    assert call["direction"] == "outbound" and call["status"] == "queued"
    # stored by the core: the same call through Switchboard's own API
    stored = (await http.get(f"/v1/calls/{call['id']}", headers=BEARER)).json()
    assert (stored["agent_id"], stored["to_number"], stored["direction"], stored["user_id"]) == (
        body["agent_id"], "+14155550123", "outbound", body["user_id"])
    assert "compat" not in stored["metadata"]  # every Ovia field has its place in the core
    assert call["agent"]["name"] == stored["agent_name"]
    assert call["metadata"]["sip_trunk_id"] == stored["sip_trunk_id"]


@pytest.mark.timeout(60)
async def test_a_finished_call_fills_every_field(http: httpx.AsyncClient) -> None:
    """A demo call that was answered and analysed, shaped as Ovia's Call: transcript, duration,
    analysis, costs in dollars, transcript objects."""
    row = await first(http, "/v1/calls", status="completed", direction="outbound",
                      sort_by="duration_seconds")
    detail = (await http.get(f"/v1/calls/{row['id']}", headers=BEARER)).json()
    call = ovia_call(detail)
    assert shape_errors(EXAMPLE_RESPONSE, call, integers=INTEGERS, nullable=frozenset({
        "user_id", "recording_url", "metadata.rule_id", "metadata.call_tag"})) == []
    entries = detail["transcript"]["entries"]
    assert call["transcript"] == detail["transcript_text"] != ""
    assert [o["content"] for o in call["transcript_objects"]] == [e["text"] for e in entries]
    assert call["costs"]["total"] == detail["costs"]["total"] / 1_000_000
    assert call["duration"] == detail["duration_seconds"] > 0
    assert call["analysis"] == detail["analysis"]["summary"]


@pytest.mark.timeout(60)
async def test_an_inbound_call_is_added_as_a_record(http: httpx.AsyncClient) -> None:
    """Ovia's "call to add to the store": an inbound call someone made to the organization's
    number is stored as it happened, nothing is dialled."""
    body = await example_body(http, direction="inbound")
    body["from_number"], body["to_number"] = "+14155550123", body["from_number"]
    response = await http.post(URL, json=body, headers=BEARER)
    assert response.status_code == 200, response.text
    call = response.json()
    assert shape_errors(EXAMPLE_RESPONSE, call, nullable=RECORD, integers=INTEGERS) == []
    assert (call["direction"], call["type"], call["status"]) == ("inbound", "phone_call",
                                                                  "completed")
    assert (call["from_number"], call["to_number"], call["user_id"]) == (
        "+14155550123", body["to_number"], body["user_id"])
    events = (await http.get(f"/v1/calls/{call['id']}/events", headers=BEARER)).json()["events"]
    assert [e["event_type"] for e in events] == ["call.recorded"]


@pytest.mark.timeout(60)
async def test_a_web_call_is_added_as_the_core_web_call_record(http: httpx.AsyncClient) -> None:
    number = await first(http, "/v1/phone-numbers")  # the example's phone_number_id
    body = await example_body(http, type="web_call", from_number="Visitor on the pricing page",
                              to_number=number["number"])
    response = await http.post(URL, json=body, headers=BEARER)
    assert response.status_code == 200, response.text
    call = response.json()
    stored = (await http.get(f"/v1/calls/{call['id']}", headers=BEARER)).json()
    assert (stored["type"], stored["transport"], stored["direction"], stored["status"]) == (
        "web_call", "webrtc", "inbound", "completed")
    assert call["type"] == "web_call" and call["from_number"] == "Visitor on the pricing page"


@pytest.mark.timeout(60)
async def test_an_ovia_user_that_is_no_console_user_is_refused(http: httpx.AsyncClient) -> None:
    """Ovia's user_id names the user the call belongs to; a client sending one expects it to be
    someone the platform knows, not a call silently stored without its owner."""
    response = await http.post(URL, json=await example_body(http, user_id=SEED_UUID),
                               headers=BEARER)
    assert response.status_code == 422
    error = response.json()
    assert (error["field"], error["code"]) == ("user_id", "VALIDATION_ERROR")
    assert error["error"].startswith(f"user_id: no user {SEED_UUID}")
    assert "console user" in error["error"] and "GET /v1/users" in error["error"]


@pytest.mark.parametrize(("change", "field"), [
    ({"agent_id": None}, "agent_id"),  # left out
    ({"user_id": None}, "user_id"),  # Ovia requires it
    ({"type": "fax_call"}, "type"),
    ({"type": "test_call", "direction": "outbound"}, "direction"),  # a simulated caller calls in
    ({"direction": "sideways"}, "direction"),
    ({"to_number": "call me maybe"}, "to_number"),
    ({"phone_number_id": "no-such-number"}, "phone_number_id"),
    ({"colour": "blue"}, "colour"),  # not one of Ovia's fields
])
@pytest.mark.timeout(60)
async def test_a_bad_body_is_refused_naming_the_field(http: httpx.AsyncClient,
                                                      change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**(await example_body(http)), **change}.items() if v is not None}
    response = await http.post(URL, json=body, headers=BEARER)
    assert 400 <= response.status_code < 500
    error = response.json()
    assert error["field"] == field
    assert error["error"].startswith(f"{field}: ")
    assert "Extra inputs" not in error["error"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sb_not_a_key"},
                                     {"X-API-Key": KEY}])  # Samva's header is not Ovia's
@pytest.mark.timeout(60)
async def test_without_its_bearer_key_the_answer_is_401(http: httpx.AsyncClient,
                                                         headers: dict[str, str]) -> None:
    response = await http.post(URL, json=await example_body(http), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
