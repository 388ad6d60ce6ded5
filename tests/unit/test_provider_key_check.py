"""What a key check says when the provider refuses: the API's own error message, never a web
server's HTML page; the key is never in it."""

from __future__ import annotations

import httpx
import pytest

from engine.calls.providers import MASK, PROVIDERS, check_key

KEY = "sk-test-0123456789"
BASE = "https://llm.example/v1"


def _check(response: httpx.Response) -> str:
    transport = httpx.MockTransport(lambda request: response)
    with httpx.Client(transport=transport) as client:
        result = check_key(PROVIDERS["openai-compatible"], BASE, KEY, client=client)
    assert not result.ok
    assert KEY not in result.message
    return result.message


def test_an_html_error_page_is_left_out() -> None:
    page = "<!DOCTYPE HTML><html><head><title>Error response</title></head><body>404</body></html>"
    message = _check(httpx.Response(404, html=page))
    assert message == f"GET {BASE}/models answered 404 Not Found"


@pytest.mark.parametrize("body", [{"error": {"message": "Incorrect API key provided"}},
                                  {"error": "Incorrect API key provided"},
                                  {"message": "Incorrect API key provided"},
                                  {"detail": "Incorrect API key provided"}])
def test_a_json_error_says_its_message(body: dict[str, object]) -> None:
    assert _check(httpx.Response(401, json=body)).endswith(
        "answered 401 Unauthorized: Incorrect API key provided")


def test_plain_text_is_kept_and_the_key_masked() -> None:
    message = _check(httpx.Response(403, text=f"key {KEY} is   not allowed"))
    assert message.endswith(f"answered 403 Forbidden: key {MASK} is not allowed"), message
