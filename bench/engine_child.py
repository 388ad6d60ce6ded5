"""An engine with SIP on loopback in a process of its own, for the voice benchmarks.

The child builds the engine as ``switchboard serve`` does (store, writer, events, media loop,
RTP pacer, speech models warm, startup heap frozen; no HTTP API, which these benchmarks do not
use), with the demo agents (``--demo``) and/or agents given as JSON (``--agent``). It prints one
ready line, then answers commands on its stdin with one JSON line each:

- ``snap``: what only the engine knows — the lateness histogram of its outgoing frames (the media
  clock's, DESIGN §8: a frame is late when it leaves more than 10 ms after its 20 ms slot), the
  media clock's ticks, and the CPU seconds of each of its threads by name (the RTP pacer process
  as ``rtp-pacer``);
- ``calls <json list of SIP Call-IDs>``: those calls' rows once they have ended — status,
  recording status and the per-turn latency stages (``latency_turns``), plus the seconds of audio
  their recognisers were fed;
- ``quit``.

The parent side is :class:`EngineProcess`; it reads the engine's and the pacer's CPU and RSS
from ``/proc`` itself.

    python -m bench.engine_child --data-dir DIR [--demo] [--agent JSON ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.media.clock import BIN_S, BINS, Lateness

READY_TIMEOUT_S = 180.0
CALLS_SETTLE_S = 20.0  # a hung-up call's row is final (ended, latency stored) within this
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def stat_cpu(stat: Path) -> float | None:
    """User + system CPU seconds from a Linux ``/proc/.../stat`` file (None when unreadable)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it cannot be read)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB / 1024
    except (OSError, IndexError, ValueError):
        return 0.0


def lateness_from(data: dict[str, Any]) -> Lateness:
    out = Lateness()
    out.bins = [0] * BINS
    for index, n in data["bins"]:
        out.bins[index] = n
    out.count, out.late, out.max_s = data["count"], data["late"], data["max_s"]
    return out


# --- the child ---------------------------------------------------------------------------------

def _threads_cpu(pacer_pid: int | None) -> dict[str, float]:
    """CPU seconds of each live thread of this process by thread name (threads sharing a name,
    e.g. a pool's workers, summed; threads Python did not start are ``native``)."""
    names = {t.native_id: t.name.split("_")[0].rstrip("0123456789-") or t.name
             for t in threading.enumerate() if t.native_id is not None}
    out: dict[str, float] = {}
    tasks = Path("/proc/self/task")
    for task in tasks.iterdir() if tasks.is_dir() else ():
        cpu_s = stat_cpu(task / "stat")
        if cpu_s is not None:
            name = names.get(int(task.name), "native")
            out[name] = out.get(name, 0.0) + cpu_s
    if pacer_pid is not None:
        out["rtp-pacer"] = stat_cpu(Path(f"/proc/{pacer_pid}/stat")) or 0.0
    return out


class Stalls:
    """Where the engine's late frames came from: every half second with late frames (when, how
    many, the worst lateness), and every garbage collection that took longer than 10 ms."""

    SAMPLE_S = 0.5
    SLOW_GC_S = 0.010
    KEPT = 2000

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.bursts: list[tuple[float, int, float]] = []  # (monotonic, late frames, max s)
        self.collections: list[tuple[float, int, float]] = []  # (monotonic, generation, s)
        self._gc_started = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_started = now
        elif now - self._gc_started > self.SLOW_GC_S:
            self.collections.append((self._gc_started, int(info.get("generation", -1)),
                                     now - self._gc_started))
            del self.collections[:-self.KEPT]

    async def watch(self) -> None:
        last = self.clock.frames.snapshot()
        while True:
            await asyncio.sleep(self.SAMPLE_S)
            now = self.clock.frames.snapshot()
            interval, last = now.since(last), now
            if interval.late:
                top = max((i for i, n in enumerate(interval.bins) if n), default=0)
                self.bursts.append((time.monotonic(), interval.late, (top + 1) * BIN_S))
                del self.bursts[:-self.KEPT]


def _add_agents(engine: Any, specs: list[dict[str, Any]]) -> None:
    from engine.store import Agent, PhoneNumber, session_scope

    with session_scope(engine.db) as session:
        for spec in specs:
            number = spec.pop("number")
            agent = Agent(organization_id=engine.organization_id, **spec)
            session.add(agent)
            session.add(PhoneNumber(organization_id=engine.organization_id, number=number,
                                    agent_id=agent.id))


