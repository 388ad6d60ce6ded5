"""Post-call analysis: sentiment, outcome, success, summary and structured data.

The heuristic analysis runs offline and instantly, from the transcript alone, guided by the
agent's analysis template (its outcomes list, success criteria and structured-data JSON schema);
its ``status`` is ``"heuristic"``. When the call's agent has an LLM brain, :func:`reanalyse` asks
that LLM (:mod:`engine.calls.llm_analysis`) and keeps its validated answer (``"llm"``), or keeps
the heuristic result and says why in the call's ``metadata.analysis_error``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import Session

from engine.agents.llm import LlmConfig, LlmStreamError
from engine.calls.costs import Rates
from engine.calls.credentials import CredentialError, provider_key
from engine.calls.llm_analysis import LLM_STATUS, LlmResult, ask
from engine.store import (
    Agent,
    AnalysisTemplate,
    Call,
    UsageLog,
)
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

ANALYSIS_STATUS = "heuristic"
FAILED_STATUS = "failed"  # the analysis itself broke (logged); the call keeps no analysis
ANALYSIS_ERROR = "analysis_error"  # the key in the call's metadata when the LLM analysis failed

POSITIVE_WORDS = frozenset("""
    yes yeah yep great good perfect thanks thank appreciate wonderful excellent awesome helpful
    happy glad love lovely nice fantastic sure absolutely definitely fine okay ok pleased amazing
    brilliant works worked sounds resolved booked confirmed interested
""".split())
NEGATIVE_WORDS = frozenset("""
    no not never bad terrible awful horrible angry annoyed frustrated frustrating upset disappointed
    hate useless wrong problem problems issue issues complaint complain cancel refund worst broken
    unhappy ridiculous waste stop unacceptable rude confused confusing late error failed
