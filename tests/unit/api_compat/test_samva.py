"""Samva's ``GET /api/v1/voice/calls`` under /compat/samva: its ``X-API-Key``, its camelCase
query and items, its pagination; the same calls, in the same order, as Switchboard's own list."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.unit.api_compat.keys import BEARER, DEMO_CALLS, KEY
from tests.unit.api_compat.shapes import shape_errors

URL = "/compat/samva/api/v1/voice/calls"
SAMVA = {"X-API-Key": KEY}
TIME = "2019-08-24T14:15:22Z"
MATCH = {"menuItemId": "string", "menuItemLabel": "string", "confidence": 0, "matchedText": "string"}

# The seed's example response (004_bf5f37e41a760045.txt); customFields' keys there
# (property1, property2) are placeholders for a client's own keys
EXAMPLE_RESPONSE: dict[str, Any] = {
    "items": [{
        "id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
        "organizationId": "7bc05553-4b68-44e8-b7bc-37be63c6d9e9", "transport": "webrtc",
        "telnyxCallControlId": "string", "cfSessionId": "string", "direction": "inbound",
        "from": "string", "to": "string", "phoneNumberId": "8e9ce3fb-4d22-4fe3-baa7-b7892dd942d7",
        "voiceAgentId": "76faa691-e3de-464f-8a1b-6da7c28e3c80", "status": "queued",
        "initiatedAt": TIME, "answeredAt": TIME, "endedAt": TIME,
        "durationSeconds": -9007199254740991, "transcriptUrl": "string", "recordingUrl": "string",
        "summary": "string", "conversationId": "ee6e55e8-45fe-4a3e-9bc8-4669f9fdf77a",
        "metadata": {
            "cfTrackIds": {"audio": "string", "video": "string"}, "sttLanguage": "string",
            "ttsVoice": "string", "menuMatches": [MATCH], "menuFinalSelection": MATCH,
            "bargeInCount": -9007199254740991, "errorCode": "string", "errorMessage": "string",
            "customFields": {},
        },
        "createdAt": TIME, "updatedAt": TIME,
    }],
    "pagination": {"page": -9007199254740991, "limit": -9007199254740991,
                   "total": -9007199254740991, "totalPages": -9007199254740991},
}
INTEGERS = frozenset({"items[].durationSeconds", "items[].metadata.bargeInCount", "pagination.page",
                      "pagination.limit", "pagination.total", "pagination.totalPages"})
# Switchboard has no Telnyx, Cloudflare or conversation ids; the demo calls have no recordings;
# the rest depends on how far a call got
NULLABLE = frozenset(f"items[].{name}" for name in (
    "telnyxCallControlId", "cfSessionId", "conversationId", "recordingUrl",
    "metadata.cfTrackIds", "phoneNumberId", "answeredAt", "endedAt", "durationSeconds",
    "metadata.menuFinalSelection", "metadata.errorCode", "metadata.errorMessage",
    "metadata.ttsVoice", "metadata.sttLanguage", "metadata.bargeInCount",
    "metadata.menuMatches[].matchedText", "metadata.menuMatches[].confidence"))


async def samva(http: httpx.AsyncClient, params: Any = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
    return await http.get(URL, params=params, headers=SAMVA if headers is None else headers)


async def core_ids(http: httpx.AsyncClient, **params: Any) -> tuple[list[str], int]:
    response = await http.get("/v1/calls", params=params, headers=BEARER)
    assert response.status_code == 200, response.text
    body = response.json()
    return [row["id"] for row in body["items"]], body["pagination"]["total"]


@pytest.mark.timeout(60)
async def test_the_seed_request_lists_calls_in_samva_shape(http: httpx.AsyncClient) -> None:
    response = await samva(http)  # the seed's example: no query at all
    assert response.status_code == 200, response.text
    page = response.json()
    assert shape_errors(EXAMPLE_RESPONSE, page, nullable=NULLABLE, integers=INTEGERS) == []
    ids, total = await core_ids(http)  # Samva's defaults are Switchboard's: 20, newest first
    assert [item["id"] for item in page["items"]] == ids
    assert page["pagination"] == {"page": 1, "limit": 20, "total": total,
                                  "totalPages": (total + 19) // 20}
    assert {item["transport"] for item in page["items"]} <= {"telephony", "webrtc"}


@pytest.mark.parametrize(("sort_by", "core_sort"), [("initiatedAt", "initiated_at"),
                                                    ("endedAt", "ended_at"),
                                                    ("durationSeconds", "duration_seconds")])
@pytest.mark.timeout(60)
async def test_pages_and_sorts_are_the_core_list(http: httpx.AsyncClient, sort_by: str,
                                                 core_sort: str) -> None:
    response = await samva(http, {"page": 3, "limit": 7, "sortBy": sort_by, "sortOrder": "asc"})
    assert response.status_code == 200, response.text
    ids, total = await core_ids(http, page=3, limit=7, sort_by=core_sort, sort_order="asc")
    assert [item["id"] for item in response.json()["items"]] == ids
    assert response.json()["pagination"]["total"] == total


@pytest.mark.timeout(60)
async def test_filters_as_json_or_deep_object_are_the_core_filters(http: httpx.AsyncClient) -> None:
    agent = (await http.get("/v1/agents", params={"limit": 1}, headers=BEARER)).json()["items"][0]
    as_json = await samva(http, {"limit": 100, "filters": json.dumps(
        {"status": ["completed", "failed"], "direction": "inbound", "voiceAgentId": agent["id"]})})
    deep = await samva(http, {"limit": 100, "filters[status]": "completed,failed",
                              "filters[direction]": "inbound", "filters[voiceAgentId]": agent["id"]})
    ids, total = await core_ids(http, limit=100, status="completed,failed", direction="inbound",
                                agent_id=agent["id"])
    assert 0 < total < 300
    for response in (as_json, deep):
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == ids
        assert response.json()["pagination"]["total"] == total
        assert {(i["status"], i["direction"], i["voiceAgentId"]) for i in response.json()["items"]} \
            <= {("completed", "inbound", agent["id"]), ("failed", "inbound", agent["id"])}


@pytest.mark.parametrize(("samva_transport", "core_transport"), [("webrtc", "webrtc"),
                                                                  ("telephony", "sip")])
@pytest.mark.timeout(60)
async def test_the_transport_filter_is_the_core_filter(http: httpx.AsyncClient,
                                                       samva_transport: str,
                                                       core_transport: str) -> None:
    response = await samva(http, {"limit": 100, "filters[transport]": samva_transport})
    assert response.status_code == 200, response.text
    ids, total = await core_ids(http, limit=100, transport=core_transport)
    assert 0 < total < DEMO_CALLS
    assert [item["id"] for item in response.json()["items"]] == ids
    assert response.json()["pagination"]["total"] == total
    assert {item["transport"] for item in response.json()["items"]} == {samva_transport}


@pytest.mark.timeout(60)
async def test_the_transcript_url_is_the_core_transcript_file(http: httpx.AsyncClient) -> None:
    page = (await samva(http, {"limit": 5, "filters[status]": "completed"})).json()
    item = page["items"][0]
    assert item["transcriptUrl"] == f"/v1/calls/{item['id']}/transcript"
    detail = (await http.get(f"/v1/calls/{item['id']}", headers=BEARER)).json()
    assert item["transcriptUrl"] == detail["transcript_url"]
    text = await http.get(item["transcriptUrl"], headers=BEARER)
    assert text.status_code == 200 and text.text.rstrip("\n") == detail["transcript_text"] != ""


@pytest.mark.timeout(60)
async def test_items_carry_the_rows_metadata(http: httpx.AsyncClient) -> None:
    """The items' metadata is read from the list rows themselves: a client's own fields set on
    a call (``metadata.custom``) show as Samva's customFields."""
    item = (await samva(http, {"limit": 1})).json()["items"][0]
    patched = await http.patch(f"/v1/calls/{item['id']}", headers=BEARER,
                               json={"metadata": {"custom": {"crm_ref": "A-17"}}})
    assert patched.status_code == 200, patched.text
    again = (await samva(http, {"limit": 1})).json()["items"][0]
    assert again["id"] == item["id"]
    assert again["metadata"]["customFields"] == {"crm_ref": "A-17"}


