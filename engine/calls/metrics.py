"""Per-call latency figures from the turns of the agent's pipeline."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T", int, float)
STAGES = ("eou_ms", "stt_ms", "brain_ms", "tts_ttfb_ms", "voice_to_voice_ms")


def percentile(values: Sequence[T], q: float) -> T | None:
    """The ``q`` quantile (0-1) by the nearest-rank method, one of ``values``; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_fields(turns: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``latency_p50_ms``, ``latency_p95_ms`` (voice to voice) and ``latency_turns`` of a call."""
    rows = [{"turn": i, **{k: turn.get(k) for k in STAGES}} for i, turn in enumerate(turns)]
    v2v = [float(r["voice_to_voice_ms"]) for r in rows if r["voice_to_voice_ms"] is not None]
    p50, p95 = percentile(v2v, 0.5), percentile(v2v, 0.95)
    return {"latency_p50_ms": None if p50 is None else round(p50),
            "latency_p95_ms": None if p95 is None else round(p95),
            "latency_turns": rows}


def stage_summary(turns: Iterable[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """p50 / p95 / max of every stage over many turns (for benchmarks and reports)."""
    rows = list(turns)
    out: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        values = [float(r[stage]) for r in rows if r.get(stage) is not None]
        out[stage] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
                      "max": max(values) if values else None, "n": float(len(values))}
    return out
