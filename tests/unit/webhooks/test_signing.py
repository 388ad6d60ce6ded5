"""Signing: HMAC-SHA256 of the exact body, the headers a receiver checks."""

from __future__ import annotations

import json

from engine.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from engine.webhooks.signing import encode, request_headers

# RFC-style published vector: HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog")
FOX = b"The quick brown fox jumps over the lazy dog"
FOX_HMAC = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_sign_is_hmac_sha256_hex_of_the_body() -> None:
    assert sign("key", FOX) == f"sha256={FOX_HMAC}"


def test_verify_accepts_only_the_exact_body_and_secret() -> None:
    body = encode({"message": {"type": "ping", "text": "naïve ☎"}})
    signature = sign("s3cret", body)
    assert verify("s3cret", body, signature)
    assert verify("s3cret", body, f" {signature} ")
    assert not verify("other", body, signature)
    assert not verify("s3cret", body + b" ", signature)
    assert not verify("s3cret", body, None)
    assert not verify("s3cret", body, "sha256=" + "0" * 64)


def test_encode_is_compact_utf8_json() -> None:
    body = encode({"a": [1, 2], "b": "é"})
    assert body == '{"a":[1,2],"b":"é"}'.encode()
    assert json.loads(body) == {"a": [1, 2], "b": "é"}


def test_headers_carry_event_timestamp_delivery_and_signature() -> None:
    body = b'{"x":1}'
    headers = request_headers({"Authorization": "Bearer abc", "X-Tenant": "t1"}, "k", body,
                              "status-update", "d-1", 1_700_000_000)
    assert headers[SIGNATURE_HEADER] == sign("k", body)
    assert headers[EVENT_HEADER] == "status-update"
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert headers[DELIVERY_HEADER] == "d-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer abc"
    assert headers["X-Tenant"] == "t1"


def test_custom_headers_cannot_replace_ours() -> None:
    body = b"{}"
    custom = {"x-switchboard-signature": "sha256=forged", "X-Switchboard-Event": "forged",
              "content-type": "text/plain"}
    headers = request_headers(custom, "k", body, "ping", "d", 1)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert len(lowered) == len(headers)  # no duplicates differing only in case
    assert lowered["x-switchboard-signature"] == sign("k", body)
    assert lowered["x-switchboard-event"] == "ping"
    assert lowered["content-type"] == "application/json"


def test_no_secret_no_signature_header() -> None:
    headers = request_headers({"x-switchboard-signature": "sha256=forged"}, "", b"{}", "ping", "d", 1)
    assert SIGNATURE_HEADER.lower() not in {k.lower() for k in headers}
