"""The engine's events as the console takes them: typed (``engine.events``), as the bridge and the
call streams deliver them; a wire dict (from a script, a recording or a test) is parsed first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.events import Event, parse_event


def typed(event: Event | Mapping[str, Any]) -> Event:
    return event if isinstance(event, Event) else parse_event(event)


__all__ = ["typed"]
