"""SIP capacity: sipp places N concurrent uac_pcap calls (G.711 audio + a DTMF digit, about 9 s
each) into an in-process engine (media, mixing and recording; a tone instead of speech).

For each N prints: calls completed, the peak of calls live at once, engine CPU (cores), the
share of outgoing frames sent more than 10 ms after their slot (DESIGN §8 target: under 0.1 %
at 200 calls), over the whole run and over the half seconds when all N calls were live (the
whole run includes sipp setting up and tearing down N calls within about two seconds each), the
p99 and worst frame lateness, the share of late clock ticks, and the 1-minute load average at
the end of the run. A second line gives the CPU of each of the engine's threads, and of its RTP
pacer process.

Wall-clock lateness depends on what else the machine runs; CPU time per call-frame does not:
``cpu/frame`` is the engine process's CPU time (all threads: SIP, store, recorder, media) and
``media/frame`` the media thread's alone, each divided by the frames sent.

    python -m bench.sip_capacity 50 100 200      (from the repository root)
    python -m bench.sip_capacity --timeline 200   (live calls and late share every half second)
    python -m bench.sip_capacity --profile media.prof 200   (cProfile of the media thread, CPU time)
    python -m bench.sip_capacity --no-realtime 200   (media thread and RTP pacer at normal priority)
    python bench/sip_capacity.py 50 100 200
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select

from bench.results import report
from engine.app import Engine, freeze_startup_heap
from engine.calls.metrics import percentile
from engine.settings import Settings
from engine.store import Agent, Call, PhoneNumber, session_scope
from tests.harness.sipp import run_sipp, uac_pcap_scenario

SIZES = (50, 100, 200)
LATE_TARGET_PCT = 0.1  # DESIGN §8: under 0.1 % of outgoing frames more than 10 ms late
SAMPLE_S = 0.5
CHILDREN = resource.RUSAGE_CHILDREN


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _stat_cpu(stat: Path) -> float | None:
    """User + system CPU seconds from a Linux ``/proc/.../stat`` file (None when unreadable)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _threads_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by thread name (summed over threads that
    share a name, e.g. a pool's workers)."""
    names = {t.native_id: t.name.split("_")[0].rstrip("0123456789-") or t.name
             for t in threading.enumerate() if t.native_id is not None}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir() if Path("/proc/self/task").is_dir() else ():
        cpu_s = _stat_cpu(task / "stat")
        if cpu_s is not None:
            name = names.get(int(task.name), "other")
            out[name] = out.get(name, 0.0) + cpu_s
    return out


def _process_cpu(pid: int) -> float:
    """CPU seconds of another process so far (0 where the platform cannot tell)."""
    return _stat_cpu(Path(f"/proc/{pid}/stat")) or 0.0


def _thread_cpu(thread_id: int | None) -> float:
    """CPU time of one thread of this process (0 where the platform cannot tell)."""
    if thread_id is None or not hasattr(time, "pthread_getcpuclockid"):
        return 0.0
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread_id))
    except OSError:
        return 0.0


