"""Signed webhook requests: the body's HMAC-SHA256 under the webhook's secret, and the headers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from engine import __version__

SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
EVENT_HEADER = "X-Switchboard-Event"
DELIVERY_HEADER = "X-Switchboard-Delivery"
SIGNATURE_PREFIX = "sha256="
USER_AGENT = f"Switchboard-Webhooks/{__version__}"


def encode(message: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body under the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether a signature header matches the body (constant-time comparison)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body), signature.strip())


def request_headers(custom: Mapping[str, str], secret: str, body: bytes, event: str,
                    delivery_id: str, timestamp: int) -> dict[str, str]:
    """The webhook's own headers, then ours (which they cannot replace).

    Without a secret the request carries no signature header."""
    ours = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        ours[SIGNATURE_HEADER] = sign(secret, body)
    reserved = {name.lower() for name in ours} | {SIGNATURE_HEADER.lower()}
    headers = {str(k): str(v) for k, v in custom.items() if str(k).lower() not in reserved}
    headers.update(ours)
    return headers


__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "encode",
           "request_headers", "sign", "verify"]
