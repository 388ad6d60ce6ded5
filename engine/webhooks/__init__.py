"""Outbound webhooks: signed JSON events (status-update, end-of-call-report, assistant-request,
tool-calls, ping) to the organization's receivers, retried with backoff for reports, every
delivery logged.

The face is what the engine and its API take from webhooks: the dispatcher (its deliveries,
tool runner and errors), the targets of an event, the assistant-request deadline, and the
signing and retry rules a receiver (or a test) checks against."""

from engine.webhooks.backoff import (
    BACKOFF_BASE_S,
    BACKOFF_ENV,
    MAX_ATTEMPTS,
    RETRIED_EVENTS,
    backoff_delays,
)
from engine.webhooks.deliveries import Delivery, DeliveryLog, MemoryDeliveryLog
from engine.webhooks.dispatcher import (
    ASSISTANT_DEADLINE_S,
    ToolRunner,
    WebhookDispatcher,
    WebhookError,
)
from engine.webhooks.sender import Sender
from engine.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify,
)
from engine.webhooks.targets import Target, targets_for

__all__ = [
    "ASSISTANT_DEADLINE_S",
    "BACKOFF_BASE_S",
    "BACKOFF_ENV",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_ATTEMPTS",
    "RETRIED_EVENTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Delivery",
    "DeliveryLog",
    "MemoryDeliveryLog",
    "Sender",
    "Target",
    "ToolRunner",
    "WebhookDispatcher",
    "WebhookError",
    "backoff_delays",
    "sign",
    "targets_for",
    "verify",
]
