"""An engine dialling campaigns over real SIP, in a process of its own, for bench.campaign.

The child builds the engine as ``switchboard serve`` does (store, writer, events, media loop,
RTP pacer, speech models warm, the dialer; no HTTP API), with one agent, a trunk to the
simulated callees on ``--trunk-port`` and a number on it. It prints one ready line, then answers
commands on its stdin with one JSON line each:

- ``campaign <json>``: a campaign of ``leads`` leads, ``per_minute`` calls a minute and
  ``concurrency`` calls at most at once, stored paused (the leads written in one transaction);
- ``go <campaign id>``: the campaign runs (the dialer is kicked); when, and the CPU seconds of
  each thread of this process so far;
- ``status``: dials so far, calls under way (the dialer's and the telephony's), calls ended;
- ``leads <campaign id>``: the campaign's leads by status, and its status;
- ``result <campaign id>``: every dial of the run (monotonic time dialled and ended: the clock
  is the machine's, the parent's too), the campaign's leads by status, the leads called more
  than once, its calls by status, their dial to answer times, the CPU seconds of each thread of
  this process by name, how long each of the dialer's passes took and each of its waits for the
  ended calls' rows to be written;
- ``quit``.

The dials are timed by a placer around the engine's own (:class:`TimedPlacer`): the dialer
hands it each call the moment it dials it, and hears from it when the call has ended, as it
does from the telephony's; the dialer's passes are timed around its ``step``.

    python -m bench.campaign_child --data-dir DIR --trunk-port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_child import _threads_cpu

# The engine's side of each call: the cheapest agent that still answers as an agent does —
# the scripted brain, whisper tiny.en (fed only when the callee's VAD-voiced audio comes, and
# the callee sends silence), espeak-ng saying a two-word greeting
AGENT: dict[str, Any] = {"name": "Bench caller", "first_message": "Hi there.",
         "stt": {"engine": "whisper", "model": "tiny.en"},
         "tts": {"engine": "espeak-ng", "voice": "en-us", "rate": 190},
         "max_duration_seconds": 60, "idle_timeout_seconds": 30}
CALLER_ID = "+12025550100"
RINGING_TIMEOUT_S = 10
# The callees answer G.711 as a carrier does (the engine batches G.711 legs)
TRUNK_CODECS = ["PCMU", "PCMA", "telephone-event"]


def lead_number(i: int) -> str:
    """The ``i``-th lead's number: +1 NPA 555 XXXX, 10,000 a area code from 202 on."""
    return f"+1{202 + i // 10_000:03d}555{i % 10_000:04d}"


