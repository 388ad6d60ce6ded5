"""The campaign API around the dialer: legal moves only (409 naming the state), leads added and
removed only in draft or paused, cancel, bad input that names its field and writes nothing, the
do-not-call list, and a campaign's figures. (The shared engine has SIP off: nobody is dialled
here; the dialing itself is in tests/unit/campaigns and tests/integration/campaigns.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.client import ApiError, Client
from tests.harness.tenants import Scratch


async def ready_campaign(scratch: Scratch, leads: int = 2, **fields: Any) -> dict[str, Any]:
    api = scratch.api
    trunk = await api.sip_trunks.create(name="Carrier", host="127.0.0.1")
    await api.phone_numbers.update(scratch.number["id"], sip_trunk_id=trunk["id"])
    campaign = await api.campaigns.create(name="Check-ups", agent_id=scratch.agent["id"],
                                          phone_number_id=scratch.number["id"], **fields)
    if leads:
        await api.import_leads(campaign["id"], [
            {"phone_number": f"+1202555{101 + i:04d}", "name": f"Ann{i} Lee"} for i in range(leads)])
    return campaign


async def refused(call: Any, status: int = 409) -> ApiError:
    with pytest.raises(ApiError) as err:
        await call
    assert err.value.status == status, err.value
    return err.value


async def test_only_legal_moves(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await ready_campaign(scratch)
    cid = campaign["id"]
    for action in (api.pause_campaign, api.resume_campaign):
        err = await refused(action(cid))
        assert "the campaign is draft" in err.message and err.field == "status"
    assert (await api.start_campaign(cid))["status"] == "running"
    err = await refused(api.resume_campaign(cid))
    assert "the campaign is running" in err.message
    assert (await api.pause_campaign(cid))["status"] == "paused"
    err = await refused(api.start_campaign(cid))
    assert "the campaign is paused" in err.message
    assert (await api.resume_campaign(cid))["status"] == "running"
    canceled = await api.cancel_campaign(cid)
    assert canceled["status"] == "canceled" and canceled["completed_at"]
    for action in (api.start_campaign, api.pause_campaign, api.resume_campaign,
                   api.cancel_campaign):
        err = await refused(action(cid))
        assert "the campaign is canceled" in err.message
    leads = await api.leads(cid).all()  # nobody waiting is called any more
    assert {lead["status"] for lead in leads} == {"canceled"}


async def test_a_start_with_a_future_time_schedules(scratch: Scratch) -> None:
    api = scratch.api
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    campaign = await ready_campaign(scratch, scheduled_at=later)
    assert (await api.start_campaign(campaign["id"]))["status"] == "scheduled"
    err = await refused(api.pause_campaign(campaign["id"]))
    assert "the campaign is scheduled" in err.message
    assert (await api.start_campaign(campaign["id"]))["status"] == "running"  # now, then


async def test_leads_change_only_in_draft_or_paused(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await ready_campaign(scratch)
    cid = campaign["id"]
    extra = await api.leads(cid).create(phone_number="+12025550150", timezone="America/Chicago")
    assert extra["timezone"] == "America/Chicago"
    await api.start_campaign(cid)
    err = await refused(api.leads(cid).create(phone_number="+12025550151"))
    assert "running" in err.message
    err = await refused(api.import_leads(cid, [{"phone_number": "+12025550152"}]))
    assert "running" in err.message
    err = await refused(api.delete_lead(cid, extra["id"]))
    assert "running" in err.message
    await api.pause_campaign(cid)
    assert (await api.delete_lead(cid, extra["id"]))["success"]
    await api.leads(cid).create(phone_number="+12025550151")
    assert (await api.leads(cid).list()).total == 3
    await refused(api.delete_lead(cid, "no-such-lead"), 404)


async def test_bad_input_names_the_field_and_writes_nothing(scratch: Scratch) -> None:
    api = scratch.api
    err = await refused(api.campaigns.create(name="Never", agent_id=scratch.agent["id"],
                                             calling_hours_start="10:00",
                                             calling_hours_end="10:00"), 422)
    assert err.field == "calling_hours_end" and "never open" in err.message
    err = await refused(api.campaigns.create(name="Nowhere", agent_id=scratch.agent["id"],
                                             timezone="Mars/Olympus_Mons"), 422)
    assert err.field == "timezone"
    err = await refused(api.campaigns.create(name="No days", agent_id=scratch.agent["id"],
                                             calling_days=[]), 422)
    assert err.field == "calling_days"
    assert (await api.campaigns.list()).total == 0
    campaign = await api.campaigns.create(name="Day", agent_id=scratch.agent["id"],
                                          calling_hours_start="09:00")
    err = await refused(api.campaigns.update(campaign["id"], calling_hours_end="09:00"), 422)
    assert err.field == "calling_hours_end"
    err = await refused(api.campaigns.update(campaign["id"], amd="sometimes"), 422)
    err = await refused(api.leads(campaign["id"]).create(phone_number="+12025550101",
                                                         timezone="Nowhere/City"), 422)
    assert err.field == "timezone"
    result = await api.import_leads(campaign["id"], [
        {"phone_number": "+12025550101", "timezone": "Nowhere/City"},
        {"phone_number": "+12025550102", "timezone": "Europe/Paris"}])
    assert result["imported"] == 1 and result["errors"][0]["field"] == "timezone"
    # no number to call from
    err = await refused(api.start_campaign(campaign["id"]), 422)
    assert err.field == "phone_number_id"
    # a number without a trunk
    await api.campaigns.update(campaign["id"], phone_number_id=scratch.number["id"])
    err = await refused(api.start_campaign(campaign["id"]), 422)
    assert err.field == "phone_number_id" and "trunk" in err.message
    after = await api.campaigns.get(campaign["id"])
    assert after["status"] == "draft" and after["started_at"] is None


async def test_do_not_call(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await ready_campaign(scratch, leads=3)
    added = await api.add_do_not_call("+1 (202) 555-0101", "asked on the phone")
    assert added["number"] == "+12025550101" and added["leads_blocked"] == 1
    err = await refused(api.add_do_not_call("+12025550101"))
    assert err.field == "number"
    err = await refused(api.add_do_not_call("12345"), 422)
    assert err.field == "number"
    result = await api.import_do_not_call(
        "number,reason\n+12025550102,complaint\nnot a number,x\n+12025550101,again\n\n+442071838750,\n")
    assert (result["imported"], result["already_listed"], result["leads_blocked"]) == (2, 1, 1)
    assert result["errors"] == [{"row": 3, "field": "number", "error": result["errors"][0]["error"]}]
    err = await refused(api.import_do_not_call("phone_number_missing\n+12025550103\n"), 422)
    assert err.field == "number"
    listed = await api.do_not_call()
    assert listed.total == 3
    assert {e["number"] for e in listed.items} == {"+12025550101", "+12025550102", "+442071838750"}
    assert (await api.do_not_call(number="+12025550102")).items[0]["reason"] == "complaint"
    statuses = {lead["phone_number"]: lead["status"] for lead in await api.leads(campaign["id"]).all()}
    assert statuses == {"+12025550101": "do_not_call", "+12025550102": "do_not_call",
                        "+12025550103": "pending"}
    assert (await api.delete_do_not_call("+12025550102"))["success"]
    assert (await api.delete_do_not_call(added["id"]))["success"]
    await refused(api.delete_do_not_call(added["id"]), 404)
    assert (await api.do_not_call()).total == 1


async def test_another_organizations_list_is_its_own(api: Client, scratch: Scratch) -> None:
    await scratch.api.add_do_not_call("+12025550177")
    assert all(e["number"] != "+12025550177" for e in (await api.do_not_call(limit=100)).items)


async def test_stats_of_a_campaign_not_dialled_yet(scratch: Scratch) -> None:
    api = scratch.api
    campaign = await ready_campaign(scratch, leads=3)
    await api.add_do_not_call("+12025550103")
    stats = await api.campaign_stats(campaign["id"])
    assert stats["leads"]["total"] == 3
    assert stats["leads"]["by_status"]["pending"] == 2
    assert stats["leads"]["by_status"]["do_not_call"] == 1
    assert stats["progress"] == {"done": 1, "total": 3, "fraction": 0.3333}
    assert (stats["attempts"], stats["calls"], stats["answered"]) == (0, 0, 0)
    assert stats["answer_rate"] is None and stats["cost_usd"] == 0
    await refused(api.campaign_stats("no-such-campaign"), 404)
