"""Filling ``{variables}`` in script texts: dotted paths and value formats (``{date:date}``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.agents.slots import format_value

# ``{name}`` and ``{name:format}``; ``{{name}}`` (as campaign lists and other platforms write it)
# is the same field
_FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)(?::(\w+))?\s*\}\}|\{([A-Za-z_][\w.]*)(?::(\w+))?\}")


def lookup(variables: Mapping[str, Any], path: str) -> Any:
    """``order.status`` in nested mappings; None when any part is missing."""
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def fill(text: str, variables: Mapping[str, Any]) -> str:
    """``text`` with each ``{name}`` / ``{name:format}`` replaced; unknown names become empty."""
    filled = _FIELD.sub(lambda m: format_value(lookup(variables, m.group(1) or m.group(3)),
                                               m.group(2) or m.group(4)), text)
    return " ".join(filled.split())
