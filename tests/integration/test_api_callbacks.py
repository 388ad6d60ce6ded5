"""The scheduled-callback API: a supervisor schedules one for a call, the callbacks are listed
(filtered by campaign and status, and per campaign) and a scheduled one canceled; bad input
answers 422 naming the field and writes nothing. (The shared engine has SIP off: nobody is
dialled here; the dialer placing callbacks is in tests/unit/campaigns/test_callbacks.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.client import ApiError
from tests.harness.tenants import Scratch


async def campaign_call(scratch: Scratch) -> tuple[dict[str, Any], dict[str, Any]]:
    api, agent = scratch.api, scratch.agent
    campaign = await api.campaigns.create(name="Renewals", agent_id=agent["id"])
    lead = await api.leads(campaign["id"]).create(phone_number="+12025550161", name="Ada Byron")
    call = await api.create_call(agent_id=agent["id"], from_number="+14155550100",
                                 to_number="+12025550161", campaign_id=campaign["id"],
                                 lead_id=lead["id"])
    return campaign, call


async def test_schedule_list_and_cancel_a_callback(scratch: Scratch) -> None:
    api = scratch.api
    campaign, call = await campaign_call(scratch)
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    made = await api.schedule_callback(call["id"], at.isoformat(), reason="asked to call back",
                                       instructions="Offer the renewal discount")
    assert made["status"] == "scheduled" and made["to_number"] == "+12025550161"
    assert made["campaign_id"] == campaign["id"] and made["call_id"] == call["id"]
    assert made["lead_id"] == call["lead_id"] and made["requested_by"] == "supervisor"
    assert datetime.fromisoformat(made["scheduled_at"]) == at
    assert made["instructions"] == "Offer the renewal discount" and made["callback_call_id"] is None

    other = await api.create_call(agent_id=scratch.agent["id"], from_number="+14155550100",
                                  to_number="+442071838750")
    elsewhere = await api.schedule_callback(other["id"], "in 2 hours", to_number="+442071838751")
    assert elsewhere["to_number"] == "+442071838751" and elsewhere["campaign_id"] is None

    listed = await api.callbacks()
    assert [c["id"] for c in listed.items] == [elsewhere["id"], made["id"]]  # soonest first
    assert [c["id"] for c in (await api.callbacks(campaign_id=campaign["id"])).items] == [made["id"]]
    assert [c["id"] for c in (await api.campaign_callbacks(campaign["id"])).items] == [made["id"]]
    assert (await api.get_callback(made["id"]))["reason"] == "asked to call back"

    canceled = await api.cancel_callback(made["id"])
    assert canceled["status"] == "canceled"
    assert [c["id"] for c in (await api.callbacks(status="canceled")).items] == [made["id"]]
    assert [c["id"] for c in (await api.callbacks(status="scheduled")).items] == [elsewhere["id"]]
    with pytest.raises(ApiError) as err:
        await api.cancel_callback(made["id"])
    assert err.value.status == 409 and "canceled" in err.value.message


@pytest.mark.parametrize(("fields", "field"), [
    ({"scheduled_at": "2020-01-01T10:00:00Z"}, "scheduled_at"),  # in the past
    ({"scheduled_at": "whenever suits"}, "scheduled_at"),
    ({"scheduled_at": "in 2 hours", "to_number": "12"}, "to_number"),
])
async def test_bad_callback_requests_name_the_field(scratch: Scratch, fields: dict[str, Any],
                                                    field: str) -> None:
    api = scratch.api
    _, call = await campaign_call(scratch)
    with pytest.raises(ApiError) as err:
        await api.schedule_callback(call["id"], **fields)
    assert err.value.status == 422 and err.value.field == field, err.value
    assert (await api.callbacks()).items == []


async def test_unknown_calls_callbacks_and_campaigns_are_not_found(scratch: Scratch) -> None:
    api = scratch.api
    for request in (api.schedule_callback("no-such-call", "in 2 hours"),
                    api.cancel_callback("no-such-callback"), api.get_callback("no-such-callback"),
                    api.campaign_callbacks("no-such-campaign")):
        with pytest.raises(ApiError) as err:
            await request
        assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        await api.callbacks(status="someday")
    assert err.value.status == 422 and err.value.field == "status"
