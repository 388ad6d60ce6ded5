"""The providers a bring-your-own-key credential may be for, each with its fields (which are
secret), the base URL it defaults to, whether the engine's agents use it, and how its key is
checked on save: one authenticated ``GET`` of a cheap listing (``{base_url}/models`` for the
OpenAI-compatible APIs), with a short timeout. Blocking: run :func:`check_key` in a worker thread.

The key goes only into the check's request header: it is never logged, and a message that would
carry it (an echoing server, an error text) has it masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

CHECK_TIMEOUT_S = 5.0  # the whole check; a save waits for it
MESSAGE_CHARS = 300  # of a provider's error answer kept as the check's message
MASK = "****"


@dataclass(frozen=True)
class ProviderField:
    name: str
    description: str
    required: bool = False
    secret: bool = False

    def view(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "required": self.required,
                "secret": self.secret}


@dataclass(frozen=True)
class Provider:
    """One provider of the catalogue."""

    name: str
    label: str
    kind: str  # llm | stt | tts: what its key serves
    default_base_url: str | None
    check_path: str | None  # GET {base_url}{check_path} with the key; None: not checkable
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer "  # the header value is scheme + key
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    agents_use: bool = True  # an agent's brain (brain.credential_id) can use the key
    note: str = ""

    def fields(self) -> list[ProviderField]:
        base = ProviderField(
            "base_url", "the API's base URL" + (
                f" (default {self.default_base_url})" if self.default_base_url else
                " (without it the key is not checked, and the agent's brain.base_url is used)"))
        return [ProviderField("name", "a name to tell credentials apart"), base,
                ProviderField("api_key", "the provider's API key (write-only: never returned)",
                              required=True, secret=True)]

    def view(self) -> dict[str, Any]:
        return {"provider": self.name, "label": self.label, "kind": self.kind,
                "agents_use": self.agents_use, "default_base_url": self.default_base_url,
                "checked_on_save": self.check_path is not None,
                "check": f"GET {{base_url}}{self.check_path}" if self.check_path else None,
                "fields": [f.view() for f in self.fields()], "note": self.note or None}


_BRAIN = "Usable by an agent's llm brain (brain.credential_id) through its chat completions API."
_SPEECH = ("Kept for reference: the engine's agents listen and speak with local engines "
           "(whisper, vosk, espeak-ng) and do not use this key yet.")

# The OpenAI-compatible chat APIs an llm brain can talk to, and the two speech providers the
# seeds name. Base URLs and check endpoints as each provider documents them.
PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("openai-compatible", "OpenAI-compatible API (any)", "llm", None, "/models",
             note=_BRAIN + " llama.cpp, vLLM, Ollama, LM Studio and hosted APIs that speak the "
                           "OpenAI protocol."),
    Provider("openai", "OpenAI", "llm", "https://api.openai.com/v1", "/models", note=_BRAIN),
    Provider("anthropic", "Anthropic (OpenAI SDK compatibility)", "llm",
             "https://api.anthropic.com/v1", "/models", auth_header="x-api-key", auth_scheme="",
             extra_headers={"anthropic-version": "2023-06-01"}, note=_BRAIN),
    Provider("groq", "Groq", "llm", "https://api.groq.com/openai/v1", "/models", note=_BRAIN),
    Provider("mistral", "Mistral AI", "llm", "https://api.mistral.ai/v1", "/models", note=_BRAIN),
    Provider("together", "Together AI", "llm", "https://api.together.xyz/v1", "/models",
             note=_BRAIN),
    Provider("deepgram", "Deepgram", "stt", "https://api.deepgram.com/v1", "/projects",
             auth_scheme="Token ", agents_use=False, note=_SPEECH),
    Provider("elevenlabs", "ElevenLabs", "tts", "https://api.elevenlabs.io/v1", "/user",
             auth_header="xi-api-key", auth_scheme="", agents_use=False, note=_SPEECH),
)}


@dataclass(frozen=True)
class KeyCheck:
    ok: bool
    message: str


def _masked(text: str, key: str) -> str:
    return text.replace(key, MASK) if key else text


def check_key(provider: Provider, base_url: str, api_key: str, *,
              client: httpx.Client | None = None, timeout_s: float = CHECK_TIMEOUT_S) -> KeyCheck:
    """Blocking: whether the provider accepts the key (its listing answers 2xx)."""
    if provider.check_path is None:
        return KeyCheck(False, "this provider's keys are not checked")
    url = base_url.rstrip("/") + provider.check_path
    headers = {provider.auth_header: provider.auth_scheme + api_key, **provider.extra_headers}
    try:
        if client is not None:
            response = client.get(url, headers=headers, timeout=timeout_s)
        else:
            with httpx.Client(timeout=timeout_s, follow_redirects=False) as own:
                response = own.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return KeyCheck(False, _masked(f"GET {url} failed: {type(exc).__name__}: {exc}"
                                       [:MESSAGE_CHARS], api_key))
    if response.is_success:
        count = _listed(response)
        listed = f" ({count} listed)" if count is not None else ""
        return KeyCheck(True, f"GET {url} answered {response.status_code}{listed}")
    detail = _error_detail(response)[:MESSAGE_CHARS]
    return KeyCheck(False, _masked(f"GET {url} answered {response.status_code} "
                                   f"{response.reason_phrase}: {detail}".rstrip(": "), api_key))


def _error_detail(response: httpx.Response) -> str:
    """What a refusal says: an API's JSON error message (``{"error": {"message": …}}``,
    ``{"error": "…"}``, ``{"message": …}``, ``{"detail": …}``), its plain text, or nothing for an
    HTML page (a web server's error page says no more than its status)."""
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "")
        text = response.text.lstrip()
        if "html" in kind or text[:1] == "<":
            return ""
        return " ".join(text.split())
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        for found in (error, body.get("message"), body.get("detail")):
            if isinstance(found, str) and found.strip():
                return " ".join(found.split())
    return " ".join(response.text.split())


def _listed(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    data = body.get("data") if isinstance(body, dict) else None
    return len(data) if isinstance(data, list) else None


__all__ = ["CHECK_TIMEOUT_S", "PROVIDERS", "KeyCheck", "Provider", "ProviderField", "check_key"]