def _stt_specs(engine: Any) -> list[dict[str, str]]:
    from sqlmodel import select

    from engine.store import Agent, session_scope

    with session_scope(engine.db) as session:
        specs = [dict(agent.stt or {}) for agent in session.exec(select(Agent)).all()]
    unique = {json.dumps(spec, sort_keys=True): spec for spec in specs if spec}
    return list(unique.values())


def _calls(engine: Any, sip_ids: list[str]) -> dict[str, Any]:
    """The rows of the calls with these SIP Call-IDs, once they have all ended (or settle time)."""
    from sqlmodel import col, select

    from engine.store import Call, session_scope

    deadline = time.monotonic() + CALLS_SETTLE_S
    while True:
        engine.writer.flush()
        with session_scope(engine.db) as session:
            rows = session.exec(select(Call).where(col(Call.sip_call_id).in_(sip_ids))).all()
            calls = [{"sip_call_id": c.sip_call_id, "status": c.status,
                      "ended": c.ended_at is not None, "recording_status": c.recording_status,
                      "latency_turns": list(c.latency_turns or []),
                      "stt_audio_s": float((c.cost_details or {}).get("stt_audio_duration_seconds")
                                           or 0.0)}
                     for c in rows]
        if (len(calls) == len(sip_ids) and all(c["ended"] for c in calls)) \
                or time.monotonic() > deadline:
            return {"calls": calls}
        time.sleep(0.25)


async def serve(data_dir: Path, demo: bool, agents: list[dict[str, Any]]) -> None:
    from engine.app import Engine, freeze_startup_heap
    from engine.settings import Settings

    engine = Engine(Settings(data_dir=data_dir, sip_enabled=True, sip_host="127.0.0.1",
                             sip_port=0))
    engine.setup()
    if demo:
        from engine.demo import seed_if_empty

        seed_if_empty(engine.db, engine.organization_id)
    _add_agents(engine, agents)
    await engine.start()
    tel = engine.telephony
    assert tel is not None
    models = tel.agents.models
    await asyncio.to_thread(models.wait_warm, 120)
    fallbacks = []
    for spec in _stt_specs(engine):  # each agent's model and its recogniser pool, before calls
        stt, fallback = models.for_agent(spec)
        if fallback:
            fallbacks.append(f"{spec}: {fallback}")
        load = getattr(stt, "load", None)
        if load is not None:
            await asyncio.to_thread(load)
    await freeze_startup_heap(engine)
    batch = tel.media.batch
    pacer = batch.pacer if batch is not None else None
    pacer_pid = pacer.process.pid if pacer is not None else None
    clock = tel.clock
    print(json.dumps({"event": "ready", "sip_port": engine.sip_port, "pid": os.getpid(),
                      "pacer_pid": pacer_pid, "fallbacks": fallbacks,
                      "realtime": [tel.media_loop.realtime_granted,
                                   bool(pacer.realtime) if pacer is not None else False]}),
          flush=True)

    stalls = Stalls(clock)
    import gc

    gc.callbacks.append(stalls.on_gc)
    loop = asyncio.get_running_loop()
    watching = loop.create_task(stalls.watch())
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "quit")

    threading.Thread(target=read, name="commands", daemon=True).start()
    while True:
        command = await commands.get()
        verb, _, rest = command.partition(" ")
        if verb == "quit":
            break
        if verb == "snap":
            frames = clock.frames.snapshot()
            answer: dict[str, Any] = {
                "frames": {"bins": [(i, n) for i, n in enumerate(frames.bins) if n],
                           "count": frames.count, "late": frames.late, "max_s": frames.max_s},
                "ticks": clock.ticks, "late_ticks": clock.late_ticks,
                "threads": _threads_cpu(pacer_pid), "live_calls": len(tel.calls),
                "at": time.monotonic(), "bursts": stalls.bursts[-200:],
                "collections": stalls.collections[-200:]}
        elif verb == "calls":
            answer = await asyncio.to_thread(_calls, engine, json.loads(rest))
        else:
            answer = {"error": f"unknown command {verb!r}"}
        print(json.dumps(answer), flush=True)
    watching.cancel()
    await engine.stop()
    engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--demo", action="store_true", help="seed the demo organization")
    parser.add_argument("--agent", action="append", default=[], type=json.loads,
                        help="an agent's fields as JSON, with its \"number\" (repeatable)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="engine: %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.data_dir, args.demo, args.agent))
    return 0


