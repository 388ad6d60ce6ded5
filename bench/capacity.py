"""Capacity: how many concurrent calls the whole pipeline carries on this machine.

The engine runs in a process of its own (bench.engine_child) with the demo organization: its
agents answer on SIP with whisper tiny.en, the scripted brain, espeak-ng, recording, the store
and events. Simulated callers (bench.voice_calls: pre-rendered lines, no recogniser, in this
process) call the billing and appointments agents and keep them talking — a line, the agent's
answer, the next line — in steps of N concurrent calls (2, 4, 6, 8, 10, 12, 16, ...) until a
step fails or ``--max``.

Per step: N; the share of the engine's outgoing frames that left within 10 ms of their slot;
voice to voice p50/p95 on the caller's side (caller's last voiced frame sent to the agent's
first speech heard; a line left unanswered counts as infinitely late); the engine's CPU (cores,
/proc utime+stime of the engine and its RTP pacer) and RSS; the callers' CPU. The frame and CPU
figures cover the window when all N calls are on the line. A step passes when more than 99.9 %
of frames are on time and voice to voice p95 <= 1 s; the capacity is the largest passing N.
For the step at the limit it prints where a turn's time goes (the engine's per-turn stages from
the call rows: end of turn, STT final, brain, TTS first chunk), the busiest engine threads
(``native``: threads Python did not start, i.e. CTranslate2's, which run whisper), and when in
the window frames went out late (each half second with late frames, and garbage collections
over 10 ms). The machine's 1-minute load average is printed per step: late frames come from the
media thread not getting a core (or the GIL) in time, which other work on the machine causes.

    python -m bench.capacity                       (steps of 60 s, until a step fails)
    python -m bench.capacity --max 12 --step-seconds 45
    python -m bench.capacity --quick               (1 and 2 calls, 20 s each: a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_child import EngineProcess
from bench.results import report
from bench.voice_calls import (
    Route,
    Step,
    ms,
    prepare,
    run_step,
    stage_line,
    stall_line,
    thread_line,
)

BENCH = "capacity"
SIZES = (2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64)
QUICK_SIZES = (1, 2)
ON_TIME_TARGET = 0.999  # DESIGN §8: under 0.1 % of outgoing frames more than 10 ms late
P95_TARGET_MS = 1000.0  # voice to voice p95 at capacity
CAPACITY_TARGET = 10  # concurrent calls on the 2-core reference machine, whisper tiny.en
STAGGER_S = 0.5  # between two call starts within a step
TURNS = 60  # lines per caller: more than fit in a step, which hangs up first
# The demo agents whose answers are a sentence or two and lead back to "anything else?":
# billing's due date / refund / card answers, appointments' confirmation.
ROUTES = (
    Route("+14155550178", ("When is my bill due?", "Where is my refund?",
                           "I need to update my credit card.")),
    Route("+12125550142", ("Yes, I'll be there.", "Yes, confirmed, I'll be there.")),
)


def passes(step: Step) -> bool:
    p95 = step.p(0.95)
    on_time = step.on_time
    return (step.answered == step.calls and on_time is not None and on_time > ON_TIME_TARGET
            and p95 is not None and p95 <= P95_TARGET_MS)


HEADER = ("calls  answered  frames-on-time  p99-late  max-late  v2v-p50  v2v-p95  unanswered  "
          "engine-CPU  engine-RSS  callers-CPU  window  load  result")


def row(step: Step) -> str:
    usage = step.usage
    on_time = "-" if step.on_time is None else f"{step.on_time:.4%}"
    return (f"{step.calls:5d}  {step.answered:8d}  {on_time:>14}  {step.frames_p99_ms:6.1f}ms  "
            f"{step.frames_max_ms:6.1f}ms  {ms(step.p(0.5)):>5}ms  {ms(step.p(0.95)):>5}ms  "
            f"{step.unanswered:4d}/{len(step.latencies_ms):<5d}  "
            f"{(usage.cores if usage else 0):8.2f}c  {step.engine_rss_mb:8.0f}MB  "
            f"{step.callers_cpu_s:9.2f}c  {(usage.wall_s if usage else 0):5.0f}s  "
            f"{os.getloadavg()[0]:4.1f}  {'pass' if passes(step) else 'FAIL'}")


async def run(sizes: list[int], seconds: float) -> list[Step]:
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="capacity-bench-") as tmp:
        engine = await asyncio.to_thread(EngineProcess, Path(tmp), demo=True)
        try:
            if engine.fallbacks:
                print(f"capacity: speech models fell back: {engine.fallbacks}", flush=True)
            callers = await prepare(ROUTES, TURNS)
            print(f"capacity: demo agents (whisper tiny.en, scripted brain, espeak-ng, recording) "
                  f"in engine process {engine.pid}; callers here ({os.getpid()}), {seconds:g} s "
                  f"steps, calls {STAGGER_S:g} s apart; real-time scheduling of the media thread / RTP "
                  "pacer: {} / {}".format(*("yes" if on else "no" for on in engine.realtime)),
                  flush=True)
            print(HEADER, flush=True)
            for n in sizes:
                step = await run_step(engine, callers, n, seconds, STAGGER_S)
                steps.append(step)
                print(row(step), flush=True)
                print(f"       {stage_line(step)}", flush=True)
                print(f"       {thread_line(step)}", flush=True)
                print(f"       {stall_line(step)}", flush=True)
                print(f"       callers spoke {step.talk_share:.0%} of the time; engine rows: "
                      f"{sum(1 for r in step.rows if r['status'] == 'completed')} completed, "
                      f"{sum(1 for r in step.rows if r['recording_status'] == 'completed')} "
                      "recordings", flush=True)
                errors = sorted({r.error for r in step.results
                                 if r.error and "still on after" not in r.error})
                if errors:
                    print(f"       caller errors: {errors[:3]}", flush=True)
                if not passes(step):
                    break
                await asyncio.sleep(2.0)  # the last calls' rows and recordings are written
        finally:
            await asyncio.to_thread(engine.stop)
    return steps


def summarise(steps: list[Step], quick: bool) -> None:
    passed = [s for s in steps if passes(s)]
    limit = passed[-1] if passed else None
    capacity = limit.calls if limit else 0
    print()
    if limit is None:
        print("capacity: no step passed")
    else:
        stopped = steps[-1] if steps[-1] is not limit else None
        print(f"capacity: {capacity} concurrent calls "
              f"(> {ON_TIME_TARGET:.1%} frames within 10 ms, voice to voice p95 <= "
              f"{P95_TARGET_MS:.0f} ms)"
              + (f"; {stopped.calls} calls failed" if stopped else "; the largest step tried"))
    for step in (limit, steps[-1] if steps and steps[-1] is not limit else None):
        if step is not None:
            print(f"  at {step.calls} calls: {stage_line(step)}")
            print(f"  at {step.calls} calls: {thread_line(step)}")
    if quick:
        return
    report(BENCH, "concurrent calls, whole pipeline", capacity, "calls",
           at_least=CAPACITY_TARGET)
    if limit is not None:
        report(BENCH, f"voice to voice p95 at {limit.calls} calls", limit.p(0.95), "ms",
               at_most=P95_TARGET_MS)
        report(BENCH, f"engine CPU at {limit.calls} calls",
               limit.usage.cores if limit.usage else None, "cores")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--max", type=int, default=SIZES[-1], metavar="N",
                        help="the largest step (default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        help=f"the steps (default: {' '.join(map(str, SIZES))}, up to --max)")
    parser.add_argument("--step-seconds", type=float, default=60.0,
                        help="how long each step's calls last (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="1 and 2 calls of 20 s: a smoke run (reports no headline figures)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        sizes, seconds = list(QUICK_SIZES), 20.0
    else:
        sizes = [n for n in (args.sizes or SIZES) if n <= args.max]
        seconds = args.step_seconds
    steps = asyncio.run(run(sizes, seconds))
    summarise(steps, args.quick)
    return 0 if steps else 1


if __name__ == "__main__":
    sys.exit(main())
