"""The campaign dialer's pace: N leads dialled as fast as ``calls_per_minute`` lets it, at a
concurrency cap, on a real SQLite store with a real clock. Every call is answered at once and
ends after ``--call-ms`` (its row written as the telephony service writes it), so the figures
are the dialer's own: the dial rate it achieves against the one asked for, the process's CPU
over the run, and how late each dial went against the pace's schedule (the previous dial plus
60 / calls_per_minute seconds, when the pace was what held it).

    .venv/bin/python -m bench.campaign [--leads 300] [--per-minute 600] [--concurrency 50]

Measured on the 2-core test machine: 600/min asked, 587/min achieved, lateness p95 29 ms, 20 %
of a core (with the stand-in calls' row writes); the pace tops out near 800/min there (each
dial is a store transaction, and each pass reads the campaign and its due leads again).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from bench.results import report
from engine.campaigns import Dialer
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
RATE_TARGET = 0.95  # of calls_per_minute, achieved over the run
LATE_P95_TARGET_MS = 250.0  # a dial goes within a quarter second of its turn


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


async def run(leads: int, per_minute: int, concurrency: int, call_ms: float) -> None:
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
    achieved = (len(times) - 1) / span * 60 if span > 0 else float("nan")
    late_ms = sorted(max(0.0, (b - a - spacing) * 1000) for a, b in itertools.pairwise(times))
    p95 = late_ms[int(0.95 * (len(late_ms) - 1))] if late_ms else 0.0
    print(f"{leads} leads at {per_minute}/min, concurrency {concurrency}, calls of {call_ms:.0f} ms: "
          f"{span:.1f} s of dialling, {wall:.1f} s in all")
    print(f"  lateness against the pace: p50 {statistics.median(late_ms):.1f} ms, "
          f"p95 {p95:.1f} ms, max {late_ms[-1]:.1f} ms")
    report(BENCH, f"dial rate, asked {per_minute}/min", achieved, "/min",
           at_least=RATE_TARGET * per_minute)
    report(BENCH, "dialer process CPU over the run", cpu / wall * 100, "%")
    report(BENCH, "dial lateness p95", p95, "ms", at_most=LATE_P95_TARGET_MS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--per-minute", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--call-ms", type=float, default=500.0)
    args = parser.parse_args()
    asyncio.run(run(args.leads, args.per_minute, args.concurrency, args.call_ms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
