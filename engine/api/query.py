"""The refusal of query parameters a route does not take: a list never ignores a filter it was
given. ``known_query`` is a route dependency; ``KnownQuery(*names)`` also takes names a route
reads from the query itself (the generic lists' filters, engine.api.crud)."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import Request

from engine.api.errors import did_you_mean, invalid

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


class KnownQuery:
    """A dependency: a query parameter the route does not take is a 422 naming it (with the
    closest name it does take), instead of being silently ignored.

    The names a route takes are its declared query parameters (with its dependencies'), plus
    ``also``: the filters a generic list reads from the query itself (engine.api.crud)."""

    def __init__(self, *also: str) -> None:
        self.also = frozenset(also)

    def __call__(self, request: Request) -> None:
        declared = _query_names(request)
        if declared is None:
            return
        names = declared | self.also
        for name in request.query_params:
            if name in names:
                continue
            raise invalid(name, f"not a query parameter of this list; it takes "
                                f"{', '.join(sorted(names))}{did_you_mean(name, names)}")


# The dependency for a route whose query parameters are all declared on it
known_query = KnownQuery()


__all__ = ["KnownQuery", "known_query"]