""".split())
NEGATIONS = frozenset({"not", "no", "never", "don't", "dont", "didn't", "isn't", "wasn't", "can't"})

# Extra evidence for common outcome names; the outcome's own words always count too.
OUTCOME_HINTS: dict[str, tuple[str, ...]] = {
    "appointment": ("appointment", "book", "booked", "schedule", "scheduled", "slot", "see you"),
    "booked": ("booked", "book", "confirmed", "reserve", "reserved"),
    "callback": ("call back", "call me back", "callback", "later", "another time", "tomorrow"),
    "interested": ("interested", "sounds good", "tell me more", "sign up", "yes please"),
    "not_interested": ("not interested", "no thanks", "no thank you", "don't call", "remove me",
                       "stop calling"),
    "transferred": ("transfer", "transferring", "connect you", "put you through", "human",
                    "representative", "colleague"),
    "voicemail": ("voicemail", "leave a message", "after the tone", "not available"),
    "resolved": ("resolved", "fixed", "sorted", "works now", "that helps", "thank you"),
    "unresolved": ("still not", "doesn't work", "not working", "didn't help", "problem remains"),
    "sale": ("buy", "purchase", "order", "payment", "card"),
    "complaint": ("complaint", "complain", "unacceptable", "terrible", "refund"),
    "wrong_number": ("wrong number", "who is this", "don't know"),
    "information": ("information", "hours", "open", "price", "cost", "how much", "address"),
}
UNSUCCESSFUL_OUTCOMES = frozenset({
    "not_interested", "no_answer", "busy", "failed", "voicemail", "wrong_number", "unresolved",
    "complaint", "hung_up", "do_not_call", "canceled",
})
NOT_CONNECTED = frozenset({"no_answer", "busy", "failed", "canceled"})

_WORD = re.compile(r"[a-z0-9']+")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_TEXT_DATE = re.compile(
    r"\b(?:(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:,?\s+(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?)?"
    r"|(?:" + "|".join(_MONTHS) + r")\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + "|".join(_MONTHS) + r")(?:\s+\d{4})?"
    r"|today|tomorrow|next\s+week)\b",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b(\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2})\b", re.IGNORECASE)
_NAME = re.compile(
    r"\b(?:my name is|my name's|this is|i am|i'm|call me|speaking with|name is)\s+"
    r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
)
_YES = re.compile(r"\b(yes|yeah|yep|sure|correct|absolutely|definitely|please do)\b", re.IGNORECASE)
_NO = re.compile(r"\b(no|nope|not really|don't|do not|never)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_REQUEST = re.compile(
    r"\b(want|would like|i'd like|need|can you|could you|please|looking for|help|book|cancel|"
    r"change|question|problem|issue)\b|\?", re.IGNORECASE)


@dataclass(frozen=True)
class Utterance:
    """One transcript entry as the analysis sees it."""

    source: str  # user | agent | human_agent | supervisor | system
    text: str


@dataclass
class Analysis:
    """What the analysis found; ``to_fields()`` gives the Call columns to write."""

    summary: str
    sentiment: str | None
    sentiment_score: int | None
    outcome: str | None
    success: bool | None
    structured_data: dict[str, Any] = field(default_factory=dict)
    status: str = ANALYSIS_STATUS

    def to_fields(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "outcome": self.outcome,
            "success": self.success,
            "structured_data": self.structured_data,
            "analysis_status": self.status,
        }


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def sentiment(texts: Iterable[str]) -> tuple[int, str]:
    """A 0..10 score (5 is neutral) and its label, from positive and negative word counts.

    A negation flips the next sentiment word ("not happy" counts as negative)."""
    pos = neg = 0.0
    for text in texts:
        tokens = words(text)
        for i, token in enumerate(tokens):
            negated = i > 0 and tokens[i - 1] in NEGATIONS
            if token in POSITIVE_WORDS and token not in NEGATIONS:
                if negated:
                    neg += 1
                else:
                    pos += 1
            elif token in NEGATIVE_WORDS and token not in NEGATIONS:
                if negated:
                    pos += 1
                else:
                    neg += 1
            elif token in NEGATIONS and (i + 1 >= len(tokens) or tokens[i + 1] not in
                                         POSITIVE_WORDS | NEGATIVE_WORDS):
                neg += 0.5  # a bare "no" leans negative, less than a sentiment word
    total = pos + neg
    if total == 0:
        return 5, "neutral"
    score = round(5 + 5 * (pos - neg) / (total + 1))
    score = max(0, min(10, score))
    label = "positive" if score >= 7 else "negative" if score <= 3 else "neutral"
    return score, label


def _phrases_for(outcome: str) -> list[str]:
    key = outcome.lower().strip()
    norm = re.sub(r"[\s-]+", "_", key)
    phrases = [key.replace("_", " ").replace("-", " ")]
    phrases += list(OUTCOME_HINTS.get(norm, ()))
    for part in norm.split("_"):
        if len(part) > 3 and part not in {"call", "with", "from", "requested", "request"}:
            phrases += list(OUTCOME_HINTS.get(part, (part,)))
    return phrases


def choose_outcome(outcomes: Sequence[str], utterances: Sequence[Utterance],
                   call_status: str | None = None) -> str | None:
    """The template outcome with the most keyword evidence in the transcript, or None.

    Caller speech weighs twice the agent's; a negative phrase ("not interested") also takes away
    the evidence of the outcome it contains ("interested")."""
    if call_status in NOT_CONNECTED:
        for candidate in outcomes:
            if re.sub(r"[\s-]+", "_", candidate.lower()) == call_status:
                return candidate
    if not outcomes:
        return None
    user_text = " ".join(u.text.lower() for u in utterances if u.source == "user")
    other_text = " ".join(u.text.lower() for u in utterances if u.source != "user")
    scores: dict[str, float] = {}
    for candidate in outcomes:
        score = 0.0
        for phrase in _phrases_for(candidate):
            pattern = re.compile(r"\b" + re.escape(phrase) + r"\b")
            score += 2 * len(pattern.findall(user_text)) + len(pattern.findall(other_text))
        scores[candidate] = score
    for candidate in outcomes:  # "not interested" is not evidence of "interested"
        norm = re.sub(r"[\s-]+", "_", candidate.lower())
        if norm.startswith("not_"):
            positive = norm[4:]
            for other in outcomes:
                if re.sub(r"[\s-]+", "_", other.lower()) == positive and scores[candidate] > 0:
                    scores[other] = max(0.0, scores[other] - scores[candidate])
    best = max(outcomes, key=lambda c: scores[c])
    if scores[best] > 0:
        return best
    for fallback in ("other", "unknown", "none"):
        for candidate in outcomes:
            if candidate.lower() == fallback:
                return candidate
    return None


def judge_success(outcome: str | None, sentiment_label: str | None, criteria: str,
                  utterances: Sequence[Utterance], call_status: str | None) -> bool | None:
    """Success by the template's criteria words, else by the outcome and the caller's mood."""
    if call_status in NOT_CONNECTED:
        return False
    if not any(u.source == "user" and u.text.strip() for u in utterances):
        return None if call_status is None else False
    if criteria.strip():
        wanted = {w for w in words(criteria) if len(w) > 3}
        said = set(words(" ".join(u.text for u in utterances)))
        if wanted:
            return len(wanted & said) / len(wanted) >= 0.3
    if outcome is not None:
        return re.sub(r"[\s-]+", "_", outcome.lower()) not in UNSUCCESSFUL_OUTCOMES
    return sentiment_label != "negative"


def _clip(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _request(sentences: Sequence[str]) -> str | None:
    """The caller's first sentence that asks for something, else the first substantial one."""
    for sentence in sentences:
        if _REQUEST.search(sentence):
            return sentence
    substantial = [s for s in sentences if len(words(s)) >= 4]
    return substantial[0] if substantial else (sentences[0] if sentences else None)


