"""Checks the schemas cannot express: phone numbers, references to other rows, consistency."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel, select

from engine.api.auth import Principal
from engine.api.errors import ApiError, invalid
from engine.campaigns import (
    CallingWindow,
    LifecycleError,
    WindowError,
    check_lead_status,
    check_leads_editable,
    zone,
)
from engine.store import (
    Agent,
    AnalysisTemplate,
    Campaign,
    Lead,
    PhoneNumber,
    ProviderCredential,
    SipTrunk,
    ToolTemplate,
)
from engine.store.numbers import to_e164


def e164(field: str, value: str) -> str:
    """The number in E.164 form, or a 422 naming the field (in plain words, not the parser's)."""
    try:
        return to_e164(value)
    except ValueError as exc:
        raise invalid(field, str(exc)) from None


def reference(session: Session, principal: Principal, model: type[SQLModel], field: str,
              ident: Any) -> None:
    """A foreign id must name a row of the caller's own organization."""
    if ident is None:
        return
    row = session.get(model, ident)
    if row is None or getattr(row, "organization_id", None) != principal.organization_id:
        raise invalid(field, f"no {model.__name__.lower()} with id {ident}")


SCRIPT_EXAMPLE = '{"greeting": "Hello, how can I help?", "intents": [...]}'


def _script(script: Any) -> None:
    """The shape the scripted brain reads (engine/demo/scripts.py documents it)."""
    if not isinstance(script, dict):
        raise invalid("script", "must be a JSON object")
    for key in ("greeting", "anything_else"):
        if script.get(key) is not None and not isinstance(script[key], str):
            raise invalid(f"script.{key}", "must be a text")
    for key in ("variables", "slots", "menu", "escalation", "goodbye", "fallback"):
        if script.get(key) is not None and not isinstance(script[key], dict):
            raise invalid(f"script.{key}", "must be a JSON object")
    intents = script.get("intents")
    if intents is None:
        return
    if not isinstance(intents, list):
        raise invalid("script.intents", "must be a list of intents")
    names: set[str] = set()
    for number, intent in enumerate(intents, start=1):
        name = intent.get("name") if isinstance(intent, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid("script.intents", f"intent {number} needs a name")
        if name in names:
            raise invalid("script.intents", f"two intents are named “{name}”")
        names.add(name)


def agent_sent(values: dict[str, Any], row: Any) -> None:
    """What a client sends for an agent: a name that is not blank, a script a scripted brain can run."""
    if "name" in values and not str(values["name"] or "").strip():
        raise invalid("name", "an agent needs a name")
    if "script" not in values or values["script"] is None:
        return
    _script(values["script"])
    brain = values.get("brain") or (getattr(row, "brain", None) if row is not None else None) or {}
    if not values["script"] and brain.get("kind", "scripted") == "scripted":
        raise invalid("script", "a scripted agent needs a script with at least a greeting or "
                                f"intents, e.g. {SCRIPT_EXAMPLE}")


def agent(session: Session, principal: Principal, values: dict[str, Any], _: Any) -> None:
    brain = values.get("brain")
    if brain is not None:
        kind = brain.get("kind", "scripted")
        if kind not in ("scripted", "llm"):
            raise invalid("brain.kind", "must be scripted or llm")
        credential = None
        if brain.get("credential_id") is not None:
            credential = session.get(ProviderCredential, str(brain["credential_id"]))
            if credential is None or credential.organization_id != principal.organization_id:
                raise invalid("brain.credential_id",
                              f"no provider credential with id {brain['credential_id']}")
        if "api_key" in brain:
            raise invalid("brain.api_key", "keys are not stored on agents; create a provider "
                                           "credential and name it in brain.credential_id")
        if kind == "llm" and not (brain.get("base_url") or (credential and credential.base_url)):
            raise invalid("brain.base_url", "an llm brain needs the base_url of an OpenAI-compatible API")
        temperature = brain.get("temperature")
        if temperature is not None and not (0 <= float(temperature) <= 2):
            raise invalid("brain.temperature", "must be between 0 and 2")
    stt = values.get("stt")
    if stt is not None and stt.get("engine", "whisper") not in ("whisper", "vosk"):
        raise invalid("stt.engine", "must be whisper or vosk")
    tts = values.get("tts")
    if tts is not None:
        if tts.get("engine", "espeak-ng") != "espeak-ng":
            raise invalid("tts.engine", "must be espeak-ng")
        rate = tts.get("rate")
        if rate is not None and not (80 <= int(rate) <= 450):
            raise invalid("tts.rate", "words per minute between 80 and 450")
    for name in ("idle_timeout_seconds", "max_duration_seconds"):
        if name in values and values[name] is not None and values[name] <= 0:
            raise invalid(name, "must be positive")
    for tool_id in values.get("tool_ids") or []:
        reference(session, principal, ToolTemplate, "tool_ids", tool_id)
    reference(session, principal, AnalysisTemplate, "analysis_template_id",
              values.get("analysis_template_id"))


def phone_number(session: Session, principal: Principal, values: dict[str, Any], row: Any) -> None:
    if "number" in values and values["number"] is not None:
        values["number"] = e164("number", values["number"])
        clash = session.exec(select(PhoneNumber).where(
            PhoneNumber.organization_id == principal.organization_id,
            PhoneNumber.number == values["number"])).first()
        if clash is not None and (row is None or clash.id != row.id):
            raise invalid("number", f"{values['number']} is already registered")
    reference(session, principal, Agent, "agent_id", values.get("agent_id"))
    reference(session, principal, SipTrunk, "sip_trunk_id", values.get("sip_trunk_id"))


def sip_trunk(_: Session, __: Principal, values: dict[str, Any], ___: Any) -> None:
    if "port" in values and values["port"] is not None and not (1 <= values["port"] <= 65535):
        raise invalid("port", "must be between 1 and 65535")
    if "transport" in values and values["transport"] not in (None, "udp", "tcp"):
        raise invalid("transport", "must be udp or tcp")
    for codec in values.get("codecs") or []:
        if codec not in ("PCMU", "PCMA", "G722", "opus", "telephone-event"):
            raise invalid("codecs", f"unknown codec {codec}")


def campaign(session: Session, principal: Principal, values: dict[str, Any], row: Any) -> None:
    reference(session, principal, Agent, "agent_id", values.get("agent_id"))
    reference(session, principal, PhoneNumber, "phone_number_id", values.get("phone_number_id"))
    hours = ("calling_hours_start", "calling_hours_end", "calling_days")
    if any(values.get(name) is not None for name in hours):
        merged = {name: values[name] if values.get(name) is not None else getattr(row, name, None)
                  for name in hours}
        defaults = Campaign.model_fields
        try:
            CallingWindow.of(
                merged["calling_hours_start"] or str(defaults["calling_hours_start"].default),
                merged["calling_hours_end"] or str(defaults["calling_hours_end"].default),
                merged["calling_days"] if merged["calling_days"] is not None else [0, 1, 2, 3, 4])
        except WindowError as exc:
            raise invalid(exc.field, exc.message) from None
    if values.get("timezone") is not None:
        try:
            zone("timezone", values["timezone"])
        except WindowError as exc:
            raise invalid("timezone", exc.message) from None
    for name in ("max_concurrent", "max_attempts", "calls_per_minute"):
        if name in values and values[name] is not None and values[name] < 1:
            raise invalid(name, "must be at least 1")
    for name in ("retry_busy_minutes", "retry_no_answer_minutes", "retry_delay_minutes"):
        if name in values and values[name] is not None and values[name] < 0:
            raise invalid(name, "must be 0 or more minutes")


def lead(session: Session, _: Principal, values: dict[str, Any], row: Any) -> None:
    campaign_id = values.get("campaign_id") or getattr(row, "campaign_id", None)
    owner = session.get(Campaign, campaign_id) if campaign_id is not None else None
    if row is None and owner is not None:
        try:
            check_leads_editable(owner.status, "add one")
        except LifecycleError as exc:
            raise ApiError(409, exc.message, "CONFLICT", "status") from None
    if row is not None and values.get("status") is not None:
        try:
            check_lead_status(values["status"], row.status, owner.status if owner else "draft")
        except LifecycleError as exc:
            raise ApiError(409, exc.message, "CONFLICT", "status") from None
        if values["status"] != row.status:  # queued again now, or never called again
            values["next_attempt_at"] = None
            values["outcome"] = values["status"] if values["status"] == "do_not_call" else row.outcome
    if values.get("timezone") is not None:
        try:
            zone("timezone", values["timezone"])
        except WindowError as exc:
            raise invalid("timezone", exc.message) from None
    if values.get("phone_number") is not None:
        values["phone_number"] = e164("phone_number", values["phone_number"])
        clash = session.exec(select(Lead).where(Lead.campaign_id == campaign_id,
                                                Lead.phone_number == values["phone_number"])).first()
        if clash is not None and (row is None or clash.id != row.id):
            raise invalid("phone_number", f"{values['phone_number']} is already a lead of this campaign")


def webhook(session: Session, principal: Principal, values: dict[str, Any], _: Any) -> None:
    from engine.store import WEBHOOK_EVENTS

    url = values.get("url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise invalid("url", "must be an http:// or https:// URL")
    for event in values.get("events") or []:
        if event not in WEBHOOK_EVENTS:
            raise invalid("events", f"unknown event {event}; known: {', '.join(WEBHOOK_EVENTS)}")
    reference(session, principal, Agent, "agent_id", values.get("agent_id"))


def tool_template(_: Session, __: Principal, values: dict[str, Any], ___: Any) -> None:
    kind = values.get("type")
    function = values.get("function") or {}
    if kind == "function" and function and not function.get("name"):
        raise invalid("function.name", "a function tool needs a name")
    url = function.get("url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise invalid("function.url", "must be an http:// or https:// URL")


__all__ = ["agent", "agent_sent", "campaign", "e164", "lead", "phone_number", "reference",
           "sip_trunk", "tool_template", "webhook"]
