"""The demo's order-status and billing agents (their scripts, tools and voices) in an engine's
store, routed from their demo numbers."""

from __future__ import annotations

from engine.app import Engine
from engine.demo.scripts import (
    END_CALL_TOOL,
    ORDER_LOOKUP_TOOL,
    TRANSFER_TOOL,
    billing_script,
    order_status_script,
)
from engine.store import Agent, PhoneNumber, ToolTemplate, session_scope

ORDERS = "+14155550134"
BILLING = "+14155550178"


def add_demo_agents(engine: Engine, *, idle_timeout_s: int = 20) -> dict[str, str]:
    """The order-status and billing agents; their ids by role (``orders``, ``billing``)."""
    org = engine.organization_id
    with session_scope(engine.db) as session:
        tools = [ToolTemplate(organization_id=org, name=ORDER_LOOKUP_TOOL, type="function",
                              function={"name": ORDER_LOOKUP_TOOL}),
                 ToolTemplate(organization_id=org, name=TRANSFER_TOOL, type="transfer_call",
                              transfer={"destinations": [{"to": "sip:1001@pbx.example",
                                                          "label": "Billing desk"}]}),
                 ToolTemplate(organization_id=org, name=END_CALL_TOOL, type="end_call")]
        session.add_all(tools)
        ids = [t.id for t in tools]
        orders = order_status_script()
        billing = billing_script()
        agents = [
            Agent(organization_id=org, name="Order status", first_message=orders["greeting"],
                  script=orders, stt={"engine": "whisper", "model": "tiny.en"},
                  tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170, "pitch": 55},
                  tool_ids=ids, idle_timeout_seconds=idle_timeout_s),
            Agent(organization_id=org, name="Billing", first_message=billing["greeting"],
                  script=billing, stt={"engine": "whisper", "model": "tiny.en"},
                  tts={"engine": "espeak-ng", "voice": "en-gb-x-rp", "rate": 160, "pitch": 42},
                  tool_ids=ids[1:], idle_timeout_seconds=idle_timeout_s)]
        session.add_all(agents)
        session.add(PhoneNumber(organization_id=org, number=ORDERS, label="main",
                                agent_id=agents[0].id))
        session.add(PhoneNumber(organization_id=org, number=BILLING, label="billing",
                                agent_id=agents[1].id))
        return {"orders": agents[0].id, "billing": agents[1].id}


__all__ = ["BILLING", "ORDERS", "add_demo_agents"]
