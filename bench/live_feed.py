"""An engine with live calls whose transcripts stream, for ``bench.console_live``.

Real speech for 50 concurrent calls does not fit on the 2-core reference machine, so the engine
runs as ``switchboard serve`` does (store, writer, API, events WebSocket) with N calls
``in_progress`` in its store and a feeder task on its loop that stands in for the calls' agent
legs. The feeder publishes what an agent leg publishes, on the engine's EventBus:
``transcript.partial`` a few times a second while the caller speaks, then ``transcript.final``
(also queued for the store's writer, as the agent leg does), and ``agent.speaking`` around the
agent's turns. Every event carries ``emitted_at`` (``time.time()`` when it was published).

    start_feed(data_dir, calls=50) -> FeedEngine   # a child process; stop() ends it

The child prints one JSON line ``{"event": "ready", "url", "calls": [ids]}`` when it serves, and
``{"event": "published", ...}`` counts when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.harness.engine_host import TEST_KEY, wait_ready

TURN_EVERY_S = (2.0, 4.0)  # a call speaks a turn every 2-4 s (caller and agent alternate)
CALLER_SPEAKS_S = (0.8, 2.2)  # how long a caller's utterance lasts
PARTIAL_EVERY_S = (0.2, 0.35)  # streaming STT partials: a few per second while the caller speaks
AGENT_THINKS_S = (0.25, 0.6)  # end of the caller's turn to the agent's reply
WORDS_PER_S = 2.6  # the agent's speaking rate (espeak-ng at 175 wpm is ~2.9)

CALLER_LINES = (
    "Hi, I'm calling about my order, it still hasn't arrived",
    "The order number is four five one two nine",
    "It was supposed to be here last Tuesday",
    "Can you tell me where the package is right now",
    "I'd like a refund if it can't be delivered this week",
    "Yes, the address is twelve Market Street, apartment four",
    "No, that's not the right one, it's the blue jacket",
    "Could you send me the tracking link by text",
    "Okay that works for me, thank you",
    "Actually, can I change the delivery date to Friday",
    "I already tried that and it didn't work",
    "Is there someone I can talk to about the billing",
)
AGENT_LINES = (
    "I'm sorry to hear that. Let me look up your order right away.",
    "Thank you. I can see order 45129, it left our warehouse on Monday.",
    "The carrier shows it out for delivery today, before six in the evening.",
    "I can offer a full refund or a free replacement shipped overnight.",
    "I've updated the delivery address to 12 Market Street, apartment 4.",
    "Got it, the blue jacket in size medium. I've corrected the order.",
    "I've just sent the tracking link to the number on your account.",
    "You're welcome. Is there anything else I can help you with today?",
    "Friday works. Your new delivery date is confirmed.",
    "Let me transfer you to our billing team, please hold for a moment.",
)


@dataclass
class Counts:
    partial: int = 0
    final: int = 0
    speaking: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> dict[str, Any]:
        return {"event": "published", "partial": self.partial, "final": self.final,
                "speaking": self.speaking, "seconds": round(time.monotonic() - self.started, 2)}


class Feeder:
    """Stands in for the agent legs of live calls: their transcript events, on the engine's bus."""

    def __init__(self, engine: Any, call_ids: list[str], seed: int = 7,
                 agent_states: bool = True) -> None:
        self.engine = engine
        self.call_ids = call_ids
        self.agent_states = agent_states
        self.rng = random.Random(seed)
        self.counts = Counts()

    def publish(self, kind: str, call_id: str, data: dict[str, Any]) -> None:
        if kind == "agent.speaking" and not self.agent_states:
            return
        data["emitted_at"] = time.time()
        self.engine.bus.publish(kind, self.engine.organization_id, data, call_id=call_id)

    async def run(self) -> None:
        await asyncio.gather(*(self.call(call_id) for call_id in self.call_ids))

    async def call(self, call_id: str) -> None:
        from engine.store import TranscriptEntry, iso, utcnow

        rng = self.rng
        await asyncio.sleep(rng.uniform(0, TURN_EVERY_S[1]))
        index = 0
        previous = ""
        while True:
            turn_started = time.monotonic()
            source = "user" if index % 2 == 0 else "agent"
            lines = CALLER_LINES if source == "user" else AGENT_LINES
            text = rng.choice([line for line in lines if line != previous])
            previous = text
            started_at = utcnow()
            if source == "user":
                speaks = rng.uniform(*CALLER_SPEAKS_S)
                words = text.split()
                while True:
                    await asyncio.sleep(rng.uniform(*PARTIAL_EVERY_S))
                    elapsed = time.monotonic() - turn_started
                    if elapsed >= speaks:
                        break
                    heard = " ".join(words[:max(1, int(len(words) * min(1.0, elapsed / speaks)))])
                    self.publish("transcript.partial", call_id, {
                        "call_id": call_id, "index": index, "source": "user", "text": heard,
                        "partial": True, "started_at": iso(started_at)})
                    self.counts.partial += 1
            else:
                self.publish("agent.speaking", call_id, {"call_id": call_id, "state": "thinking",
                                                         "speaking": False})
                await asyncio.sleep(rng.uniform(*AGENT_THINKS_S))
                self.publish("agent.speaking", call_id, {"call_id": call_id, "state": "speaking",
                                                         "speaking": True})
                self.counts.speaking += 2 if self.agent_states else 0
            ended_at = utcnow()
            row = {"organization_id": self.engine.organization_id, "call_id": call_id,
                   "index": index, "source": source, "text": text, "started_at": started_at,
                   "ended_at": ended_at, "provider": "whisper" if source == "user" else None,
                   "model": "tiny.en" if source == "user" else None, "interrupted": False,
                   "metadata_": {}}
            self.engine.writer.add(TranscriptEntry, row)
            self.publish("transcript.final", call_id, {
                **{k: v for k, v in row.items() if k != "metadata_"},
                "started_at": iso(started_at), "ended_at": iso(ended_at), "partial": False,
                "metadata": {}})
            self.counts.final += 1
            if source == "agent":
                await asyncio.sleep(len(text.split()) / WORDS_PER_S)
                self.publish("agent.speaking", call_id, {"call_id": call_id, "state": "listening",
                                                         "speaking": False})
                self.counts.speaking += 1 if self.agent_states else 0
            index += 1
            gap = rng.uniform(*TURN_EVERY_S) - (time.monotonic() - turn_started)
            await asyncio.sleep(max(0.05, gap))


