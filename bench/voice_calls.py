"""Many simulated callers at once against a child engine, and what one such step measured.

The callers are cheap: their personas are defined here (lines, each followed by a ``wait`` for
the agent's answer; no ``react``), rendered once before any call, and they run without a
recogniser (``stt=None``: the agent's speech is detected, not transcribed). They run in this
process, the engine in its own (bench.engine_child), so each side's CPU is measured apart.

A step of N calls starts them ``stagger_s`` apart and hangs them all up together after
``seconds``; the engine's frames and CPU are measured over the window when all N are on the
line (from a settle time after the last one answered to just before the hang-up).
"""

from __future__ import annotations

import asyncio
import json
import math
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.engine_child import EngineProcess, Usage
from engine.calls.metrics import STAGES, percentile, stage_summary
from engine.media.clock import BIN_S
from engine.simulator.caller import CallResult, Line, SimulatedCaller, render
from engine.simulator.personas import Persona, parse_persona

CALLER_WAIT_S = 15.0  # a line the agent has not answered within this is counted as unanswered
SETTLE_S = 4.0  # after the last call starts: its answer and the agent's greeting are under way
HANGUP_MARGIN_S = 1.0  # the load window ends this long before the calls hang up


@dataclass(frozen=True)
class Route:
    """Where a bench caller calls, and what it says there (in turn, again and again)."""

    number: str
    lines: tuple[str, ...]
    voice: str = "en-gb"
    language: str = "en"
    rate: int = 150


def persona_yaml(name: str, route: Route, turns: int) -> str:
    """A persona that waits for the greeting, then says ``turns`` lines, each followed by a
    wait for the agent's answer, then hangs up. JSON strings are YAML strings."""
    steps = ["  - wait: {}"]
    for i in range(turns):
        steps.append(f"  - say: {json.dumps(route.lines[i % len(route.lines)])}")
        steps.append(f"  - wait: {{timeout: {CALLER_WAIT_S:g}}}")
    steps.append("  - hangup: {}")
    voice = json.dumps({"language": route.language, "voice": route.voice, "rate": route.rate})
    return "\n".join([f"name: {name}", "description: A benchmark caller.",
                      "goal: Keep the agent talking.", f"voice: {voice}", "steps:", *steps, ""])


def bench_persona(name: str, route: Route, turns: int) -> Persona:
    return parse_persona(persona_yaml(name, route, turns), Path(f"<bench>/{name}.yaml"))


@dataclass
class Caller:
    persona: Persona
    lines: dict[str, Line]
    number: str


async def prepare(routes: Sequence[Route], turns: int) -> list[Caller]:
    """One persona per route, its lines rendered (espeak-ng) once for every call."""
    out = []
    for i, route in enumerate(routes):
        persona = bench_persona(f"bench_caller_{i}", route, turns)
        out.append(Caller(persona, await render(persona), route.number))
    return out


@dataclass
class Step:
    """One step: N concurrent calls and what they measured."""

    calls: int
    results: list[CallResult]
    usage: Usage | None  # the engine while all N were on the line
    callers_cpu_s: float
    engine_rss_mb: float
    rows: list[dict[str, Any]] = field(default_factory=list)  # the engine's call rows
    whole: Usage | None = None  # the engine from the first call's start to the last one's end

    @property
    def answered(self) -> int:
        return sum(1 for r in self.results if r.answered)

    @property
    def latencies_ms(self) -> list[float]:
        """Voice to voice on the caller's side, every answered line; lines left unanswered (but
        each call's last, which the hang-up may have cut) count as infinitely late."""
        out: list[float] = []
        for r in self.results:
            turns = r.turns
            for i, turn in enumerate(turns):
                if turn.voice_to_voice_ms is not None:
                    out.append(turn.voice_to_voice_ms)
                elif i < len(turns) - 1:
                    out.append(math.inf)
        return out

    @property
    def unanswered(self) -> int:
        return sum(1 for v in self.latencies_ms if math.isinf(v))

    @property
    def talk_share(self) -> float:
        """The share of the calls' time the callers spent speaking their lines."""
        spoken = sum(line.ended_s - line.started_s for r in self.results for line in r.said)
        total = sum(r.duration_s for r in self.results)
        return spoken / total if total else 0.0

    def p(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)

    @property
    def on_time(self) -> float | None:
        return self.usage.on_time_share if self.usage is not None and self.usage.frames.count \
            else None

    @property
    def frames_p99_ms(self) -> float:
        return self.usage.frames.quantile(0.99) * 1000 if self.usage is not None else 0.0

    @property
    def frames_max_ms(self) -> float:
        if self.usage is None:
            return 0.0
        top = max((i for i, n in enumerate(self.usage.frames.bins) if n), default=-1)
        return (top + 1) * BIN_S * 1000

    @property
    def stages(self) -> dict[str, dict[str, float | None]]:
        """The engine's per-turn latency stages over the step's calls (from their rows)."""
        return stage_summary(turn for row in self.rows for turn in row["latency_turns"])

    def threads(self, top: int = 8) -> list[tuple[str, float]]:
        """The engine's busiest threads, cores each over the load window."""
        if self.usage is None or not self.usage.wall_s:
            return []
        shares = {name: cpu / self.usage.wall_s for name, cpu in self.usage.threads_cpu_s.items()}
        return sorted(((n, s) for n, s in shares.items() if s >= 0.005), key=lambda x: -x[1])[:top]


