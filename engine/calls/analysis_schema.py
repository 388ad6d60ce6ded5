"""A small JSON Schema validator for what analysis templates use, and the schema of an LLM's
analysis answer.

The subset: ``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (a boolean or a schema), ``items``, ``minItems`` / ``maxItems``,
``minimum`` / ``maximum`` / ``exclusiveMinimum`` / ``exclusiveMaximum``, ``minLength`` /
``maxLength``, ``pattern`` and ``anyOf``. Keywords outside it (``format``, ``description``, ...)
are accepted and not checked, as JSON Schema validators do by default for ``format``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

SENTIMENT_LABELS = ("positive", "neutral", "negative")


# JSON Schema's numeric bounds: keyword, and whether a value keeps within the bound
_BOUNDS: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
    ("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
    ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b))


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # an unknown type name constrains nothing


def _at(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


def schema_errors(value: Any, schema: Mapping[str, Any] | bool, path: str = "") -> list[str]:
    """What is wrong with ``value`` against ``schema``: one message per problem, each naming
    where (``structured_data.order_number``, ``items[2]``); an empty list when it is valid."""
    if schema is True or schema == {}:
        return []
    where = path or "the answer"
    if schema is False:
        return [f"{where}: not allowed"]
    assert isinstance(schema, Mapping)
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_type(value, str(k)) for k in names):
            return [f"{where}: must be of type {' or '.join(map(str, names))}, "
                    f"not {type(value).__name__}"]
    if "enum" in schema and value not in list(schema["enum"]):
        errors.append(f"{where}: must be one of {list(schema['enum'])!r}, not {value!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: must be {schema['const']!r}")
    if "anyOf" in schema and not any(not schema_errors(value, option, path)
                                     for option in schema["anyOf"]):
        errors.append(f"{where}: matches none of the allowed forms")
    if isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < int(schema["minItems"]):
            errors.append(f"{where}: needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > int(schema["maxItems"]):
            errors.append(f"{where}: allows at most {schema['maxItems']} items")
        items = schema.get("items")
        if isinstance(items, Mapping | bool):
            for i, item in enumerate(value):
                errors += schema_errors(item, items, _at(path, i))
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < int(schema["minLength"]):
            errors.append(f"{where}: needs at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > int(schema["maxLength"]):
            errors.append(f"{where}: allows at most {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(str(schema["pattern"]), value):
            errors.append(f"{where}: does not match {schema['pattern']!r}")
    elif _is_type(value, "number"):
        for key, ok in _BOUNDS:
            bound = schema.get(key)
            if isinstance(bound, int | float) and not isinstance(bound, bool) and not ok(value, bound):
                errors.append(f"{where}: {value!r} breaks {key} {bound!r}")
    return errors


def _object_errors(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(f"{_at(path, str(name))}: is required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            errors += schema_errors(item, properties[name], _at(path, name))
        elif extra is False:
            errors.append(f"{_at(path, name)}: is not a property the schema allows")
        elif isinstance(extra, Mapping):
            errors += schema_errors(item, extra, _at(path, name))
    return errors


def answer_schema(template: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of the JSON object an LLM answers an analysis with, for this template."""
    outcomes = [str(o) for o in template.get("outcomes") or []]
    data = template.get("structured_data_schema") or {}
    if not isinstance(data, Mapping) or not data:
        data = {"type": "object"}
    properties: dict[str, Any] = {
        "summary": {"type": "string", "minLength": 1},
        "outcome": {"type": ["string", "null"], **({"enum": [*outcomes, None]} if outcomes else {})},
        "success": {"type": ["boolean", "null"]},
        "structured_data": dict(data),
    }
    if template.get("sentiment_enabled", True):
        properties["sentiment"] = {"type": "string", "enum": list(SENTIMENT_LABELS)}
        properties["sentiment_score"] = {"type": "integer", "minimum": 0, "maximum": 10}
    required = list(properties)
    # asked for, not required: an answer without it still stands (the criterion is the reason)
    properties["success_reason"] = {"type": ["string", "null"]}
    return {"type": "object", "properties": properties, "required": required}


__all__ = ["SENTIMENT_LABELS", "answer_schema", "schema_errors"]