def summarize(utterances: Sequence[Utterance], outcome: str | None) -> str:
    """A few sentences from the transcript: what the caller wanted, how the agent ended."""
    spoken = [u for u in utterances if u.text.strip() and u.source != "system"]
    if not spoken:
        return "No conversation took place."
    sentences = [s.strip() for u in spoken if u.source == "user"
                 for s in _SENTENCE.split(u.text.strip()) if s.strip()]
    agent = [u for u in spoken if u.source != "user"]
    parts = [f"A {len(spoken)}-turn conversation."]
    request = _request(sentences)
    if request is not None:
        parts.append(f'The caller said: "{_clip(request)}"')
        later = [s for s in sentences[sentences.index(request) + 1:] if len(words(s)) >= 5]
        if later:
            parts.append(f'Later: "{_clip(max(later, key=len))}"')
    else:
        parts.append("The caller did not speak.")
    if agent:
        parts.append(f'The agent closed with: "{_clip(agent[-1].text)}"')
    if outcome:
        parts.append(f"Outcome: {outcome.replace('_', ' ')}.")
    return " ".join(parts)


def _near(text: str, key_words: list[str], pattern: re.Pattern[str]) -> str | None:
    """The match of ``pattern`` closest after a mention of one of ``key_words``, else the first."""
    lowered = text.lower()
    best: tuple[int, str] | None = None
    for key in key_words:
        for mention in re.finditer(r"\b" + re.escape(key), lowered):
            found = pattern.search(text, mention.end())
            if found is not None:
                distance = found.start() - mention.end()
                if distance < 80 and (best is None or distance < best[0]):
                    best = (distance, found.group(found.lastindex or 0))
    if best is not None:
        return best[1]
    found = pattern.search(text)
    return found.group(found.lastindex or 0) if found is not None else None


def _to_number(raw: str, integer: bool) -> int | float | None:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        return None
    return round(value) if integer else value


def extract(schema: Mapping[str, Any], utterances: Sequence[Utterance]) -> dict[str, Any]:
    """Values for the schema's properties found by patterns in the caller's speech (best effort).

    Numbers, dates, times, names, e-mail addresses, phone numbers, yes/no answers and enum values
    are recognised; properties with no evidence are left out."""
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    user_text = " ".join(u.text for u in utterances if u.source == "user")
    all_text = " ".join(u.text for u in utterances)
    out: dict[str, Any] = {}
    for name, spec in properties.items():
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type", "string")
        key_words = [w for w in re.split(r"[_\W]+", str(name).lower()) if len(w) > 2]
        key_words += [w for w in words(str(spec.get("description", ""))) if len(w) > 4][:3]
        lname = str(name).lower()
        value: Any = None
        if isinstance(spec.get("enum"), list):
            lowered = user_text.lower() or all_text.lower()
            for option in spec["enum"]:
                if re.search(r"\b" + re.escape(str(option).lower().replace("_", " ")) + r"\b",
                             lowered.replace("_", " ")):
                    value = option
                    break
        elif kind in ("number", "integer"):
            raw = _near(user_text, key_words, _NUMBER)
            value = _to_number(raw, kind == "integer") if raw else None
        elif kind == "boolean":
            yes = _near(user_text, key_words, _YES)
            no = _near(user_text, key_words, _NO)
            value = True if yes and not no else False if no and not yes else None
        elif "email" in lname or spec.get("format") == "email":
            value = _near(all_text, key_words, _EMAIL)
        elif "phone" in lname or "number" in lname:
            found = _near(all_text, key_words, _PHONE)
            value = re.sub(r"[^\d+]", "", found) if found else None
        elif spec.get("format") in ("date", "date-time") or "date" in lname or "day" in lname:
            value = _near(user_text, key_words, _ISO_DATE) or _near(user_text, key_words, _TEXT_DATE)
        elif "time" in lname or spec.get("format") == "time":
            value = _near(user_text, key_words, _TIME)
        elif "name" in lname:
            named = _NAME.search(user_text)
            value = named.group(1) if named else None
        if value is not None:
            out[str(name)] = value
    return out


