"""Post-call analysis: sentiment, outcome, success, summary and structured data.

The heuristic analysis runs offline and instantly, from the transcript alone, guided by the
agent's analysis template (its outcomes list, success criteria and structured-data JSON schema);
its ``status`` is ``"heuristic"``. When the call's agent has an LLM brain, :func:`reanalyse` asks
that LLM (:mod:`engine.calls.llm_analysis`) and keeps its validated answer (``"llm"``), or keeps
the heuristic result and says why in the call's ``metadata.analysis_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from sqlmodel import Session, select

from engine.agents.llm import LlmConfig, LlmStreamError
from engine.calls.costs import Rates
from engine.calls.credentials import CredentialError, provider_key
from engine.calls.heuristics import (
    ANALYSIS_STATUS,
    Analysis,
    CallFacts,
    Utterance,
    analyse,
    choose_outcome,
    clip,
    ending,
    extract,
    intelligible,
    judge,
    judge_success,
    norm_name,
    sentiment,
    summarize,
)
from engine.calls.llm_analysis import LLM_STATUS, LlmResult, ask
from engine.store import (
    Agent,
    AnalysisRun,
    AnalysisTemplate,
    Call,
    Transfer,
    UsageLog,
)
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

FAILED_STATUS = "failed"  # the analysis itself broke (logged); the call keeps no analysis
ANALYSIS_ERROR = "analysis_error"  # the key in the call's metadata when the LLM analysis failed
SUCCESS_REASON = "success_reason"  # the key in the call's metadata: why success is what it is
TEMPLATE_KEY = "analysis_template_id"  # the key in the call's metadata: the template analysed by
PENDING = "pending"  # engine.calls.analyst.PENDING_STATUS: not analysed yet
ANALYSING = "analysing"  # engine.calls.analyst.ANALYSING_STATUS: an analysis is under way

def template_view(template: AnalysisTemplate) -> dict[str, Any]:
    """An analysis template as ``analyse`` reads it."""
    return {
        "id": template.id,
        "outcomes": template.outcomes,
        "success_criteria": template.success_criteria,
        "structured_data_schema": template.structured_data_schema,
        "sentiment_enabled": template.sentiment_enabled,
        "summary_prompt": template.summary_prompt,
    }


def template_for(session: Session, call: Call, template_id: str | None = None
                 ) -> dict[str, Any] | None:
    """The analysis template ``template_id`` of the call's organization, else the one of the
    call's agent, as ``analyse`` reads it (None without one). Raises ``LookupError`` when
    ``template_id`` is not a template of the organization."""
    if template_id is not None:
        chosen = session.get(AnalysisTemplate, template_id)
        if chosen is None or chosen.organization_id != call.organization_id:
            raise LookupError(f"no analysis template {template_id} in this organization")
        return template_view(chosen)
    agent = session.get(Agent, call.agent_id) if call.agent_id else None
    if agent is None or agent.analysis_template_id is None:
        return None
    template = session.get(AnalysisTemplate, agent.analysis_template_id)
    if template is None or template.organization_id != call.organization_id:
        return None
    return template_view(template)


def facts_of(session: Session, call: Call) -> CallFacts:
    """The call's facts from its row and its transfers."""
    transferred = session.exec(select(Transfer.id).where(
        Transfer.call_id == call.id, Transfer.status == "completed").limit(1)).first()
    return CallFacts(status=call.status, duration_seconds=call.duration_seconds,
                     disconnect_reason=call.disconnect_reason,
                     transferred=transferred is not None)


