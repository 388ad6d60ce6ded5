"""SIP capacity: sipp places N concurrent uac_pcap calls (G.711 audio + a DTMF digit) into an
in-process engine (media, mixing and recording; a tone instead of speech). Prints calls
completed, engine CPU, and the share of media ticks (outgoing frames) later than 10 ms.

    .venv/bin/python bench/sip_capacity.py 50 100 200
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import select

from engine.app import Engine
from engine.settings import Settings
from engine.store import Agent, Call, PhoneNumber, session_scope
from tests.integration.sip.conftest import run_sipp, uac_pcap_scenario


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
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
        ticks0, late0 = clock.ticks, clock.late_ticks
        cpu0, wall0 = _cpu(), time.monotonic()
        result = await run_sipp(uac_pcap_scenario(Path(tmp)), tel.port, "15550100", calls=n,
                                concurrent=n, rate=max(10, n // 2), limit_s=120)
        while tel.sessions:  # noqa: ASYNC110 - waits for the last hang-ups to be processed
            await asyncio.sleep(0.1)
        cpu, wall = _cpu() - cpu0, time.monotonic() - wall0
        ticks, late = clock.ticks - ticks0, clock.late_ticks - late0
        max_late = clock.max_late_s
        await engine.stop()
        with session_scope(engine.db) as session:
            completed = len(session.exec(select(Call).where(Call.status == "completed")).all())
        engine.close()
    return {"calls": n, "completed": completed, "sipp_rc": result.returncode,
            "cpu_share": cpu / wall, "late_share": late / ticks if ticks else 0.0,
            "max_late_ms": max_late * 1000, "wall_s": wall}


async def main(sizes: list[int]) -> None:
    print("calls  completed  engine-CPU(core)  late>10ms  max-late  wall")
    for n in sizes:
        r = await measure(n)
        print(f"{r['calls']:5d}  {r['completed']:9d}  {r['cpu_share']:16.2f}  "
              f"{r['late_share']:9.4%}  {r['max_late_ms']:6.1f}ms  {r['wall_s']:.1f}s", flush=True)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [50, 100, 200]))
