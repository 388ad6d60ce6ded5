"""Checks a response against a seed document's example response: every documented field is
there, with the example's JSON type (a number may be an integer or a float unless the seed
says integer; ``nullable`` fields may also be null)."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_errors(example: Any, actual: Any, *, nullable: frozenset[str] = frozenset(),
                 integers: frozenset[str] = frozenset(), path: str = "") -> list[str]:
    """What differs from the example's shape, as ``path: problem`` lines (empty: it matches)."""
    want, got = json_type(example), json_type(actual)
    if got == "null":
        return [] if path in nullable else [f"{path}: null"]
    if want == "integer" and path not in integers:
        want = "number"  # a documented number with an integer example
    if want == "number" and got == "integer":
        got = "number"
    if want != got:
        return [f"{path}: {got}, expected {want}"]
    out: list[str] = []
    if want == "object":
        for key, value in example.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{where}: missing")
            else:
                out += shape_errors(value, actual[key], nullable=nullable, integers=integers,
                                    path=where)
    elif want == "array" and example:
        for item in actual:
            out += shape_errors(example[0], item, nullable=nullable, integers=integers,
                                path=f"{path}[]")
    return out
