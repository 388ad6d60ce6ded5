"""POST /v1/calls for every kind of call: Ovia's own example body, inbound and web call records
stored without dialling, a console user, tags; Callab's fields each accepted with its meaning or
refused with a reason naming the field (never pydantic's "extra inputs")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import select

from engine.client import ApiError
from engine.store import CallEvent, Campaign, Lead, session_scope
from tests.harness.api_engine import NUMBER, ApiEngine, open_api_engine

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

CALLEE = "+14155550123"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def eng(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiEngine]:
    async with open_api_engine(tmp_path_factory.mktemp("kinds")) as opened:
        yield opened


def event_types(eng: ApiEngine, call_id: str) -> list[str]:
    with session_scope(eng.engine.db) as session:
        return list(session.exec(select(CallEvent.event_type)
                                 .where(CallEvent.call_id == call_id)).all())


async def refused(eng: ApiEngine, body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as err:
        await eng.api.create_call(**body)
    assert err.value.status == 422, err.value
    assert "Extra inputs" not in err.value.message and "extra" not in err.value.message.lower()
    return err.value


async def test_ovias_example_body_is_accepted_as_it_is(eng: ApiEngine) -> None:
    body = {"user_id": eng.user_id, "agent_id": eng.agent["id"], "type": "phone_call",
            "from_number": NUMBER, "to_number": CALLEE, "phone_number_id": eng.number["id"]}
    call = await eng.api.create_call(**body)
    assert {k: call[k] for k in body} == body
    assert call["direction"] == "outbound" and call["status"] == "queued"  # dialled (SIP is off)
    assert event_types(eng, call["id"]) == ["call.queued"]
    # the same body as a record of a call the agent took: stored ended, nothing dialled
    inbound = await eng.api.create_call(**{**body, "direction": "inbound", "from_number": CALLEE,
                                           "to_number": NUMBER,
                                           "metadata": {"rule_id": "rule-7", "call_tag": "vip"}})
    assert inbound["direction"] == "inbound" and inbound["status"] == "completed"
    assert inbound["from_number"] == CALLEE and inbound["to_number"] == NUMBER
    assert inbound["phone_number_id"] == eng.number["id"] and inbound["user_id"] == eng.user_id
    assert inbound["metadata"] == {"rule_id": "rule-7", "call_tag": "vip"}
    assert inbound["ended_at"] and inbound["initiated_at"]
    assert event_types(eng, inbound["id"]) == ["call.recorded"]
    fetched = await eng.api.get_call(inbound["id"])
    assert fetched["user_id"] == eng.user_id and fetched["metadata"]["rule_id"] == "rule-7"


async def test_an_unknown_user_or_a_wrong_kind_is_named(eng: ApiEngine) -> None:
    base = {"agent_id": eng.agent["id"], "phone_number_id": eng.number["id"], "to_number": CALLEE}
    assert (await refused(eng, {**base, "user_id": "no-such-user"})).field == "user_id"
    assert (await refused(eng, {**base, "type": "<string>"})).field == "type"
    assert (await refused(eng, {**base, "direction": "sideways"})).field == "direction"
    assert (await refused(eng, {**base, "type": "test_call", "direction": "outbound"})).field == \
        "direction"
    record = {**base, "direction": "inbound", "from_number": CALLEE, "to_number": NUMBER}
    live = await refused(eng, {**record, "status": "in_progress"})
    assert live.field == "status" and "ended" in live.message
    early = await refused(eng, {**record, "initiated_at": "2026-03-02T10:00:00Z",
                                "ended_at": "2026-03-02T09:00:00Z"})
    assert early.field == "ended_at"
    # a dialled call's times are its own
    assert (await refused(eng, {**base, "ended_at": "2026-03-02T09:00:00Z"})).field == "ended_at"


async def test_records_of_every_kind(eng: ApiEngine) -> None:
    web = await eng.api.create_call(agent_id=eng.agent["id"], type="web_call",
                                    from_number="web:visitor-4")
    assert (web["type"], web["transport"], web["direction"], web["status"]) == \
        ("web_call", "webrtc", "inbound", "completed")
    assert web["from_number"] == "web:visitor-4" and event_types(eng, web["id"]) == ["call.recorded"]
    elsewhere = await eng.api.create_call(
        agent_id=eng.agent["id"], from_number=NUMBER, to_number=CALLEE, status="no_answer",
        initiated_at="2026-03-02T10:00:00Z", ended_at="2026-03-02T10:00:30Z", provider="carrier-x")
    assert (elsewhere["direction"], elsewhere["status"]) == ("outbound", "no_answer")
    assert elsewhere["phone_number_id"] == eng.number["id"]  # found by its number
    assert elsewhere["initiated_at"].startswith("2026-03-02T10:00:00")
    assert elsewhere["answered_at"] is None and elsewhere["duration_seconds"] is None
    assert elsewhere["metadata"] == {"provider": "carrier-x"}
    answered = await eng.api.create_call(
        agent_id=eng.agent["id"], direction="inbound", from_number=CALLEE, to_number=NUMBER,
        initiated_at="2026-03-02T10:00:00Z", answered_at="2026-03-02T10:00:05Z",
        ended_at="2026-03-02T10:01:05Z")
    assert answered["duration_seconds"] == 60 and answered["status"] == "completed"
    assert answered["error"] is None
    failed = await eng.api.create_call(
        agent_id=eng.agent["id"], from_number=NUMBER, to_number=CALLEE, status="failed",
        metadata={"error_code": "503", "error_message": "Service Unavailable"})
    assert failed["error"] == {"code": "503", "message": "Service Unavailable"}  # one shape


async def test_callabs_fields_have_their_meaning_or_a_reason(eng: ApiEngine) -> None:
    with session_scope(eng.engine.db) as session:
        campaign = Campaign(organization_id=eng.organization_id, name="Renewals",
                            agent_id=eng.agent["id"], phone_number_id=eng.number["id"])
        session.add(campaign)
        lead = Lead(organization_id=eng.organization_id, campaign_id=campaign.id,
                    phone_number="+14155550199")
        session.add(lead)
        campaign_id, lead_id = campaign.id, lead.id
    # contact, direction, test flag, dynamic variables, notes, metadata: ours, with their meaning
    call = await eng.api.create_call(
        agent_id=eng.agent["id"], campaign_id=campaign_id, lead_id=lead_id,
        phone_number_id=eng.number["id"], to_number="+14155550199", direction="outbound",
        is_test=False, dynamic_variables={"first_name": "Ana"}, notes="renewal, second try",
        metadata={"crm": "A-1"})
    assert call["lead_id"] == lead_id and call["campaign_id"] == campaign_id
    assert call["dynamic_variables"] == {"first_name": "Ana"}
    assert call["notes"] == "renewal, second try" and call["metadata"] == {"crm": "A-1"}
    # the provider: a record keeps who carried it; a call the engine places has none to choose
    base = {"agent_id": eng.agent["id"], "phone_number_id": eng.number["id"], "to_number": CALLEE}
    provider = await refused(eng, {**base, "provider": "twilio"})
    assert provider.field == "provider" and "trunk" in provider.message
    # Callab's own names: refused, naming the field and ours
    for name, value, ours in [("ai_agent_id", eng.agent["id"], "agent_id"),
                              ("contact_id", lead_id, "lead_id"),
                              ("call_provider", "twilio", "provider"),
                              ("call_from", NUMBER, "from_number"),
                              ("call_to", CALLEE, "to_number"),
                              ("call_direction", "outbound", "direction"),
                              ("agent_dynamic_variables", {}, "dynamic_variables")]:
        err = await refused(eng, {**base, name: value})
        assert err.field == name and ours in err.message, err
    for tenant in ("company_id", "workspace_id"):
        err = await refused(eng, {**base, tenant: "3c90c3cc-0d44-4b50-8888-8dd25736052a"})
        assert err.field == tenant and "organization" in err.message
    odd = await refused(eng, {**base, "colour": "blue"})
    assert odd.field == "colour" and "not a field" in odd.message


async def test_tags_are_stored_returned_and_checked(eng: ApiEngine) -> None:
    base = {"agent_id": eng.agent["id"], "direction": "inbound", "from_number": CALLEE,
            "to_number": NUMBER}
    call = await eng.api.create_call(**base, tags=["vip", " renewal ", "vip"])
    assert call["tags"] == ["vip", "renewal"]
    updated = await eng.api.update_call(call["id"], tags=["escalated"])
    assert updated["tags"] == ["escalated"]
    assert (await eng.api.get_call(call["id"]))["tags"] == ["escalated"]
    for name, ours in [("call_rating", "rating"), ("colour", None)]:
        with pytest.raises(ApiError) as err:
            await eng.api.update_call(call["id"], **{name: 4})
        assert err.value.status == 422 and err.value.field == name, err.value
        assert (ours or "not a field of a call's update") in err.value.message
        assert "Extra inputs" not in err.value.message
    for tags, field in [([f"t{i}" for i in range(21)], "tags"),
                        (["a" * 51], "tags.0"), (["ok", "  "], "tags.1"), ([7], "tags.0"),
                        ("vip", "tags")]:
        err = await refused(eng, {**base, "tags": tags})
        assert err.field == field, (tags, err)