def analyse(utterances: Sequence[Utterance], template: Mapping[str, Any] | None = None,
            call_status: str | None = None) -> Analysis:
    """The heuristic analysis of one call.

    ``template`` is an analysis template as a mapping (``outcomes``, ``success_criteria``,
    ``structured_data_schema``, ``sentiment_enabled``); without one, sentiment, a summary and
    success by sentiment are still given."""
    template = template or {}
    spoken = [u for u in utterances if u.text.strip()]
    score: int | None = None
    label: str | None = None
    if template.get("sentiment_enabled", True):
        user_texts = [u.text for u in spoken if u.source == "user"]
        score, label = sentiment(user_texts or [u.text for u in spoken])
    outcomes = [str(o) for o in template.get("outcomes") or []]
    outcome = choose_outcome(outcomes, spoken, call_status)
    success = judge_success(outcome, label, str(template.get("success_criteria") or ""), spoken,
                            call_status)
    return Analysis(
        summary=summarize(spoken, outcome),
        sentiment=label,
        sentiment_score=score,
        outcome=outcome,
        success=success,
        structured_data=extract(template.get("structured_data_schema") or {}, spoken),
    )


def template_for(session: Session, call: Call) -> dict[str, Any] | None:
    """The analysis template of the call's agent, as ``analyse`` reads it (None without one)."""
    agent = session.get(Agent, call.agent_id) if call.agent_id else None
    if agent is None or agent.analysis_template_id is None:
        return None
    template = session.get(AnalysisTemplate, agent.analysis_template_id)
    if template is None or template.organization_id != call.organization_id:
        return None
    return {
        "outcomes": template.outcomes,
        "success_criteria": template.success_criteria,
        "structured_data_schema": template.structured_data_schema,
        "sentiment_enabled": template.sentiment_enabled,
        "summary_prompt": template.summary_prompt,
    }


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
              client: httpx.Client | None = None, rates: Rates | None = None) -> None:
    """Run the analysis over the call's transcript entries and set its fields on the call.

    Blocking (with an LLM brain it waits for the LLM's answer): run it in a worker thread."""
    utterances = [Utterance(e.source, e.text) for e in entries]
    template = template_for(session, call)
    result = analyse(utterances, template, call.status)
    error: str | None = None
    spoken = any(u.text.strip() and u.source != "system" for u in utterances)
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
            result = Analysis(summary=answer.summary, sentiment=answer.sentiment,
                              sentiment_score=answer.sentiment_score, outcome=answer.outcome,
                              success=answer.success, structured_data=answer.structured_data,
                              status=LLM_STATUS)
        else:
            error = asked.error
    if error is not None:
        log.warning("call %s: the heuristic analysis stands: %s", call.id, error)
    for name, value in result.to_fields().items():
        setattr(call, name, value)
    metadata = {k: v for k, v in (call.metadata_ or {}).items() if k != ANALYSIS_ERROR}
    if error is not None:
        metadata[ANALYSIS_ERROR] = error
    if metadata != (call.metadata_ or {}):
        call.metadata_ = metadata
    call.updated_at = utcnow()
    session.add(call)

__all__ = [
    "ANALYSIS_ERROR",
    "ANALYSIS_STATUS",
    "FAILED_STATUS",
    "Analysis",
    "Utterance",
    "analyse",
    "choose_outcome",
    "extract",
    "llm_config_for",
    "reanalyse",
    "sentiment",
    "summarize",
    "template_for",
]
