"""The JSON Schema subset analysis templates use, and the parsing of an LLM's analysis answer."""

from __future__ import annotations

import json
from typing import Any

from engine.calls.analysis_schema import answer_schema, schema_errors
from engine.calls.llm_analysis import instructions, parse

ORDER = {
    "type": "object",
    "properties": {
        "order_number": {"type": "string", "pattern": "^A-\\d+$"},
        "issue_type": {"type": "string", "enum": ["refund", "return", "other"]},
        "disputed_amount_usd": {"type": ["number", "null"], "minimum": 0},
        "follow_up_needed": {"type": "boolean"},
        "items": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    },
    "required": ["issue_type", "follow_up_needed"],
}
TEMPLATE: dict[str, Any] = {"outcomes": ["refunded", "escalated", "other"],
                            "success_criteria": "The refund was filed.",
                            "structured_data_schema": ORDER, "sentiment_enabled": True,
                            "summary_prompt": "Two sentences."}


def test_a_valid_value_has_no_errors() -> None:
    value = {"order_number": "A-1042", "issue_type": "refund", "disputed_amount_usd": None,
             "follow_up_needed": False, "items": [1, 2.0], "note": "extra keys are allowed"}
    assert schema_errors(value, ORDER) == []
    assert schema_errors({"anything": 1}, {}) == []
    assert schema_errors(3, {"anyOf": [{"type": "string"}, {"type": "integer"}]}) == []


def test_each_problem_is_named_with_its_place() -> None:
    value = {"order_number": "1042", "issue_type": "lost", "disputed_amount_usd": -5,
             "items": [1, "two", 3, 4]}
    errors = schema_errors(value, ORDER)
    assert "follow_up_needed: is required" in errors
    assert any(e.startswith("order_number: does not match") for e in errors)
    assert any(e.startswith("issue_type: must be one of") for e in errors)
    assert any(e.startswith("disputed_amount_usd: -5 breaks minimum") for e in errors)
    assert any(e.startswith("items[1]: must be of type integer") for e in errors)
    assert "items: allows at most 3 items" in errors
    assert len(errors) == 6, errors


def test_types_follow_json_not_python() -> None:
    assert schema_errors(True, {"type": "integer"})  # a boolean is not a number in JSON
    assert schema_errors(True, {"type": "number"})
    assert schema_errors(2.5, {"type": "integer"})
    assert schema_errors(2.0, {"type": "integer"}) == []
    assert schema_errors(None, {"type": "string"}) == ["the answer: must be of type string, not NoneType"]
    assert schema_errors({"a": 1}, {"type": "object", "additionalProperties": False}) == [
        "a: is not a property the schema allows"]
    assert schema_errors(1, False) == ["the answer: not allowed"]


def test_the_answer_schema_follows_the_template() -> None:
    schema = answer_schema(TEMPLATE)
    assert set(schema["required"]) == {"summary", "sentiment", "sentiment_score", "outcome",
                                       "success", "structured_data"}
    assert schema["properties"]["outcome"]["enum"] == ["refunded", "escalated", "other", None]
    assert schema["properties"]["structured_data"] == ORDER
    quiet = answer_schema({**TEMPLATE, "sentiment_enabled": False, "structured_data_schema": {}})
    assert "sentiment" not in quiet["properties"]
    assert quiet["properties"]["structured_data"] == {"type": "object"}
    text = instructions(TEMPLATE)
    assert "Two sentences." in text and "The refund was filed." in text
    assert json.dumps(["refunded", "escalated", "other"]) in text


def test_parse_takes_a_valid_answer_and_explains_an_invalid_one() -> None:
    good = {"summary": "A refund.", "sentiment": "positive", "sentiment_score": 8,
            "outcome": "refunded", "success": True,
            "structured_data": {"issue_type": "refund", "follow_up_needed": False}}
    answer, errors = parse("```json\n" + json.dumps(good) + "\n```", TEMPLATE)
    assert errors == [] and answer is not None
    assert answer.outcome == "refunded" and answer.sentiment_score == 8
    assert answer.structured_data == {"issue_type": "refund", "follow_up_needed": False}

    answer, errors = parse(json.dumps({**good, "outcome": "booked", "sentiment_score": 11}),
                           TEMPLATE)
    assert answer is None
    assert any(e.startswith("outcome: must be one of") for e in errors)
    assert any(e.startswith("sentiment_score: 11 breaks maximum") for e in errors)

    answer, errors = parse("Sure! Here is the analysis: {", TEMPLATE)
    assert answer is None and errors[0].startswith("not valid JSON")