async def run_step(engine: EngineProcess, callers: Sequence[Caller], n: int, seconds: float,
                   stagger_s: float) -> Step:
    """N calls, the i-th to ``callers[i % len]``, started ``stagger_s`` apart and hung up together
    ``seconds`` after the first one started."""
    before = await asyncio.to_thread(engine.reading)
    started = time.monotonic()
    end_at = started + max(seconds, (n - 1) * stagger_s + SETTLE_S + 5.0)

    async def one(i: int) -> CallResult:
        await asyncio.sleep(i * stagger_s)
        caller = callers[i % len(callers)]
        uri = f"sip:{caller.number.lstrip('+')}@127.0.0.1:{engine.sip_port}"
        limit = max(1.0, end_at - time.monotonic())
        return await SimulatedCaller(caller.persona, None, lines=caller.lines).call(uri,
                                                                                    limit_s=limit)

    calls = [asyncio.ensure_future(one(i)) for i in range(n)]
    await asyncio.sleep((n - 1) * stagger_s + SETTLE_S)
    window = await asyncio.to_thread(engine.reading)
    cpu0 = _own_cpu()
    await asyncio.sleep(max(0.0, end_at - HANGUP_MARGIN_S - time.monotonic()))
    usage = await asyncio.to_thread(engine.usage, window)
    callers_cpu = (_own_cpu() - cpu0) / usage.wall_s if usage.wall_s else 0.0
    rss = engine.rss_mb()
    results = list(await asyncio.gather(*calls))
    whole = await asyncio.to_thread(engine.usage, before)
    ids = [r.sip_call_id for r in results if r.sip_call_id]
    rows = await asyncio.to_thread(engine.calls, ids) if ids else []
    return Step(n, results, usage, callers_cpu, rss, rows, whole)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if math.isinf(value) else f"{value:.0f}"


def stage_line(step: Step) -> str:
    """The engine's per-turn stages, p50/p95 each: where a turn's time goes."""
    parts = []
    for stage in STAGES:
        figures = step.stages[stage]
        parts.append(f"{stage.removesuffix('_ms')} {ms(figures['p50'])}/{ms(figures['p95'])}")
    return "engine turn stages p50/p95 ms: " + ", ".join(parts)


def stall_line(step: Step) -> str:
    """When the late frames of the load window went out late, and the slow garbage collections."""
    if step.usage is None:
        return ""
    bursts = ", ".join(f"{at:.1f}s: {n} late, worst {worst * 1000:.0f} ms"
                       for at, n, worst in step.usage.bursts[:8])
    more = len(step.usage.bursts) - 8
    gcs = ", ".join(f"{at:.1f}s: gen {gen} {seconds * 1000:.0f} ms"
                    for at, gen, seconds in step.usage.collections[:8])
    return (f"late frames by half second: {bursts or 'none'}{f' (+{more} more)' if more > 0 else ''}"
            f"; garbage collections > 10 ms: {gcs or 'none'}")


def thread_line(step: Step) -> str:
    return "engine threads (cores): " + ", ".join(f"{name} {share:.2f}"
                                                  for name, share in step.threads())


__all__ = ["Caller", "Route", "Step", "bench_persona", "ms", "persona_yaml", "prepare",
           "run_step", "stage_line", "stall_line", "thread_line"]
