"""``switchboard simulate``: simulated callers playing a persona against a SIP address, one
after another, and a summary table at the end."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
from collections.abc import Sequence

from engine.settings import Settings
from engine.simulator import CallResult, PersonaError, load_persona, simulate
from engine.speech.models import SpeechModels


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) of ``values``, interpolated; None when there are none."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def summary(results: Sequence[CallResult]) -> str:
    """The table printed at the end: calls, answered, goal reached, voice-to-voice p50/p95."""
    latencies = [ms for r in results for ms in r.latencies_ms]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    rows = [("calls", str(len(results))),
            ("answered", str(sum(r.answered for r in results))),
            ("goal reached", str(sum(r.goal_reached for r in results))),
            ("voice-to-voice p50", ms(p50)),
            ("voice-to-voice p95", ms(p95)),
            ("turns measured", str(len(latencies)))]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _line(index: int, result: CallResult) -> str:
    status = "goal reached" if result.goal_reached else \
        f"goal missed: {'; '.join(result.goal_missing)}"
    return (f"call {index}: SIP {result.sip_status or '-'}, {len(result.said)} lines said, "
            f"{len(result.heard)} heard, ended by {result.ended_by or '-'}, {status}")


async def _run(args: argparse.Namespace) -> list[CallResult]:
    persona = load_persona(args.persona)
    host = args.sip.removeprefix("sip:")
    uri = f"sip:{args.number.lstrip('+')}@{host}"
    models = SpeechModels(Settings.from_env(args.data_dir).data_dir)
    stt = models.whisper()
    results: list[CallResult] = []
    try:
        for index in range(1, args.count + 1):
            result = await simulate(persona, uri, stt, limit_s=args.limit)
            results.append(result)
            print(_line(index, result), file=sys.stderr, flush=True)
    finally:
        await models.aclose()
    return results


def run_simulate(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"(sip:)?[^@\s:]+(:\d+)?", args.sip):
        print(f"switchboard: --sip {args.sip!r} is not sip:HOST[:PORT]", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(_run(args))
    except PersonaError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    print(summary(results))
    return 0 if results and all(r.answered for r in results) else 1


__all__ = ["percentile", "run_simulate", "summary"]
