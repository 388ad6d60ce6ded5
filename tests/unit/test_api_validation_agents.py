"""What the API refuses, in words a user can act on: an agent without a name or with an empty
script, a lead twice in one campaign, a number the parser cannot read, a campaign that cannot
start (a real engine on loopback)."""

from __future__ import annotations

import pytest

from engine.client import ApiError, Client

GREETING_SCRIPT = {"greeting": "Hello, how can I help?", "intents": []}


async def refused(request: object) -> ApiError:
    with pytest.raises(ApiError) as err:
        await request  # type: ignore[misc]
    assert err.value.status == 422
    return err.value


async def test_an_agent_needs_a_name(api: Client) -> None:
    error = await refused(api.agents.create(name="   "))
    assert error.field == "name" and "name" in error.message
    agent = await api.agents.create(name="Named")
    error = await refused(api.agents.update(agent["id"], name=""))
    assert error.field == "name"
    assert (await api.agents.get(agent["id"]))["name"] == "Named"


async def test_a_scripted_agent_sent_an_empty_script_is_refused(api: Client) -> None:
    error = await refused(api.agents.create(name="Empty", script={}))
    assert error.field == "script" and "greeting" in error.message
    agent = await api.agents.create(name="Scripted", script=GREETING_SCRIPT)
    error = await refused(api.agents.update(agent["id"], script={}))
    assert error.field == "script"
    assert (await api.agents.get(agent["id"]))["script"] == GREETING_SCRIPT


async def test_an_agent_created_without_a_script_or_with_an_llm_keeps_working(api: Client) -> None:
    plain = await api.agents.create(name="Only a name")  # the script is left to its default
    assert plain["script"] == {}
    llm = await api.agents.create(name="LLM", script={},
                                  brain={"kind": "llm", "base_url": "http://127.0.0.1:9/v1"})
    assert llm["brain"]["kind"] == "llm"


async def test_a_script_of_the_wrong_shape_names_the_field(api: Client) -> None:
    error = await refused(api.agents.create(name="Bad intents", script={"intents": [{"keywords": ["x"]}]}))
    assert error.field == "script.intents" and "intent 1 needs a name" in error.message
    error = await refused(api.agents.create(name="Bad greeting", script={"greeting": ["hi"]}))
    assert error.field == "script.greeting"


async def test_a_bad_number_is_refused_in_plain_words(api: Client) -> None:
    agent = await api.agents.create(name="Dialer")
    campaign = await api.campaigns.create(name="Plain words", agent_id=agent["id"])
    error = await refused(api.leads(campaign["id"]).create(phone_number="call me"))
    assert error.field == "phone_number"
    assert "“call me” is not a phone number" in error.message and "+14155550123" in error.message
    assert "did not seem" not in error.message and "(1)" not in error.message


async def test_a_number_is_a_lead_of_a_campaign_once(api: Client) -> None:
    agent = await api.agents.create(name="Dialer")
    campaign = await api.campaigns.create(name="Once", agent_id=agent["id"])
    await api.leads(campaign["id"]).create(phone_number="+14155550101")
    error = await refused(api.leads(campaign["id"]).create(phone_number="+1 415 555 0101"))
    assert error.field == "phone_number" and "already a lead" in error.message

    result = await api.import_leads(campaign["id"], [
        {"phone_number": "+14155550101"}, {"phone_number": "+14155550102"},
        {"phone_number": "+1 (415) 555-0102"}])
    assert result["imported"] == 1
    assert [(e["index"], e["field"]) for e in result["errors"]] == [(0, "phone_number"), (2, "phone_number")]
    assert "already a lead" in result["errors"][0]["error"]
    assert "lead 2 of this import" in result["errors"][1]["error"]
    numbers = sorted(lead["phone_number"] for lead in await api.leads(campaign["id"]).all())
    assert numbers == ["+14155550101", "+14155550102"]

    other = await api.campaigns.create(name="Elsewhere", agent_id=agent["id"])
    assert (await api.leads(other["id"]).create(phone_number="+14155550101"))["phone_number"]


async def test_a_campaign_that_cannot_start_says_why_without_ids(api: Client) -> None:
    agent = await api.agents.create(name="Dialer")
    campaign = await api.campaigns.create(name="No leads", agent_id=agent["id"])
    with pytest.raises(ApiError) as err:
        await api.start_campaign(campaign["id"])
    assert err.value.status == 409
    assert "no leads" in err.value.message and campaign["id"] not in err.value.message