async def measure(n: int, profile: Path | None = None, show_timeline: bool = False,
                  rate: int | None = None, realtime: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), sip_enabled=True, sip_host="127.0.0.1", sip_port=0,
                            media_realtime=realtime)
        engine = Engine(settings)
        engine.setup()
        with session_scope(engine.db) as session:
            agent = Agent(organization_id=engine.organization_id, name="bench")
            session.add(agent)
            session.add(PhoneNumber(organization_id=engine.organization_id, number="+15550100",
                                    agent_id=agent.id))
        await engine.start()
        tel = engine.telephony
        tel.media.speak = False
        # the engine loads its speech models once at start, in the background: an engine that
        # takes calls has long finished, so the calls start after it (and, as `switchboard
        # serve` does, after the startup heap is frozen)
        await freeze_startup_heap(engine)
        clock = tel.clock
        media_loop = tel.media_loop
        thread = media_loop._thread
        media_id = thread.ident if thread is not None else None
        # timed by the media thread's CPU clock: the profile does not depend on the machine's load
        profiler = cProfile.Profile(time.thread_time) if profile is not None else None
        if profiler is not None:
            await media_loop.call_soon_wait(profiler.enable)
        ticks0, late0, frames0 = clock.ticks, clock.late_ticks, clock.frames.snapshot()
        cpu0, wall0, sipp0, busy0 = _cpu(), time.monotonic(), _cpu(CHILDREN), clock.busy_s
        media0, stages0 = _thread_cpu(media_id), dict(clock.stage_cpu_s)
        walls0 = dict(clock.stage_wall_s)
        threads0 = _threads_cpu()
        batch = tel.media.batch
        in0 = batch.frames_in if batch is not None else 0
        pacer = batch.pacer if batch is not None else None
        pacer0 = _process_cpu(pacer.process.pid) if pacer is not None else 0.0
        handed_late0 = pacer.late_handed if pacer is not None else 0
        tel.setup_times_s.clear()
        sipp = asyncio.ensure_future(run_sipp(uac_pcap_scenario(Path(tmp)), tel.port, "15550100",
                                              calls=n, concurrent=n, rate=rate or max(10, n // 2),
                                              limit_s=120))
        peak = 0
        # lateness per half second, and over the half seconds when all n calls were live
        timeline: list[str] = []
        full_count = full_late = 0
        last, live = clock.frames.snapshot(), len(tel.calls)
        while not sipp.done():
            await asyncio.sleep(SAMPLE_S)
            now, was_live, live = clock.frames.snapshot(), live, len(tel.calls)
            peak = max(peak, live)
            interval, last = now.since(last), now
            timeline.append(f"{live}:{interval.late_share:.0%}")
            if was_live == live == n:
                full_count, full_late = full_count + interval.count, full_late + interval.late
        if show_timeline:
            print("       live calls:late share, each", SAMPLE_S, "s:", " ".join(timeline))
        result = sipp.result()
        while tel.calls:  # noqa: ASYNC110 - waits for the last hang-ups to be processed
            await asyncio.sleep(0.1)
        cpu, wall = _cpu() - cpu0, time.monotonic() - wall0
        media_cpu = _thread_cpu(media_id) - media0
        threads = {name: cpu_s - threads0.get(name, 0.0) for name, cpu_s in _threads_cpu().items()}
        handed_late = 0
        if pacer is not None:  # the RTP pacer is the engine's too, in a process of its own
            threads["rtp-pacer"] = _process_cpu(pacer.process.pid) - pacer0
            cpu += threads["rtp-pacer"]
            handed_late = pacer.late_handed - handed_late0
        stages = {k: v - stages0.get(k, 0.0) for k, v in clock.stage_cpu_s.items()}
        walls = {k: v - walls0.get(k, 0.0) for k, v in clock.stage_wall_s.items()}
        frames_in = (batch.frames_in if batch is not None else 0) - in0
        if profiler is not None and profile is not None:
            await media_loop.call_soon_wait(profiler.disable)
            profiler.dump_stats(str(profile))
        sipp_cpu, busy = _cpu(CHILDREN) - sipp0, clock.busy_s - busy0
        setups = list(tel.setup_times_s)
        ticks, late = clock.ticks - ticks0, clock.late_ticks - late0
        frames = clock.frames.since(frames0)
        await engine.stop()
        with session_scope(engine.db) as session:
            completed = len(session.exec(select(Call).where(Call.status == "completed")).all())
        engine.close()
    return {"calls": n, "completed": completed, "peak": peak, "sipp_rc": result.returncode,
            "cpu_share": cpu / wall, "frames": frames.count, "late_share": frames.late_share,
            "full_late": full_late / full_count if full_count else float("nan"),
            "full_count": full_count,
            "full_s": full_count / n * 0.02,
            "p99_ms": frames.quantile(0.99) * 1000, "max_ms": frames.max_s * 1000,
            "late_ticks": late / ticks if ticks else 0.0, "wall_s": wall,
            "late": frames.late, "handed_late": handed_late,
            "realtime": (media_loop.realtime_granted, pacer.realtime if pacer else False),
            "tick_ms": busy / ticks * 1000 if ticks else 0.0, "sipp_cpu": sipp_cpu / wall,
            "cpu_us": cpu / frames.count * 1e6 if frames.count else 0.0,
            "media_us": media_cpu / frames.count * 1e6 if frames.count else 0.0,
            "load": os.getloadavg()[0], "frames_in": frames_in,
            "setup_ms": [(percentile(setups, q) or 0.0) * 1000 for q in (0.5, 0.99, 1.0)],
            "threads": {name: cpu_s / wall for name, cpu_s in threads.items() if cpu_s / wall >= 0.005},
            # the media thread's CPU per frame: the RTP pacer's reports (or, without a pacer,
            # sending the G.711 packets encoded in the last tick), reading, decoding and
            # resampling theirs, the mixers, resampling, encoding and handing to the pacer after
            # them, and the rest (packets of other legs arriving through aiortp, the loop)
            **{f"{name}_us": stages.get(stage, 0.0) / frames.count * 1e6 if frames.count else 0.0
               for name, stage in (("tx", -2), ("rx", -1), ("mix", 0), ("enc", 1))},
            # per tick, how long each stage took beyond its CPU time (waiting for the GIL, mostly)
            "waits_ms": {name: (walls.get(stage, 0.0) - stages.get(stage, 0.0)) / ticks * 1000
                         if ticks else 0.0
                         for name, stage in (("tx", -2), ("rx", -1), ("mix", 0), ("enc", 1))},
            "other_us": (media_cpu - sum(stages.values())) / frames.count * 1e6
            if frames.count else 0.0}


async def main(sizes: list[int], profile: Path | None = None, timeline: bool = False,
               rate: int | None = None, realtime: bool = True) -> None:
    print("calls  completed  peak-live  engine-CPU(core)  frames-out  frames-in  late>10ms  "
          "late@all-live (for)  p99-late  max-late  late-ticks  tick-work  cpu/frame  media/frame  "
          "(tx+rx+mix+enc+other)  sipp-CPU  wall   load")
    for n in sizes:
        r = await measure(n, profile.with_suffix(f".{n}{profile.suffix}") if profile else None,
                          timeline, rate, realtime)
        print(f"{r['calls']:5d}  {r['completed']:9d}  {r['peak']:9d}  {r['cpu_share']:16.2f}  "
              f"{r['frames']:10d}  {r['frames_in']:9d}  {r['late_share']:9.4%}  "
              f"{r['full_late']:9.4%} ({r['full_s']:4.1f}s)  {r['p99_ms']:6.1f}ms  "
              f"{r['max_ms']:6.1f}ms  {r['late_ticks']:10.4%}  {r['tick_ms']:7.2f}ms  "
              f"{r['cpu_us']:7.1f}µs  {r['media_us']:9.1f}µs  "
              f"({r['tx_us']:.0f}+{r['rx_us']:.0f}+{r['mix_us']:.0f}+{r['enc_us']:.0f}"
              f"+{r['other_us']:.0f})  "
              f"{r['sipp_cpu']:8.2f}  {r['wall_s']:5.1f}s  {r['load']:5.2f}", flush=True)
        print("       media stages' wait per tick beyond their CPU: "
              + ", ".join(f"{name} {ms:.2f} ms" for name, ms in r["waits_ms"].items()), flush=True)
        print(f"       late frames: {r['late']}, of which {r['handed_late']} reached the RTP pacer "
              "after their slot was over; real-time scheduling of the media thread / pacer: "
              "{} / {}".format(*("yes" if granted else "no" for granted in r["realtime"])),
              flush=True)
        print("       call setup, INVITE received to 200 OK sent: p50/p99/max "
              "{:.0f}/{:.0f}/{:.0f} ms".format(*r["setup_ms"]), flush=True)
        threads = sorted(r["threads"].items(), key=lambda item: -item[1])
        print("       engine threads (cores): "
              + ", ".join(f"{name} {share:.2f}" for name, share in threads), flush=True)
        late = r["full_late"] if r["full_count"] else r["late_share"]
        report("sip_capacity", f"frames > 10 ms late, {n} calls (tone, no speech)",
               None if late != late else late * 100, "%", at_most=LATE_TARGET_PCT)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sip_capacity",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES),
                        help="numbers of concurrent calls, one run each (default: 50 100 200)")
    parser.add_argument("--rate", type=int, metavar="CPS",
                        help="new calls a second (default: N/2, so all N start within 2 s)")
    parser.add_argument("--timeline", action="store_true",
                        help="print the live calls and late share of each half second")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false",
                        help="keep the media thread and the RTP pacer at normal priority")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="write a cProfile of the media thread per run (FILE.<N>.prof)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    asyncio.run(main(args.sizes, args.profile, args.timeline, args.rate, args.realtime))