# --- the parent --------------------------------------------------------------------------------

@dataclass
class Usage:
    """What the engine did between two :meth:`EngineProcess.usage` readings."""

    wall_s: float
    frames: Lateness
    engine_cpu_s: float  # the engine process and its RTP pacer, from /proc
    threads_cpu_s: dict[str, float] = field(default_factory=dict)
    ticks: int = 0
    late_ticks: int = 0
    # within the window: half seconds with late frames (seconds into the window, late frames,
    # worst lateness s) and garbage collections over 10 ms (seconds in, generation, duration s)
    bursts: list[tuple[float, int, float]] = field(default_factory=list)
    collections: list[tuple[float, int, float]] = field(default_factory=list)

    @property
    def cores(self) -> float:
        return self.engine_cpu_s / self.wall_s if self.wall_s else 0.0

    @property
    def on_time_share(self) -> float:
        """Outgoing frames that left within 10 ms of their slot (1.0 when none left)."""
        return 1.0 - self.frames.late_share


@dataclass
class Reading:
    at: float
    snap: dict[str, Any]
    cpu_s: float


def _within(items: list[list[Any]], start: float, end: float) -> list[tuple[float, int, float]]:
    """The (monotonic, n, seconds) items between two readings, timed from the first."""
    return [(at - start, int(n), float(s)) for at, n, s in items if start < at <= end]


class EngineProcess:
    """The child engine, seen from the benchmark."""

    def __init__(self, data_dir: Path, *, demo: bool = False,
                 agents: list[dict[str, Any]] | None = None) -> None:
        args = [sys.executable, "-m", "bench.engine_child", "--data-dir", str(data_dir),
                *(["--demo"] if demo else []),
                *[arg for spec in agents or [] for arg in ("--agent", json.dumps(spec))]]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=Path(__file__).resolve().parent.parent)
        ready = self._answer(READY_TIMEOUT_S)
        if ready.get("event") != "ready":
            self.stop()
            raise RuntimeError(f"the engine did not start: {ready}")
        self.sip_port: int = ready["sip_port"]
        self.pid: int = ready["pid"]
        self.pacer_pid: int | None = ready["pacer_pid"]
        self.fallbacks: list[str] = ready["fallbacks"]
        # whether the media thread / the RTP pacer got real-time scheduling
        self.realtime = (bool(ready["realtime"][0]), bool(ready["realtime"][1]))

    def _answer(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the engine exited with {self.process.poll()}")
            if line.startswith("{"):
                answer: dict[str, Any] = json.loads(line)
                return answer
        raise RuntimeError("the engine did not answer in time")

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer(timeout)

    def cpu_s(self) -> float:
        """The engine's CPU seconds so far: its process and its RTP pacer's (/proc stat)."""
        pids = [self.pid, *([self.pacer_pid] if self.pacer_pid else [])]
        return sum(stat_cpu(Path(f"/proc/{pid}/stat")) or 0.0 for pid in pids)

    def rss_mb(self) -> float:
        return rss_mb(self.pid) + (rss_mb(self.pacer_pid) if self.pacer_pid else 0.0)

    def reading(self) -> Reading:
        return Reading(time.monotonic(), self.ask("snap"), self.cpu_s())

    def usage(self, since: Reading) -> Usage:
        now = self.reading()
        threads0 = since.snap["threads"]
        return Usage(
            wall_s=now.at - since.at,
            frames=lateness_from(now.snap["frames"]).since(lateness_from(since.snap["frames"])),
            engine_cpu_s=now.cpu_s - since.cpu_s,
            threads_cpu_s={name: cpu - threads0.get(name, 0.0)
                           for name, cpu in now.snap["threads"].items()},
            ticks=now.snap["ticks"] - since.snap["ticks"],
            late_ticks=now.snap["late_ticks"] - since.snap["late_ticks"],
            bursts=_within(now.snap["bursts"], since.snap["at"], now.snap["at"]),
            collections=_within(now.snap["collections"], since.snap["at"], now.snap["at"]))

    def calls(self, sip_ids: list[str]) -> list[dict[str, Any]]:
        answer = self.ask("calls " + json.dumps(sip_ids), timeout=CALLS_SETTLE_S + 30)
        calls: list[dict[str, Any]] = answer["calls"]
        return calls

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    sys.exit(main())
