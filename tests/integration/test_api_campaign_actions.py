"""Campaign start/pause transitions and bulk lead import."""

from __future__ import annotations

import pytest

from engine.client import ApiError, Client
from tests.harness.tenants import Scratch


async def test_start_and_pause(scratch: Scratch) -> None:
    api = scratch.api
    trunk = await api.sip_trunks.create(name="Carrier", host="127.0.0.1")
    number = await api.phone_numbers.update(scratch.number["id"], sip_trunk_id=trunk["id"])
    campaign = await api.campaigns.create(name="Renewals", agent_id=scratch.agent["id"],
                                          phone_number_id=number["id"])
    assert campaign["status"] == "draft"
    with pytest.raises(ApiError) as err:  # no leads yet
        await api.start_campaign(campaign["id"])
    assert err.value.status == 409 and "leads" in err.value.message
    with pytest.raises(ApiError) as err:
        await api.pause_campaign(campaign["id"])
    assert err.value.status == 409 and "draft" in err.value.message
    await api.leads(campaign["id"]).create(phone_number="+14155550001")
    started = await api.start_campaign(campaign["id"])
    assert started["status"] == "running" and started["started_at"]
    with pytest.raises(ApiError) as err:
        await api.start_campaign(campaign["id"])
    assert err.value.status == 409 and err.value.code == "CONFLICT"
    paused = await api.pause_campaign(campaign["id"])
    assert paused["status"] == "paused"
    resumed = await api.resume_campaign(campaign["id"])
    assert resumed["status"] == "running" and resumed["started_at"] == started["started_at"]
    with pytest.raises(ApiError) as err:
        await api.start_campaign("no-such-campaign")
    assert err.value.status == 404


async def test_start_needs_an_agent(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await api.campaigns.create(name="Orphan", agent_id=scratch.agent["id"])
    await api.leads(campaign["id"]).create(phone_number="+14155550001")
    await api.agents.delete(scratch.agent["id"])
    with pytest.raises(ApiError) as err:
        await api.start_campaign(campaign["id"])
    assert err.value.status == 409 and "agent" in err.value.message


async def test_bulk_import(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await api.campaigns.create(name="Bulk", agent_id=scratch.agent["id"])
    leads = [
        {"phone_number": "+14155550101", "name": "Ann", "variables": {"plan": "gold"}},
        {"phone_number": "+1 415 555 0102"},
        {"phone_number": "12345"},
        {"name": "No number"},
        {"phone_number": "+14155550103", "colour": "red"},
        {"phone_number": "+14155550104", "variables": ["not", "a", "dict"]},
        "not an object",
        {"phone_number": "+442071838750", "name": "Bea"},
    ]
    result = await api.import_leads(campaign["id"], leads)
    assert result["imported"] == 3
    assert [(e["index"], e["field"]) for e in result["errors"]] == [
        (2, "phone_number"), (3, "phone_number"), (4, "colour"), (5, "variables"), (6, None)]
    assert all(e["error"] for e in result["errors"])
    stored = await api.leads(campaign["id"]).all()
    assert sorted(lead["phone_number"] for lead in stored) == ["+14155550101", "+14155550102",
                                                               "+442071838750"]
    ann = next(lead for lead in stored if lead["name"] == "Ann")
    assert ann["variables"] == {"plan": "gold"} and ann["status"] == "pending"

    many = [{"phone_number": f"+1628555{i:04d}"} for i in range(2000)]  # none already a lead
    assert (await api.import_leads(campaign["id"], many))["imported"] == 2000
    too_many = [{"phone_number": "+14155550101"}] * 10_001
    with pytest.raises(ApiError) as err:
        await api.import_leads(campaign["id"], too_many)
    assert err.value.status == 413 and err.value.field == "leads"


async def test_bulk_import_into_another_organizations_campaign(api: Client, scratch: Scratch) -> None:
    campaign = await scratch.api.campaigns.create(name="Private", agent_id=scratch.agent["id"])
    with pytest.raises(ApiError) as err:
        await api.import_leads(campaign["id"], [{"phone_number": "+14155550101"}])
    assert err.value.status == 404
    assert (await scratch.api.leads(campaign["id"]).list()).total == 0