def seed_calls(engine: Any, calls: int, seed: int = 7) -> list[str]:
    """An agent and ``calls`` inbound calls in progress, answered a few seconds to minutes ago."""
    from engine.store import Agent, Call, session_scope, utcnow

    rng = random.Random(seed)
    org = engine.organization_id
    now = utcnow()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=org, name="Order status", first_message="Hello!")
        session.add(agent)
        rows = []
        for number in range(calls):
            answered = now - timedelta(seconds=rng.uniform(5, 600))
            rows.append(Call(organization_id=org, agent_id=agent.id, direction="inbound",
                             from_number=f"+1415555{number:04d}", to_number="+14155550100",
                             status="in_progress", initiated_at=answered - timedelta(seconds=3),
                             answered_at=answered, created_at=answered, updated_at=answered))
        session.add_all(rows)
        return [row.id for row in rows]


async def serve_with_feed(data_dir: Path, calls: int, agent_states: bool = True) -> None:
    """The engine as ``engine.app.serve`` builds it, plus the feeder, until SIGTERM."""
    import uvicorn

    from engine.api import create_app
    from engine.app import Engine
    from engine.settings import Settings

    engine = Engine(Settings.from_env(data_dir, port=0))
    engine.setup()
    call_ids = seed_calls(engine, calls)
    app = create_app(engine)
    config = uvicorn.Config(app, host=engine.settings.host, port=0, log_level="warning",
                            lifespan="off", ws_ping_interval=20)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    await engine.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    serving = loop.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.01)
    feeder = Feeder(engine, call_ids, agent_states=agent_states)
    feeding: asyncio.Task[None] | None = None
    if server.started:
        port = server.servers[0].sockets[0].getsockname()[1]
        print(json.dumps({"event": "ready", "url": f"http://{engine.settings.host}:{port}",
                          "calls": call_ids}), flush=True)
        feeding = loop.create_task(feeder.run())
    try:
        await serving
    finally:
        if feeding is not None:
            feeding.cancel()
        print(json.dumps(feeder.counts.line()), flush=True)
        await engine.stop()
        engine.close()


@dataclass
class FeedEngine:
    url: str
    api_key: str
    call_ids: list[str]
    process: subprocess.Popen[str]
    published: dict[str, Any] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> dict[str, Any]:
        """End the engine; returns the feeder's counts of published events."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                out, _ = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                out, _ = self.process.communicate()
            for line in out.splitlines():
                if line.startswith("{") and json.loads(line).get("event") == "published":
                    self.published = json.loads(line)
        return self.published


def start_feed(data_dir: Path, calls: int = 50, *, agent_states: bool = True,
               api_key: str = TEST_KEY, timeout: float = 60.0) -> FeedEngine:
    """This module in a child process; returns once it serves and its feeder runs."""
    env = {**os.environ, "SWITCHBOARD_API_KEY": api_key}
    args = [sys.executable, "-m", "bench.live_feed", "--data-dir", str(data_dir), "--calls", str(calls),
            *([] if agent_states else ["--no-agent-states"])]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None, text=True, env=env,
                               cwd=Path(__file__).resolve().parent.parent)
    event = wait_ready(process, timeout)
    return FeedEngine(event["url"], api_key, list(event["calls"]), process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--no-agent-states", action="store_true", help="no agent.speaking events")
    args = parser.parse_args()
    asyncio.run(serve_with_feed(args.data_dir, args.calls, not args.no_agent_states))
    return 0


if __name__ == "__main__":
    sys.exit(main())
