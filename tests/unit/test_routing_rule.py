"""The routing rule an inbound call matched, as its metadata records it: the dialled phone
number's id, and whether the number's agent or the assistant-request answer took the call."""

from __future__ import annotations

from pathlib import Path

from engine.calls.routing import apply_choice, lookup_route
from engine.store import Agent, PhoneNumber, session_scope
from tests.harness.stores import fresh_store


def test_the_matched_number_is_the_rule(tmp_path: Path) -> None:
    db, org = fresh_store(tmp_path / "routing.db")
    with session_scope(db) as session:
        desk, sales = Agent(organization_id=org, name="Desk"), Agent(organization_id=org, name="Sales")
        session.add_all([desk, sales])
        session.flush()
        number = PhoneNumber(organization_id=org, number="+14155550170", agent_id=desk.id)
        session.add(number)
        session.flush()
        number_id, desk_id, sales_id = number.id, desk.id, sales.id
    try:
        route = lookup_route(db, "14155550170")
        assert route is not None and route.agent_id == desk_id
        assert route.rule_metadata == {"rule_id": number_id, "routed_by": "phone_number"}
        apply_choice(db, route, {"dynamic_variables": {"x": 1}})  # the same agent
        assert route.rule_metadata["routed_by"] == "phone_number"
        apply_choice(db, route, {"agent_id": sales_id})
        assert route.agent_id == sales_id
        assert route.rule_metadata == {"rule_id": number_id, "routed_by": "assistant_request"}
        assert lookup_route(db, "19995550000") is None
    finally:
        db.dispose()