@pytest.mark.timeout(60)
async def test_call_metadata_in_samva_words(http: httpx.AsyncClient) -> None:
    """STT language, TTS voice, barge-ins and IVR menu matches from the calls' metadata."""
    with_menu = []
    for number in (1, 2, 3):
        page = (await samva(http, {"page": number, "limit": 100})).json()
        with_menu += [i for i in page["items"] if i["metadata"]["menuMatches"]]
        answered = [i for i in page["items"] if i["answeredAt"]]
        assert all(i["metadata"]["sttLanguage"] == "en-US" for i in answered)
        assert all(isinstance(i["metadata"]["bargeInCount"], int) for i in answered)
    assert with_menu, "the demo's billing calls pick from a key-press menu"
    call = with_menu[0]
    matches = call["metadata"]["menuMatches"]
    assert all(m["confidence"] == 1.0 and m["menuItemId"] == m["matchedText"] for m in matches)
    assert call["metadata"]["menuFinalSelection"] == matches[-1]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 101}, "limit"),
    ({"page": 0}, "page"),
    ({"sortBy": "cost"}, "sortBy"),
    ({"sortOrder": "up"}, "sortOrder"),
    ({"sort_by": "initiated_at"}, "sort_by"),  # Switchboard's name, not Samva's: not ignored
    ({"filters": "status=completed"}, "filters"),
    ({"filters": json.dumps({"transport": "sip"})}, "filters.transport"),  # Samva: telephony
    ({"filters[transport]": "pigeon"}, "filters.transport"),
    ({"filters[durationSeconds]": "60"}, "filters.durationSeconds"),
    ({"filters[colour]": "blue"}, "filters.colour"),
    ({"filters[status]": "ringing_twice"}, "filters.status"),
    ({"filters[direction]": "sideways"}, "filters.direction"),
    ({"filters[initiatedAfter]": "last tuesday"}, "filters.initiatedAfter"),
    ({"filters": json.dumps({"from": "+1415", "to": "+1415"})}, "filters.to"),
])
@pytest.mark.timeout(60)
async def test_a_bad_query_is_refused_naming_the_parameter(http: httpx.AsyncClient,
                                                           params: dict[str, Any], field: str) -> None:
    response = await samva(http, params)
    assert response.status_code == 422
    error = response.json()
    assert error["field"] == field
    assert error["error"].startswith(f"{field}: ")


@pytest.mark.parametrize("headers", [{"X-API-Key": "sb_not_a_key"}, {"X-Other": "1"},
                                     {"Authorization": f"Bearer {KEY}"}])  # not Samva's header
@pytest.mark.timeout(60)
async def test_without_its_x_api_key_the_answer_is_401(http: httpx.AsyncClient,
                                                        headers: dict[str, str]) -> None:
    response = await samva(http, None, headers)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
