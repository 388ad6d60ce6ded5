"""The campaign dialer against a real SIP peer: N leads dialled at ``calls_per_minute`` with at
most ``--concurrency`` calls at once, each call a real one over SIP and RTP on loopback.

The engine runs in a process of its own (bench.campaign_child: store, writer, media loop, RTP
pacer, speech models, the dialer), with the cheapest agent that still answers as one: the
scripted brain, whisper tiny.en and espeak-ng saying "Hi there." Its trunk points at simulated
callees in this process (engine.simulator.callee) whose number plan makes every lead a fast
answer: 200 OK at once, silence (G.711, encoded once) while up, a BYE after ``--hangup-s``. The
engine's side of each call is the whole of it: the dialer claims the lead and writes the queued
call, the INVITE goes out, the agent's pipeline opens and greets, the call is recorded, its row
and the lead's end written.

Per rate asked: the dial rate achieved (first to last dial); the rate the concurrency cap allows
with calls as long as they were (``concurrency / mean call * 60``: the target is 95 % of the
lower of the two); the engine's CPU (cores: its process and its RTP pacer, /proc) and where it
went by thread; the callees' CPU (this process) apart; the lateness of each dial against its
turn — the pace's schedule (the dialer's own Pacer, fed the dials as they went), or the moment a
call ended and made room, when the concurrency cap was what held it; the concurrency reached;
leads dialled more than once (must be 0); leads left ``calling`` once every call has ended and
the dialer had time to settle them (must be 0); leads and calls by final status; dial to answer;
how long the dialer's passes took.

Measured on the 2-core test machine (10,000 leads a rate, calls of 1.5 s): 551/min of 600 asked
and 685/min of 1200 asked, lateness p95 88 ms, the engine at 0.74 and 1.06 cores, the callees
0.11-0.14; the dialer makes about one dial a pass, and a pass took 56-76 ms (p50), which bounds
the rate — not the CPU, nor the cap (18-21 calls at once of 50).

    .venv/bin/python -m bench.campaign [--leads 10000] [--per-minute 600 1200] [--concurrency 50]
    .venv/bin/python -m bench.campaign --leads 500          (a shorter run)
    .venv/bin/python -m bench.campaign --stand-in --leads 300   (the dialer alone, no SIP)

``--stand-in`` measures the dialer on its own: every call is answered at once and ends after
``--call-ms`` (its row written as the telephony service writes it), in this process. Measured on
the 2-core test machine: 600/min asked, 587/min achieved, lateness p95 29 ms, 20 % of a core;
the pace tops out near 800/min there (each dial is a store transaction, and each pass reads the
campaign and its due leads again).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_child import READY_TIMEOUT_S, EngineProcess
from bench.results import report
from engine.campaigns import Dialer
from engine.campaigns.pacing import Pacer
from engine.simulator import CallResult, NumberPlan, SimulatedCallees
from engine.simulator.number_plan import FAST_HANGUP_S, FastAnswer, RangeRule
from engine.store import (
    Agent,
    Call,
    Campaign,
    Lead,
    Organization,
    PhoneNumber,
    SipTrunk,
    make_engine,
    migrate,
    new_id,
    session_scope,
    sqlite_url,
    utcnow,
)

BENCH = "campaign"
RATE_TARGET = 0.95  # of calls_per_minute (or of what the concurrency cap allows), achieved
LATE_P95_TARGET_MS = 250.0  # a dial goes within a quarter second of its turn
LEADS = 10_000
RATES = (600, 1200)
CONCURRENCY = 50
# Every lead's number (+1 NPA 555 XXXX, bench.campaign_child.lead_number) answers fast
LEAD_NUMBERS = r"1\d{3}555\d{4}"
POLL_S = 1.0
PROGRESS_S = 15.0  # a progress line this often
STALL_S = 90.0  # no dial nor call end for this long: the run is given up
SETTLE_S = 15.0  # the dialer settles the last ended calls' leads within this
GAP_S = 5.0  # between two rates: the last calls' rows and recordings are written
EPOCH = datetime(2000, 1, 1)  # the Pacer keeps datetimes; the dials are monotonic seconds


# --- the figures ---------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (nan when empty)."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]


@dataclass
class Turns:
    """Each dial against its turn: its lateness (s), and whether the cap held it."""

    late_s: list[float] = field(default_factory=list)
    held_by_cap: int = 0
    peak: int = 0  # calls under way at once, at most (as the dialer counts them)


def turns(dials: list[tuple[float, float | None]], per_minute: int, concurrency: int,
          started: float) -> Turns:
    """When each dial's turn came, and how late it went. A dial's turn is the pace's slot for it
    (the dialer's Pacer, fed the dials as they went; ``started`` for the first), or, when
    ``concurrency`` calls were still under way then, the moment enough of them had ended."""
    out = Turns()
    pacer = Pacer(per_minute)
    ends: list[float] = []  # of the dials before, still under way at the last dial
    last = started
    for at, end in sorted(dials, key=lambda d: d[0]):
        slot = pacer.next_at()
        due = started if slot is None else (slot - EPOCH).total_seconds()
        due = max(due, started)
        ends = [e for e in ends if e > last]
        under_way = sorted(e for e in ends if e > due)
        if len(under_way) >= concurrency:
            out.held_by_cap += 1
            due = under_way[len(under_way) - concurrency]
        out.late_s.append(max(0.0, at - due))
        out.peak = max(out.peak, sum(1 for e in ends if e > at) + 1)
        pacer.dialled(EPOCH + timedelta(seconds=at))
        ends.append(math.inf if end is None else end)
        last = at
    out.late_s.sort()
    return out


def achieved_per_minute(times: list[float]) -> float:
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return (len(times) - 1) / span * 60 if span > 0 else math.nan


def ms_line(label: str, values_s: list[float]) -> str:
    values = sorted(values_s)
    return (f"{label}: p50 {percentile(values, 0.5) * 1000:.1f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"
            if values else f"{label}: none")


# --- the real-SIP run ----------------------------------------------------------------------

class CampaignEngine(EngineProcess):
    """The engine of bench.campaign_child, seen from the benchmark."""

    def __init__(self, data_dir: Path, trunk_port: int) -> None:
        args = [sys.executable, "-m", "bench.campaign_child", "--data-dir", str(data_dir),
                "--trunk-port", str(trunk_port)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=Path(__file__).resolve().parent.parent)
        ready = self._answer(READY_TIMEOUT_S)
        if ready.get("event") != "ready":
            self.stop()
            raise RuntimeError(f"the engine did not start: {ready}")
        self.sip_port = ready["sip_port"]
        self.pid = ready["pid"]
        self.pacer_pid = ready["pacer_pid"]


@dataclass
class Callees:
    """What the simulated callees saw."""

    by_outcome: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def tally(self, result: CallResult) -> None:
        self.by_outcome[f"{result.persona} {result.sip_status}"] += 1
        if result.error:
            self.errors[result.error[:80]] += 1


@dataclass
class Run:
    per_minute: int
    leads: int
    concurrency: int
    wall_s: float = 0.0
    engine_cpu_s: float = 0.0
    callees_cpu_s: float = 0.0
    finished: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    threads_cpu_s: dict[str, float] = field(default_factory=dict)
    callees: Callees = field(default_factory=Callees)
    started: float = 0.0


ANSWER_S = 120.0  # the engine answers a command within this (a result reads every call row)


async def ask(engine: CampaignEngine, command: str) -> dict[str, Any]:
    """A command to the engine, off this loop (the callees answer SIP on it meanwhile)."""
    return await asyncio.to_thread(engine.ask, command, ANSWER_S)


async def dial_campaign(engine: CampaignEngine, callees: Callees, leads: int, per_minute: int,
                        concurrency: int) -> Run:
    run = Run(per_minute, leads, concurrency, callees=callees)
    made = await ask(engine, "campaign " + json.dumps(
        {"leads": leads, "per_minute": per_minute, "concurrency": concurrency}))
    campaign_id = made["campaign_id"]
    cpu0, mine0, wall0 = engine.cpu_s(), time.process_time(), time.monotonic()
    went = await ask(engine, "go " + campaign_id)
    run.started = went["at"]
    printed, progress_at, seen = wall0, wall0, (0, 0)
    while True:
        await asyncio.sleep(POLL_S)
        status = await ask(engine, "status")
        now = time.monotonic()
        if (status["dialled"], status["ended"]) != seen:
            seen, progress_at = (status["dialled"], status["ended"]), now
        if now - printed >= PROGRESS_S:
            printed = now
            print(f"    {now - wall0:5.0f} s: {status['dialled']}/{leads} dialled, "
                  f"{status['live']} under way, {status['ended']} ended", flush=True)
        if status["dialled"] >= leads and status["ended"] >= status["dialled"]:
            run.finished = True
            break
        if now - progress_at > STALL_S:
            print(f"    no dial nor call end for {STALL_S:g} s: given up", flush=True)
            break
    run.wall_s = time.monotonic() - wall0
    run.engine_cpu_s = engine.cpu_s() - cpu0
    run.callees_cpu_s = time.process_time() - mine0
    settle_by = time.monotonic() + SETTLE_S  # the last ended calls' leads are settled
    while time.monotonic() < settle_by:
        if "calling" not in (await ask(engine, "leads " + campaign_id))["leads"]:
            break
        await asyncio.sleep(POLL_S)
    run.result = await ask(engine, "result " + campaign_id)
    run.threads_cpu_s = {name: cpu - went["threads"].get(name, 0.0)
                         for name, cpu in run.result["threads"].items()}
    return run


def summarise(run: Run) -> None:
    result = run.result
    dials: list[tuple[float, float | None]] = [(d[0], d[1]) for d in result["dials"]]
    times = sorted(at for at, _ in dials)
    durations = [end - at for at, end in dials if end is not None]
    mean_call_s = statistics.fmean(durations) if durations else math.nan
    achieved = achieved_per_minute(times)
    cap_allows = run.concurrency / mean_call_s * 60 if durations else math.nan
    asked_or_cap = min(run.per_minute, cap_allows) if durations else run.per_minute
    found = turns(dials, run.per_minute, run.concurrency, run.started)
    cores = run.engine_cpu_s / run.wall_s if run.wall_s else math.nan
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    print(f"{run.leads} leads at {run.per_minute}/min, concurrency {run.concurrency}: "
          f"{len(dials)} dialled in {span:.1f} s of dialling, {run.wall_s:.1f} s in all"
          + ("" if run.finished else " (NOT FINISHED)"))
    print(f"  dial rate {achieved:.0f}/min of {run.per_minute}/min asked; calls lasted "
          f"{mean_call_s:.2f} s on average (dial to end), so the cap of {run.concurrency} allows "
          f"{cap_allows:.0f}/min")
    print(f"  concurrency reached {found.peak} of {run.concurrency}; {found.held_by_cap} dials "
          f"waited for the cap")
    print(f"  {ms_line('lateness against the turn', found.late_s)}")
    answer_s = [v / 1000 for v in result["answer_ms"]]
    print(f"  {ms_line('dial to answer (the call row)', answer_s)}")
    passes, waits = result["passes_s"], result["settle_waits_s"]
    print(f"  the dialer's passes: {len(passes)}, {ms_line('each took', passes)}; its waits for "
          f"ended calls' rows: {len(waits)}, {ms_line('each', waits)}")
    print(f"  engine CPU {cores:.2f} cores ({run.engine_cpu_s:.0f} s over {run.wall_s:.0f} s; "
          f"with its RTP pacer); callees (this process) {run.callees_cpu_s / run.wall_s:.2f} cores")
    busiest = sorted(run.threads_cpu_s.items(), key=lambda kv: -kv[1])[:6]
    print("  engine threads: " + ", ".join(f"{name} {cpu / run.wall_s:.2f}c"
                                           for name, cpu in busiest if cpu > 0))
    print(f"  leads by status: {dict(sorted(result['leads'].items()))}; attempts: "
          f"{dict(sorted(result['attempts'].items()))}; leads called more than once: "
          f"{result['leads_called_twice']}")
    print(f"  calls by status: {dict(sorted(result['calls_by_status'].items()))}; callees saw: "
          f"{dict(run.callees.by_outcome.most_common())}"
          + (f"; callee errors: {dict(run.callees.errors.most_common(3))}"
             if run.callees.errors else ""))
    rate = f"{run.per_minute}/min"
    report(BENCH, f"dial rate, asked {rate}", achieved, "/min",
           at_least=round(RATE_TARGET * asked_or_cap))
    report(BENCH, f"dial lateness p95 at {rate}", percentile(found.late_s, 0.95) * 1000, "ms",
           at_most=LATE_P95_TARGET_MS)
    report(BENCH, f"engine CPU at {rate}", cores, "cores")
    report(BENCH, f"concurrency reached at {rate}", found.peak, "calls")
    report(BENCH, f"leads dialled twice at {rate}", result["leads_called_twice"], "",
           at_most=0)
    report(BENCH, f"leads left calling at {rate}", result["leads"].get("calling", 0), "",
           at_most=0)


async def run_sip(leads: int, rates: list[int], concurrency: int, hangup_s: float) -> list[Run]:
    callees = Callees()
    plan = NumberPlan(ranges=(RangeRule(LEAD_NUMBERS, (FastAnswer(hangup_s),) * 10),))
    peer = SimulatedCallees(plan, codec="g711", on_result=callees.tally)
    await peer.start()
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-bench-campaign-") as tmp:
            engine = await asyncio.to_thread(CampaignEngine, Path(tmp), peer.port)
            try:
                print(f"campaign: engine process {engine.pid} (scripted agent, whisper tiny.en, "
                      f"espeak-ng, recording), fast-answering callees here on UDP {peer.port} "
                      f"(G.711, hang up after {hangup_s:g} s)", flush=True)
                for i, per_minute in enumerate(rates):
                    if i:
                        await asyncio.sleep(GAP_S)
                    print(f"  {leads} leads at {per_minute}/min, concurrency {concurrency}:",
                          flush=True)
                    callees.by_outcome.clear()
                    callees.errors.clear()
                    run = await dial_campaign(engine, callees, leads, per_minute, concurrency)
                    runs.append(run)
                    summarise(run)
            finally:
                await asyncio.to_thread(engine.stop)
    finally:
        await peer.stop()
    return runs


# --- the stand-in run (the dialer alone) ---------------------------------------------------

class FastCalls:
    """Calls answered at once that end after ``call_s``, their rows written as they end."""

    dials = True

    def __init__(self, db: Engine, call_s: float) -> None:
        self.db = db
        self.call_s = call_s
        self.dialled_at: list[float] = []

    def dial(self, call_id: str) -> asyncio.Task[None]:
        self.dialled_at.append(time.monotonic())
        return asyncio.get_running_loop().create_task(self._call(call_id))

    async def _call(self, call_id: str) -> None:
        await asyncio.sleep(self.call_s)
        await asyncio.to_thread(self._ended, call_id)

    def _ended(self, call_id: str) -> None:
        now = utcnow()
        with session_scope(self.db) as session:
            call = session.get(Call, call_id)
            assert call is not None
            call.status, call.answered_at, call.ended_at = "completed", now, now
            call.duration_seconds = 0

    async def settled(self) -> None:
        return None


def make_store(path: Path, leads: int, per_minute: int, concurrency: int) -> tuple[Engine, str]:
    db = make_engine(sqlite_url(path))
    migrate(db)
    with session_scope(db) as session:
        org = Organization(name="Bench")
        agent = Agent(organization_id=org.id, name="Caller")
        trunk = SipTrunk(organization_id=org.id, name="Peer", host="127.0.0.1")
        number = PhoneNumber(organization_id=org.id, number="+12025550100", sip_trunk_id=trunk.id)
        campaign = Campaign(organization_id=org.id, name="Bench", agent_id=agent.id,
                            phone_number_id=number.id, status="running",
                            calling_hours_start="00:00", calling_hours_end="24:00",
                            calling_days=list(range(7)), max_concurrent=concurrency,
                            calls_per_minute=per_minute, amd="off")
        session.add_all([org, agent, trunk, number, campaign])
        organization_id, campaign_id = org.id, campaign.id
    now = utcnow()
    rows = [{"id": new_id(), "organization_id": organization_id, "campaign_id": campaign_id,
             "created_at": now + timedelta(microseconds=i), "updated_at": now,
             "phone_number": f"+1{202 + i // 10_000:03d}555{i % 10_000:04d}", "name": f"Lead {i}",
             "variables": {}, "status": "pending", "attempts": 0} for i in range(leads)]
    with db.begin() as conn:
        conn.execute(insert(Lead.__table__), rows)  # type: ignore[attr-defined]
    return db, campaign_id


async def run_stand_in(leads: int, per_minute: int, concurrency: int, call_ms: float) -> None:
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-campaign-") as tmp:
        db, _ = make_store(Path(tmp) / "store.db", leads, per_minute, concurrency)
        calls = FastCalls(db, call_ms / 1000)
        dialer = Dialer(db, calls)
        cpu0, wall0 = time.process_time(), time.monotonic()
        dialer.start()
        while len(calls.dialled_at) < leads:  # noqa: ASYNC110 - the dialer fills it
            await asyncio.sleep(0.05)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        await dialer.stop()
        db.dispose()
    times = calls.dialled_at
    spacing = 60.0 / per_minute
    span = times[-1] - times[0]
    late_ms = sorted(max(0.0, (b - a - spacing) * 1000) for a, b in itertools.pairwise(times))
    p95 = late_ms[int(0.95 * (len(late_ms) - 1))] if late_ms else 0.0
    print(f"{leads} leads at {per_minute}/min, concurrency {concurrency}, stand-in calls of "
          f"{call_ms:.0f} ms: {span:.1f} s of dialling, {wall:.1f} s in all")
    print(f"  lateness against the pace: p50 {statistics.median(late_ms):.1f} ms, "
          f"p95 {p95:.1f} ms, max {late_ms[-1]:.1f} ms")
    report(BENCH, f"stand-in dial rate, asked {per_minute}/min", achieved_per_minute(times),
           "/min", at_least=RATE_TARGET * per_minute)
    report(BENCH, "stand-in dialer process CPU over the run", cpu / wall * 100, "%")
    report(BENCH, "stand-in dial lateness p95", p95, "ms", at_most=LATE_P95_TARGET_MS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=None,
                        help=f"leads per rate (default: {LEADS}; {300} with --stand-in)")
    parser.add_argument("--per-minute", type=int, nargs="+", default=list(RATES), metavar="N",
                        help="calls_per_minute, one campaign each (default: %(default)s; "
                             "--stand-in dials the first)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="max_concurrent (default: %(default)s)")
    parser.add_argument("--hangup-s", type=float, default=FAST_HANGUP_S,
                        help="the callees hang up this long after answering "
                             "(default: %(default)s)")
    parser.add_argument("--stand-in", action="store_true",
                        help="the dialer alone: calls that end after --call-ms, no SIP")
    parser.add_argument("--call-ms", type=float, default=500.0,
                        help="--stand-in: how long a call lasts (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in ("leads", "concurrency"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name}: expected at least 1, got {value}")
    if any(n < 1 for n in args.per_minute):
        parser.error(f"--per-minute: expected at least 1 each, got {args.per_minute}")
    if not args.hangup_s > 0:
        parser.error(f"--hangup-s: expected more than 0, got {args.hangup_s}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stand_in:
        asyncio.run(run_stand_in(args.leads or 300, args.per_minute[0], args.concurrency,
                                 args.call_ms))
        return 0
    runs = asyncio.run(run_sip(args.leads or LEADS, args.per_minute, args.concurrency,
                               args.hangup_s))
    return 0 if runs and all(run.finished for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
