"""Provider keys (bring your own key) in words: a credential's last check, what saving one
answered, the catalogue's field names as labels. Pure: no Qt, no API calls."""

from __future__ import annotations

from console import formatting as fmt
from engine.client import Record

# The catalogue's field names (GET /v1/provider-credentials/providers) as a form labels them.
FIELD_LABELS = {"name": "Name", "base_url": "Base URL", "api_key": "API key"}
NOT_CHECKED_PREFIX = "not checked: "  # how the engine starts the message of a check it skipped


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or fmt.label(name)


def provider_label(catalogue: list[Record], provider: str) -> str:
    """The provider's display name from the catalogue (its id when the catalogue lacks it)."""
    for item in catalogue:
        if item.get("provider") == provider:
            return str(item.get("label") or provider)
    return provider


def _why_not_checked(record: Record) -> str:
    message = str(record.get("check_message") or "")
    if message.lower().startswith(NOT_CHECKED_PREFIX):
        message = message[len(NOT_CHECKED_PREFIX):]
    return message or "this provider's keys are not checked"


def check_state(record: Record) -> str:
    """The last check as the list shows it: ``Works · checked 7 Dec 2026, 14:03 CET``,
    ``Failed: <message>`` or ``Not checked: <why>``."""
    ok = record.get("check_ok")
    if ok is True:
        when = fmt.local_time(record.get("checked_at"), zone=True)
        return f"Works · checked {when}" if when else "Works"
    if ok is False:
        return f"Failed: {record.get('check_message') or 'the provider refused the key'}"
    return f"Not checked: {_why_not_checked(record)}"


def check_answer(record: Record, provider: str) -> str:
    """What a save or a new check answered, in plain words (``provider``: its display name)."""
    name = f"The key “{record.get('name')}”" if record.get("name") else f"The {provider} key"
    ok = record.get("check_ok")
    message = str(record.get("check_message") or "")
    if ok is True:
        return f"{name} works: {message}." if message else f"{name} works."
    if ok is False:
        return f"{name} does not work: {message or 'the provider refused it'}"
    return f"{name} is saved but not checked: {_why_not_checked(record)}."


__all__ = ["FIELD_LABELS", "check_answer", "check_state", "field_label", "provider_label"]
