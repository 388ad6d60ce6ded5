"""The heuristic post-call analysis: sentiment, outcome, success, summary and structured data
from the transcript alone (and the call's facts: how it ended, whether a transfer reached a
person), guided by the agent's analysis template; offline and instant. Its ``status`` is
``"heuristic"``; :mod:`engine.calls.analysis` runs it and keeps or replaces what it finds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ANALYSIS_STATUS = "heuristic"

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

# the share of the success criterion's key words the call must contain for the heuristic to call
# it met (the criterion is a sentence; a third of its longer words is a match of its substance)
SUCCESS_WORDS_SHARE = 0.3
# what speech recognisers write for sounds that are not words: "[BLANK_AUDIO]", "(music)", "*cough*"
_NOT_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|<[^>]*>")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
# what a completed transfer says of a call, as evidence for a success criterion
TRANSFERRED_FACT = "the call was transferred and reached a person, a human agent"
ENDED_BY = {  # how a disconnect reason reads at the end of a summary sentence
    "caller_hangup": "by the caller hanging up", "customer_ended_call": "by the caller hanging up",
    "callee_hangup": "by the person called hanging up",
    "agent_hangup": "by the agent hanging up", "agent_ended_call": "by the agent hanging up",
    "assistant_ended_call": "by the agent hanging up", "end_call": "by the agent hanging up",
    "supervisor_hangup": "by a supervisor hanging up",
    "idle_timeout": "by the agent, after silence", "silence_timeout": "by the agent, after silence",
    "max_duration": "at its time limit", "transferred": "with a transfer",
    "rtp_timeout": "when the caller's audio stopped", "transfer_failed": "after a failed transfer",
}
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


@dataclass(frozen=True)
class CallFacts:
    """What the store knows of the call beyond its transcript: how it ended and whether a
    transfer reached a person. The summary of a call without intelligible caller speech is
    made of them; a completed transfer is the strongest evidence of a transfer outcome."""

    status: str | None = None
    duration_seconds: int | None = None
    disconnect_reason: str | None = None
    transferred: bool = False  # a transfer of the call completed (a person took it)


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
    success_reason: str | None = None  # why ``success`` is what it is (kept in the metadata)

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


def norm_name(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.lower().strip())


def choose_outcome(outcomes: Sequence[str], utterances: Sequence[Utterance],
                   call_status: str | None = None, *, transferred: bool = False) -> str | None:
    """The template outcome with the most keyword evidence in the transcript, or None.

    A call that was not connected takes the outcome named after its status; a call a transfer
    handed to a person takes the template's transfer outcome (the words of the conversation that
    led to it, "my order", count for less than the transfer that happened). Otherwise caller
    speech weighs twice the agent's; a negative phrase ("not interested") also takes away the
    evidence of the outcome it contains ("interested")."""
    if call_status in NOT_CONNECTED:
        for candidate in outcomes:
            if norm_name(candidate) == call_status:
                return candidate
    if not outcomes:
        return None
    if transferred:
        for candidate in outcomes:
            if "transfer" in norm_name(candidate):
                return candidate
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


def judge(outcome: str | None, sentiment_label: str | None, criteria: str,
          utterances: Sequence[Utterance], call_status: str | None,
          facts: CallFacts | None = None) -> tuple[bool | None, str]:
    """Success by the template's criterion words (in the transcript, or in what the call's
    facts say: a completed transfer "reached a person"), else by the outcome and the caller's
    mood; with the reason in a sentence."""
    if call_status in NOT_CONNECTED:
        return False, f"The call was not connected ({call_status.replace('_', ' ')})."
    if not any(u.source == "user" and intelligible(u.text) for u in utterances):
        if call_status is None:
            return None, "No conversation took place."
        return False, "The caller said nothing the agent could understand."
    if criteria.strip():
        wanted = {w for w in words(criteria) if len(w) > 3}
        said = set(words(" ".join(u.text for u in utterances)))
        if facts is not None and facts.transferred:
            said |= set(words(TRANSFERRED_FACT))
        if wanted:
            met = sorted(wanted & said)
            ok = len(met) / len(wanted) >= SUCCESS_WORDS_SHARE
            heard = f" (heard: {', '.join(met)})" if met else ""
            return ok, (f'Criterion "{clip(criteria.strip(), 200)}": {len(met)} of its '
                        f"{len(wanted)} key words were said{heard}, so it was "
                        f"{'met' if ok else 'not met'}.")
    if outcome is not None:
        ok = norm_name(outcome) not in UNSUCCESSFUL_OUTCOMES
        return ok, (f"The outcome {outcome.replace('_', ' ')} counts as "
                    f"{'a success' if ok else 'unsuccessful'}.")
    ok = sentiment_label != "negative"
    return ok, f"No criterion or outcome to judge by; the caller's mood was {sentiment_label}."


def judge_success(outcome: str | None, sentiment_label: str | None, criteria: str,
                  utterances: Sequence[Utterance], call_status: str | None) -> bool | None:
    """Success as :func:`judge` finds it, without the reason."""
    return judge(outcome, sentiment_label, criteria, utterances, call_status)[0]


def clip(text: str, limit: int = 140) -> str:
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


def intelligible(text: str) -> bool:
    """Whether a recognised line has a word in it (not only noise marks or punctuation)."""
    return _LETTERS.search(_NOT_SPEECH.sub(" ", text)) is not None


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def ending(facts: CallFacts | None) -> str | None:
    """``the call ended after 12 s by the caller hanging up``, from what is known, or None."""
    if facts is None or (facts.duration_seconds is None and not facts.disconnect_reason):
        return None
    text = "the call ended"
    if facts.duration_seconds is not None:
        text += f" after {_duration(facts.duration_seconds)}"
    reason = facts.disconnect_reason
    if reason:
        text += " " + ENDED_BY.get(reason, f"({reason.replace('_', ' ')})")
    return text


def _agent_part(agent: Sequence[Utterance]) -> str:
    if not agent:
        return "the agent did not speak"
    first = f'the agent said: "{clip(agent[0].text, 80)}"'
    if len(agent) == 1:
        return first
    again = "once more" if len(agent) == 2 else f"{len(agent) - 1} more times"
    return f'{first}, then spoke {again}, last: "{clip(agent[-1].text, 80)}"'


def _without_caller(heard: bool, agent: Sequence[Utterance], facts: CallFacts | None) -> str:
    """What happened on a call whose caller said nothing intelligible."""
    parts = ["The caller said nothing the agent could understand" if heard
             else "The caller did not speak", _agent_part(agent)]
    if facts is not None and facts.transferred:
        parts.append("the call was transferred to a person")
    end = ending(facts)
    if end is not None:
        parts.append(end)
    return "; ".join(parts) + "."


def summarize(utterances: Sequence[Utterance], outcome: str | None,
              facts: CallFacts | None = None) -> str:
    """A few sentences from the transcript: what the caller wanted, how the agent ended. A call
    without intelligible caller speech is told from what the agent said and how it ended."""
    spoken = [u for u in utterances if u.text.strip() and u.source != "system"]
    if not spoken:
        if facts is not None and facts.status in NOT_CONNECTED:
            return f"No conversation took place: the call was {facts.status.replace('_', ' ')}."
        end = ending(facts) if facts is not None and facts.status is not None else None
        return "No conversation took place." + (f" {end[0].upper()}{end[1:]}." if end else "")
    user = [u for u in spoken if u.source == "user"]
    agent = [u for u in spoken if u.source != "user"]
    if not any(intelligible(u.text) for u in user):
        text = _without_caller(bool(user), agent, facts)
        return text + (f" Outcome: {outcome.replace('_', ' ')}." if outcome else "")
    sentences = [s.strip() for u in user
                 for s in _SENTENCE.split(u.text.strip()) if s.strip()]
    parts = [f"A {len(spoken)}-turn conversation."]
    request = _request(sentences)
    if request is not None:
        parts.append(f'The caller said: "{clip(request)}"')
        later = [s for s in sentences[sentences.index(request) + 1:] if len(words(s)) >= 5]
        if later:
            parts.append(f'Later: "{clip(max(later, key=len))}"')
    if agent:
        parts.append(f'The agent closed with: "{clip(agent[-1].text)}"')
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
            call_status: str | None = None, facts: CallFacts | None = None) -> Analysis:
    """The heuristic analysis of one call.

    ``template`` is an analysis template as a mapping (``outcomes``, ``success_criteria``,
    ``structured_data_schema``, ``sentiment_enabled``); without one, sentiment, a summary and
    success by sentiment are still given. ``facts`` (how the call ended, whether a transfer
    reached a person) tell a call without intelligible caller speech and pick a transfer
    outcome."""
    template = template or {}
    if facts is not None and call_status is None:
        call_status = facts.status
    spoken = [u for u in utterances if u.text.strip()]
    score: int | None = None
    label: str | None = None
    if template.get("sentiment_enabled", True):
        user_texts = [u.text for u in spoken if u.source == "user" and intelligible(u.text)]
        score, label = sentiment(user_texts or [u.text for u in spoken])
    outcomes = [str(o) for o in template.get("outcomes") or []]
    outcome = choose_outcome(outcomes, spoken, call_status,
                             transferred=facts is not None and facts.transferred)
    success, reason = judge(outcome, label, str(template.get("success_criteria") or ""), spoken,
                            call_status, facts)
    return Analysis(
        summary=summarize(spoken, outcome, facts),
        sentiment=label,
        sentiment_score=score,
        outcome=outcome,
        success=success,
        structured_data=extract(template.get("structured_data_schema") or {}, spoken),
        success_reason=reason,
    )


__all__ = [
    "ANALYSIS_STATUS",
    "Analysis",
    "CallFacts",
    "Utterance",
    "analyse",
    "choose_outcome",
    "clip",
    "ending",
    "extract",
    "intelligible",
    "judge",
    "judge_success",
    "norm_name",
    "sentiment",
    "summarize",
    "words",
]
