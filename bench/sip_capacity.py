"""SIP capacity: sipp places N concurrent uac_pcap calls (G.711 audio + a DTMF digit, about 9 s
each) into an in-process engine (media, mixing and recording; a tone instead of speech).

For each N prints: calls completed, the peak of calls live at once, engine CPU (cores), the
share of outgoing frames sent more than 10 ms after their slot (DESIGN §8 target: under 0.1 %
at 200 calls), the p99 and worst frame lateness, and the share of late clock ticks.

    python -m bench.sip_capacity 50 100 200      (from the repository root)
    python bench/sip_capacity.py 50 100 200
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select

from engine.app import Engine
from engine.settings import Settings
from engine.store import Agent, Call, PhoneNumber, session_scope
from tests.integration.sip.conftest import run_sipp, uac_pcap_scenario

SIZES = (50, 100, 200)
CHILDREN = resource.RUSAGE_CHILDREN


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), sip_enabled=True, sip_host="127.0.0.1", sip_port=0)
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
        clock = tel.clock
        ticks0, late0, frames0 = clock.ticks, clock.late_ticks, clock.frames.snapshot()
        cpu0, wall0, sipp0, busy0 = _cpu(), time.monotonic(), _cpu(CHILDREN), clock.busy_s
        sipp = asyncio.ensure_future(run_sipp(uac_pcap_scenario(Path(tmp)), tel.port, "15550100",
                                              calls=n, concurrent=n, rate=max(10, n // 2),
                                              limit_s=120))
        peak = 0
        while not sipp.done():
            peak = max(peak, len(tel.sessions))
            await asyncio.sleep(0.1)
        result = sipp.result()
        while tel.sessions:  # noqa: ASYNC110 - waits for the last hang-ups to be processed
            await asyncio.sleep(0.1)
        cpu, wall = _cpu() - cpu0, time.monotonic() - wall0
        sipp_cpu, busy = _cpu(CHILDREN) - sipp0, clock.busy_s - busy0
        ticks, late = clock.ticks - ticks0, clock.late_ticks - late0
        frames = clock.frames.since(frames0)
        await engine.stop()
        with session_scope(engine.db) as session:
            completed = len(session.exec(select(Call).where(Call.status == "completed")).all())
        engine.close()
    return {"calls": n, "completed": completed, "peak": peak, "sipp_rc": result.returncode,
            "cpu_share": cpu / wall, "frames": frames.count, "late_share": frames.late_share,
            "p99_ms": frames.quantile(0.99) * 1000, "max_ms": frames.max_s * 1000,
            "late_ticks": late / ticks if ticks else 0.0, "wall_s": wall,
            "tick_ms": busy / ticks * 1000 if ticks else 0.0, "sipp_cpu": sipp_cpu / wall}


async def main(sizes: list[int]) -> None:
    print("calls  completed  peak-live  engine-CPU(core)  frames-out  late>10ms  p99-late  "
          "max-late  late-ticks  tick-work  sipp-CPU  wall")
    for n in sizes:
        r = await measure(n)
        print(f"{r['calls']:5d}  {r['completed']:9d}  {r['peak']:9d}  {r['cpu_share']:16.2f}  "
              f"{r['frames']:10d}  {r['late_share']:9.4%}  {r['p99_ms']:6.1f}ms  "
              f"{r['max_ms']:6.1f}ms  {r['late_ticks']:10.4%}  {r['tick_ms']:7.2f}ms  "
              f"{r['sipp_cpu']:8.2f}  {r['wall_s']:.1f}s", flush=True)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or list(SIZES)))