_NO_EVIDENCE = frozenset({"other", "unknown", "none"})


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def keep_defined(result: Analysis, previous: Mapping[str, Any],
                 template: Mapping[str, Any] | None) -> Analysis:
    """``result`` with what a re-run found no evidence of taken from the ``previous`` analysis
    (the API's analysis fields), where the template still defines it: structured-data
    properties of its schema, an outcome of its list (over none or a fallback such as "other"),
    sentiment when it is enabled, success (with its reason). A re-run never empties them."""
    template = template or {}
    data = dict(result.structured_data)
    schema = template.get("structured_data_schema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    before = previous.get("structured_data")
    if isinstance(properties, Mapping) and isinstance(before, Mapping):
        for name in properties:
            if _empty(data.get(name)) and not _empty(before.get(name)):
                data[str(name)] = before[name]
    outcome = result.outcome
    old_outcome = previous.get("outcome")
    outcomes = [str(o) for o in template.get("outcomes") or []]
    if old_outcome in outcomes and (outcome is None or norm_name(outcome) in _NO_EVIDENCE) \
            and norm_name(str(old_outcome)) not in _NO_EVIDENCE:
        outcome = str(old_outcome)
    sentiment_label, score = result.sentiment, result.sentiment_score
    if template.get("sentiment_enabled", True) and sentiment_label is None \
            and previous.get("sentiment") is not None:
        sentiment_label, score = previous.get("sentiment"), previous.get("sentiment_score")
    success, reason = result.success, result.success_reason
    if success is None and previous.get("success") is not None:
        success, reason = previous.get("success"), previous.get("success_reason")
    return Analysis(summary=result.summary or str(previous.get("summary") or ""),
                    sentiment=sentiment_label, sentiment_score=score, outcome=outcome,
                    success=success, structured_data=data, status=result.status,
                    success_reason=reason)


def llm_config_for(session: Session, call: Call) -> LlmConfig | None:
    """The LLM the call's agent thinks with (with its credential's key), or None when the agent
    has a scripted brain. Raises ``LookupError`` when the brain's settings cannot be used."""
    agent = session.get(Agent, call.agent_id) if call.agent_id else None
    brain = (agent.brain or {}) if agent is not None else {}
    if brain.get("kind") != "llm":
        return None
    key = provider_key(session, call.organization_id, brain)
    config = LlmConfig.from_agent(brain, api_key=key.api_key if key else None,
                                  base_url=key.base_url if key else None)
    if not config.base_url or not config.model:
        raise LookupError("the agent's llm brain needs brain.base_url and brain.model")
    return config


def _record_usage(session: Session, call: Call, config: LlmConfig, asked: LlmResult,
                  rates: Rates) -> None:
    """The analysis's tokens as a usage-log row and in the call's LLM and total costs."""
    if not (asked.prompt_tokens or asked.completion_tokens):
        return
    cost = round(asked.prompt_tokens * rates.llm_per_prompt_token
                 + asked.completion_tokens * rates.llm_per_completion_token)
    session.add(UsageLog(organization_id=call.organization_id, call_id=call.id, kind="llm",
                         quantity=float(asked.prompt_tokens + asked.completion_tokens),
                         unit="tokens", cost_micro_usd=cost, provider=config.model[:50] or None,
                         occurred_at=utcnow()))
    call.cost_llm_micro_usd += cost
    call.cost_total_micro_usd += cost
    details = dict(call.cost_details or {})
    details["analysis_llm_prompt_tokens"] = (int(details.get("analysis_llm_prompt_tokens") or 0)
                                             + asked.prompt_tokens)
    details["analysis_llm_completion_tokens"] = (
        int(details.get("analysis_llm_completion_tokens") or 0) + asked.completion_tokens)
    call.cost_details = details


def reanalyse(session: Session, call: Call, entries: Sequence[Any], *,
              client: httpx.Client | None = None, rates: Rates | None = None,
              template_id: str | None = None, replaced_by: str | None = None) -> None:
    """Run the analysis over the call's transcript entries and set its fields on the call.

    ``template_id`` picks an analysis template of the organization (``LookupError`` when it is
    not one) instead of the agent's. A call analysed before keeps that analysis in its history
    (an :class:`AnalysisRun` marked ``replaced_by``, when given), and keeps every value the new
    run found no evidence of (:func:`keep_defined`).

    Blocking (with an LLM brain it waits for the LLM's answer): run it in a worker thread."""
    utterances = [Utterance(e.source, e.text) for e in entries]
    template = template_for(session, call, template_id)
    facts = facts_of(session, call)
    result = analyse(utterances, template, call.status, facts)
    error: str | None = None
    spoken = any(intelligible(u.text) and u.source == "user" for u in utterances)
    try:
        config = llm_config_for(session, call) if spoken else None
    except (CredentialError, LookupError) as exc:
        config, error = None, f"the LLM analysis could not start: {exc}"
    if config is not None:
        try:
            asked = ask(config, utterances, template or {}, call.status, client=client)
        except LlmStreamError as exc:  # the key could not be read from the OS keyring
            asked = LlmResult(answer=None, error=f"the LLM request failed: {exc}")
        _record_usage(session, call, config, asked, rates or Rates.from_env())
        if asked.answer is not None:
            answer = asked.answer
            reason = answer.success_reason or _criterion_reason(template, answer.success)
            result = Analysis(summary=answer.summary, sentiment=answer.sentiment,
                              sentiment_score=answer.sentiment_score, outcome=answer.outcome,
                              success=answer.success, structured_data=answer.structured_data,
                              status=LLM_STATUS, success_reason=reason)
        else:
            error = asked.error
    if error is not None:
        log.warning("call %s: the heuristic analysis stands: %s", call.id, error)
    previous = analysed(call)
    if previous is not None:
        result = keep_defined(result, previous, template)
        if replaced_by is not None:
            session.add(AnalysisRun(
                organization_id=call.organization_id, call_id=call.id,
                template_id=(call.metadata_ or {}).get(TEMPLATE_KEY), result=previous,
                replaced_by=replaced_by[:60], analysed_at=call.updated_at))
    for name, value in result.to_fields().items():
        setattr(call, name, value)
    metadata = {k: v for k, v in (call.metadata_ or {}).items()
                if k not in (ANALYSIS_ERROR, SUCCESS_REASON, TEMPLATE_KEY)}
    if error is not None:
        metadata[ANALYSIS_ERROR] = error
    if result.success_reason:
        metadata[SUCCESS_REASON] = result.success_reason
    if template is not None and template.get("id"):
        metadata[TEMPLATE_KEY] = template["id"]
    if metadata != (call.metadata_ or {}):
        call.metadata_ = metadata
    call.updated_at = utcnow()
    session.add(call)


def _criterion_reason(template: Mapping[str, Any] | None, success: bool | None) -> str | None:
    """The reason of an LLM's judgement that gave none: the criterion it judged by."""
    if success is None:
        return None
    criteria = str((template or {}).get("success_criteria") or "").strip()
    verdict = "met" if success else "not met"
    if criteria:
        return f'The LLM judged the criterion "{clip(criteria, 200)}" {verdict}.'
    return f"The LLM judged that the caller {'got' if success else 'did not get'} what they " \
           "called for."


def analysed(call: Call) -> dict[str, Any] | None:
    """The call's analysis fields as the API shows them, None while it has none."""
    if call.analysis_status in (PENDING, ANALYSING) or (
            not call.summary and call.outcome is None and not call.structured_data):
        return None
    metadata = call.metadata_ or {}
    return {"summary": call.summary, "sentiment": call.sentiment,
            "sentiment_score": call.sentiment_score, "outcome": call.outcome,
            "success": call.success, "success_reason": metadata.get(SUCCESS_REASON),
            "structured_data": dict(call.structured_data or {}),
            "status": call.analysis_status, "error": metadata.get(ANALYSIS_ERROR),
            "template_id": metadata.get(TEMPLATE_KEY)}


__all__ = [
    "ANALYSIS_ERROR",
    "ANALYSIS_STATUS",
    "FAILED_STATUS",
    "SUCCESS_REASON",
    "TEMPLATE_KEY",
    "Analysis",
    "CallFacts",
    "Utterance",
    "analyse",
    "analysed",
    "choose_outcome",
    "ending",
    "extract",
    "facts_of",
    "intelligible",
    "judge",
    "judge_success",
    "keep_defined",
    "llm_config_for",
    "reanalyse",
    "sentiment",
    "summarize",
    "template_for",
    "template_view",
]
