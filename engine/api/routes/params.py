"""Query parameters shared by several routes: times, and the refusal of parameters a route does
not take (a list never ignores a filter it was given)."""

from __future__ import annotations

import difflib
import threading
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request

from engine.api.errors import invalid
from engine.store.timeutil import parse_iso


def time_param(field: str, raw: str | None, *, end: bool = False) -> datetime | None:
    """An ISO 8601 time or date, or a 422 naming the field. A bare date given as the end of a
    range (``until=2026-03-31``) means the end of that day."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        value = parse_iso(text)
    except ValueError:
        raise invalid(field, f"not an ISO 8601 time or date: {raw!r}") from None
    if end and len(text) == 10:
        value += timedelta(days=1)
    return value


_NAMES: dict[tuple[str, str], frozenset[str]] = {}  # (method, path) -> the route's query names
_NAMES_LOCK = threading.Lock()


def _query_names(request: Request) -> frozenset[str] | None:
    """The query parameters the matched route declares (with its dependencies'), or None when
    the route is not a FastAPI route."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    key = (request.method, str(getattr(route, "path", "")))
    with _NAMES_LOCK:
        names = _NAMES.get(key)
    if names is None:
        names = frozenset(_declared(dependant))
        with _NAMES_LOCK:
            _NAMES[key] = names
    return names


def _declared(dependant: Any) -> set[str]:
    """The query names of a dependant and of every dependency under it."""
    names = {str(p.alias) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


def known_query(request: Request) -> None:
    """A dependency: a query parameter the route does not take is a 422 naming it (with the
    closest name it does take), instead of being silently ignored."""
    names = _query_names(request)
    if names is None:
        return
    for name in request.query_params:
        if name in names:
            continue
        close = difflib.get_close_matches(name.lower(), sorted(names), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise invalid(name, f"not a query parameter of this list; it takes "
                            f"{', '.join(sorted(names))}{hint}")


__all__ = ["known_query", "time_param"]
