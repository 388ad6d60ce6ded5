"""POST /v1/calls with answering-machine detection: ``amd`` and ``voicemail_message`` stored in
the call's metadata as the dialler reads them, and a 422 naming the field for bad ones."""

from __future__ import annotations

from typing import Any

import pytest

from engine.client import ApiError, Client
from tests.harness.tenants import SEED_CALLS, Scratch, Tenant


async def test_amd_and_the_message_go_to_the_calls_metadata(scratch: Scratch) -> None:
    api, agent, number = scratch.api, scratch.agent, scratch.number
    call = await api.create_call(agent_id=agent["id"], phone_number_id=number["id"],
                                 to_number="+14155550123", metadata={"ticket": 9},
                                 amd="detect_and_leave_message",
                                 voicemail_message="Hi {{first_name}}, please call us back.")
    assert call["metadata"] == {"ticket": 9, "amd_mode": "detect_and_leave_message",
                                "voicemail_message": "Hi {{first_name}}, please call us back."}
    plain = await api.create_call(agent_id=agent["id"], phone_number_id=number["id"],
                                  to_number="+14155550124", amd="detect")
    assert plain["metadata"] == {"amd_mode": "detect"}
    none = await api.create_call(agent_id=agent["id"], phone_number_id=number["id"],
                                 to_number="+14155550125")
    assert "amd_mode" not in none["metadata"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amd": "guess"}, "amd"),
        ({"amd": "detect_and_leave_message"}, "voicemail_message"),
        ({"amd": "detect", "voicemail_message": "  "}, "voicemail_message"),
        ({"amd": "detect", "is_test": True}, "amd"),
    ],
)
async def test_bad_amd_fields_are_named(tapi: Client, tenant: Tenant, fields: dict[str, Any],
                                        field: str) -> None:
    body: dict[str, Any] = {"agent_id": tenant.agents[0]["id"],
                            "phone_number_id": tenant.numbers[0]["id"],
                            "to_number": "+14155550123", **fields}
    with pytest.raises(ApiError) as err:
        await tapi.create_call(**body)
    assert err.value.status == 422 and err.value.field == field, err.value
    assert (await tapi.list_calls(limit=1)).total == SEED_CALLS
