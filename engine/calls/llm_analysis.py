"""Post-call analysis by the agent's LLM: the transcript and the analysis template go to the same
OpenAI-compatible endpoint the brain talks to, and the JSON that comes back is validated against
the template (:mod:`engine.calls.analysis_schema`). An invalid answer is sent back once with what
is wrong with it; a second invalid answer, or an endpoint that fails, leaves the caller to keep
the heuristic analysis. Blocking: run it in a worker thread.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from engine.agents.llm import LlmConfig, LlmStreamError, complete
from engine.calls.analysis_schema import SENTIMENT_LABELS, answer_schema, schema_errors

log = logging.getLogger(__name__)

LLM_STATUS = "llm"
MAX_ATTEMPTS = 2  # the first answer, and one more after being told what was wrong with it
MAX_ERRORS_SHOWN = 8  # validation messages sent back to the model (and kept as the error)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
SPEAKERS = ("Each transcript line starts with who spoke: user is the caller, agent the AI agent, "
            "human_agent a person who took the call over, supervisor words a supervisor had the "
            "agent say, system a note of the engine.")


@dataclass
class LlmAnswer:
    """The analysis fields an LLM gave (already validated)."""

    summary: str
    sentiment: str | None
    sentiment_score: int | None
    outcome: str | None
    success: bool | None
    structured_data: dict[str, Any]
    success_reason: str | None = None


@dataclass
class LlmResult:
    """What asking took: the answer (None when it failed, with ``error`` saying why) and the
    tokens every attempt used."""

    answer: LlmAnswer | None
    error: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0


def instructions(template: Mapping[str, Any]) -> str:
    """The system message: what to answer, key by key, and the JSON schema of the answer."""
    outcomes = [str(o) for o in template.get("outcomes") or []]
    summary = str(template.get("summary_prompt") or "").strip() or (
        "A short summary: what the caller wanted and how the call ended.")
    criteria = str(template.get("success_criteria") or "").strip() or (
        "whether the caller got what they called for")
    data = template.get("structured_data_schema") or {"type": "object"}
    lines = ["You analyse a finished phone call between an AI voice agent and a caller.",
             SPEAKERS,
             "Answer with one JSON object and nothing else. Its keys:",
             f"- summary: {summary}"]
    if template.get("sentiment_enabled", True):
        lines += [f"- sentiment: the caller's sentiment, one of {', '.join(SENTIMENT_LABELS)}",
                  "- sentiment_score: an integer from 0 (very negative) to 10 (very positive), "
                  "5 is neutral"]
    if outcomes:
        lines.append(f"- outcome: exactly one of {json.dumps(outcomes)}, or null when none fits")
    else:
        lines.append("- outcome: a short snake_case name for how the call ended, or null")
    lines += [f"- success: true or false by this criterion: {criteria}; null when no "
              "conversation took place",
              "- success_reason: one sentence saying why success is true or false by that "
              "criterion",
              "- structured_data: an object with the values the call gave, following this JSON "
              f"schema (leave out what the call did not say): {json.dumps(data)}",
              f"The JSON schema of the whole answer: {json.dumps(answer_schema(template))}"]
    return "\n".join(lines)


def conversation(utterances: Sequence[Any], call_status: str | None) -> str:
    """The user message: the call's status and its transcript, a line per utterance."""
    lines = [f"{u.source}: {' '.join(u.text.split())}" for u in utterances if u.text.strip()]
    return f"Call status: {call_status or 'unknown'}\nTranscript:\n" + "\n".join(lines)


def parse(content: str, template: Mapping[str, Any]) -> tuple[LlmAnswer | None, list[str]]:
    """The answer in ``content``, or None and what is wrong with it."""
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content.strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"]
    errors = schema_errors(value, answer_schema(template))
    if errors:
        return None, errors[:MAX_ERRORS_SHOWN]
    score = value.get("sentiment_score") if template.get("sentiment_enabled", True) else None
    return LlmAnswer(
        summary=str(value["summary"]).strip(),
        sentiment=value.get("sentiment") if score is not None else None,
        sentiment_score=int(score) if score is not None else None,
        outcome=value.get("outcome"),
        success=value.get("success"),
        structured_data=dict(value.get("structured_data") or {}),
        success_reason=str(value["success_reason"]).strip() or None
        if value.get("success_reason") else None,
    ), []


def ask(config: LlmConfig, utterances: Sequence[Any], template: Mapping[str, Any],
        call_status: str | None, *, client: httpx.Client | None = None) -> LlmResult:
    """Blocking: the LLM's analysis of the call, validated, with one retry on invalid JSON."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": instructions(template)},
        {"role": "user", "content": conversation(utterances, call_status)},
    ]
    result = LlmResult(answer=None, error=None)
    json_mode = True
    problems: list[str] = []
    for _ in range(MAX_ATTEMPTS):
        result.attempts += 1
        try:
            answer = complete(config, messages, json_mode=json_mode, client=client)
        except (httpx.HTTPError, LlmStreamError, ValueError, TypeError, AttributeError) as exc:
            # unreachable, an error answer, or a body that is not a chat completion
            result.error = f"the LLM request failed: {type(exc).__name__}: {exc}"
            return result
        json_mode = answer.json_mode
        result.prompt_tokens += answer.prompt_tokens
        result.completion_tokens += answer.completion_tokens
        parsed, problems = parse(answer.content, template)
        if parsed is not None:
            result.answer = parsed
            return result
        log.info("LLM analysis answer %d was invalid: %s", result.attempts, "; ".join(problems))
        messages += [
            {"role": "assistant", "content": answer.content},
            {"role": "user", "content": "That answer is not valid: " + "; ".join(problems)
             + ". Answer again with only the corrected JSON object."},
        ]
    result.error = (f"the LLM's JSON stayed invalid after {result.attempts} attempts: "
                    + "; ".join(problems))
    return result


__all__ = ["LLM_STATUS", "MAX_ATTEMPTS", "LlmAnswer", "LlmResult", "ask", "conversation",
           "instructions", "parse"]
