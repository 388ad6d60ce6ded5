"""Outbound webhooks: signed JSON events (status-update, end-of-call-report, assistant-request,
tool-calls, ping) to the organization's receivers, retried with backoff for reports, every
delivery logged."""

from engine.webhooks.backoff import (
    BACKOFF_BASE_S,
    BACKOFF_ENV,
    BACKOFF_FACTOR,
    MAX_ATTEMPTS,
    RETRIED_EVENTS,
    backoff_delays,
)
from engine.webhooks.deliveries import Delivery, DeliveryLog, MemoryDeliveryLog, SqlDeliveryLog
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
from engine.webhooks.targets import Target

__all__ = [
    "ASSISTANT_DEADLINE_S",
    "BACKOFF_BASE_S",
    "BACKOFF_ENV",
    "BACKOFF_FACTOR",
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
    "SqlDeliveryLog",
    "Target",
    "ToolRunner",
    "WebhookDispatcher",
    "WebhookError",
    "backoff_delays",
    "sign",
    "verify",
]
