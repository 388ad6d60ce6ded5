"""Generated conversations for the demo agents, varied from templates (numbers, dates, names)."""

from __future__ import annotations

from collections.abc import Callable

from engine.demo.conversations.appointments import appointment_conversation
from engine.demo.conversations.billing import billing_conversation
from engine.demo.conversations.model import CallContext, Conversation, ToolUse, TransferPlan, Turn
from engine.demo.conversations.orders import order_conversation

# keyed by the demo agent's role (see engine.demo.catalog)
CONVERSATIONS: dict[str, Callable[[CallContext], Conversation]] = {
    "orders": order_conversation,
    "billing": billing_conversation,
    "appointments": appointment_conversation,
}

__all__ = ["CONVERSATIONS", "CallContext", "Conversation", "ToolUse", "TransferPlan", "Turn"]