class TimedPlacer:
    """The engine's placer, with the monotonic time of each dial and of its end."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.timed: list[list[float | None]] = []  # [dialled, ended or None] per dial
        self.ended = 0
        self.settle_waits: list[float] = []  # seconds each wait for the rows' writes took

    @property
    def dials(self) -> bool:
        return bool(self.inner.dials)

    def dial(self, call_id: str) -> Awaitable[None]:
        entry: list[float | None] = [time.monotonic(), None]
        self.timed.append(entry)
        placed: asyncio.Future[None] = asyncio.ensure_future(self.inner.dial(call_id))

        def done(_future: asyncio.Future[None]) -> None:
            entry[1] = time.monotonic()
            self.ended += 1

        placed.add_done_callback(done)
        return placed

    async def settled(self) -> None:
        started = time.monotonic()
        try:
            await self.inner.settled()
        finally:
            self.settle_waits.append(time.monotonic() - started)


class TimedPasses:
    """How long each of the dialer's passes took (wall seconds, on the engine's loop and the
    threads it waits for)."""

    def __init__(self, step: Callable[[], Awaitable[datetime | None]]) -> None:
        self.step = step
        self.took: list[float] = []

    async def __call__(self) -> datetime | None:
        started = time.monotonic()
        try:
            return await self.step()
        finally:
            self.took.append(time.monotonic() - started)


def _setup(engine: Any, trunk_port: int) -> tuple[str, str]:
    """The agent, the trunk to the callees and the number on it: (agent id, number id)."""
    from engine.store import Agent, PhoneNumber, SipTrunk, session_scope

    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, **AGENT)
        trunk = SipTrunk(organization_id=engine.organization_id, name="Bench peer",
                         host="127.0.0.1", port=trunk_port, transport="udp",
                         register_enabled=False, codecs=TRUNK_CODECS, caller_id=CALLER_ID)
        number = PhoneNumber(organization_id=engine.organization_id, number=CALLER_ID,
                             sip_trunk_id=trunk.id)
        session.add_all([agent, trunk, number])
        return agent.id, number.id


def _campaign(engine: Any, agent_id: str, number_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import insert

    from engine.store import Campaign, Lead, new_id, session_scope, utcnow

    leads, per_minute, concurrency = int(spec["leads"]), int(spec["per_minute"]), \
        int(spec["concurrency"])
    with session_scope(engine.db) as session:
        campaign = Campaign(organization_id=engine.organization_id, name=f"Bench {per_minute}/min",
                            agent_id=agent_id, phone_number_id=number_id, status="paused",
                            calling_hours_start="00:00", calling_hours_end="24:00",
                            calling_days=list(range(7)), max_concurrent=concurrency,
                            calls_per_minute=per_minute, max_attempts=1, amd="off")
        session.add(campaign)
        campaign_id = campaign.id
    now = utcnow()
    rows = [{"id": new_id(), "organization_id": engine.organization_id,
             "campaign_id": campaign_id, "created_at": now + timedelta(microseconds=i),
             "updated_at": now, "phone_number": lead_number(i), "name": f"Lead {i}",
             "variables": {}, "status": "pending", "attempts": 0} for i in range(leads)]
    with engine.db.begin() as conn:
        conn.execute(insert(Lead.__table__), rows)  # type: ignore[attr-defined]
    return {"campaign_id": campaign_id}


def _go(engine: Any, campaign_id: str) -> None:
    from engine.store import Campaign, session_scope

    with session_scope(engine.db) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.status = "running"


def _leads(engine: Any, campaign_id: str) -> dict[str, Any]:
    from sqlalchemy import func
    from sqlmodel import select

    from engine.store import Campaign, Lead, session_scope

    with session_scope(engine.db) as session:
        leads = dict(session.exec(select(Lead.status, func.count()).where(
            Lead.campaign_id == campaign_id).group_by(Lead.status)).all())
        campaign = session.get(Campaign, campaign_id)
        return {"leads": leads, "campaign": campaign.status if campaign is not None else None}


def _result(engine: Any, campaign_id: str, placer: TimedPlacer, passes: TimedPasses,
            pacer_pid: int | None) -> dict[str, Any]:
    from sqlalchemy import func
    from sqlmodel import col, select

    from engine.store import Call, Lead, session_scope

    engine.writer.flush()
    with session_scope(engine.db) as session:
        leads = dict(session.exec(select(Lead.status, func.count()).where(
            Lead.campaign_id == campaign_id).group_by(Lead.status)).all())
        calls = session.exec(select(Call.lead_id, Call.status, Call.initiated_at,
                                    Call.answered_at).where(
            col(Call.campaign_id) == campaign_id)).all()
        attempts = dict(session.exec(select(Lead.attempts, func.count()).where(
            Lead.campaign_id == campaign_id).group_by(col(Lead.attempts))).all())
    per_lead = Counter(lead_id for lead_id, *_ in calls)
    answer_ms = sorted((answered - initiated).total_seconds() * 1000
                       for _, _, initiated, answered in calls
                       if answered is not None and initiated is not None)
    return {"dials": placer.timed, "leads": leads, "attempts": attempts,
            "leads_called_twice": sum(1 for n in per_lead.values() if n > 1),
            "calls": len(calls), "calls_by_status": dict(Counter(s for _, s, _, _ in calls)),
            "answer_ms": answer_ms, "threads": _threads_cpu(pacer_pid),
            "passes_s": passes.took, "settle_waits_s": placer.settle_waits}


async def serve(data_dir: Path, trunk_port: int) -> None:
    from engine.app import Engine, freeze_startup_heap
    from engine.settings import Settings

    engine = Engine(Settings(data_dir=data_dir, sip_enabled=True, sip_host="127.0.0.1",
                             sip_port=0))
    engine.setup()
    agent_id, number_id = _setup(engine, trunk_port)
    await engine.start()
    tel, dialer = engine.telephony, engine.dialer
    assert tel is not None and dialer is not None
    placer = TimedPlacer(dialer.placer)
    dialer.placer = placer
    passes = TimedPasses(dialer.step)
    dialer.step = passes  # type: ignore[method-assign]
    models = tel.agents.models
    await asyncio.to_thread(models.wait_warm, 120)
    stt, _ = models.for_agent({"engine": "whisper", "model": "tiny.en"})
    load = getattr(stt, "load", None)
    if load is not None:
        await asyncio.to_thread(load)
    await freeze_startup_heap(engine)
    batch = tel.media.batch
    pacer = batch.pacer if batch is not None else None
    pacer_pid = pacer.process.pid if pacer is not None else None
    print(json.dumps({"event": "ready", "sip_port": engine.sip_port, "pid": os.getpid(),
                      "pacer_pid": pacer_pid}), flush=True)

    loop = asyncio.get_running_loop()
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
        answer: dict[str, Any]
        if verb == "campaign":
            answer = await asyncio.to_thread(_campaign, engine, agent_id, number_id,
                                             json.loads(rest))
        elif verb == "go":
            placer.timed, placer.ended, placer.settle_waits, passes.took = [], 0, [], []
            await asyncio.to_thread(_go, engine, rest)
            dialer.kick()
            answer = {"at": time.monotonic(), "threads": _threads_cpu(pacer_pid)}
        elif verb == "status":
            answer = {"dialled": len(placer.timed), "ended": placer.ended,
                      "live": len(dialer.live), "telephony_calls": len(tel.calls),
                      "at": time.monotonic()}
        elif verb == "leads":
            answer = await asyncio.to_thread(_leads, engine, rest)
        elif verb == "result":
            answer = await asyncio.to_thread(_result, engine, rest, placer, passes, pacer_pid)
        else:
            answer = {"error": f"unknown command {verb!r}"}
        print(json.dumps(answer), flush=True)
    await engine.stop()
    engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--trunk-port", type=int, required=True,
                        help="the UDP port the simulated callees listen on (127.0.0.1)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="engine: %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.data_dir, args.trunk_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
