"""An in-process engine for the WebRTC tests: the demo order-status agent (scripted brain,
whisper tiny.en, espeak-ng), with or without SIP on loopback, its API on an in-process transport,
and helpers to tap what a mixer participant hears and says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlmodel import select

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.media import Participant
from engine.settings import Settings
from engine.store import Call, CallEvent, session_scope
from tests.harness.engine_host import TEST_KEY
from tests.harness.sip_engine import add_agent, order_status_agent, sip_settings
from tests.harness.tones import Capture
from tests.harness.waiting import POLL_S

NUMBER = "+14155550177"


@dataclass
class WebRtcEngine:
    engine: Engine
    api: Client
    agent_id: str
    number: str

    @property
    def telephony(self) -> Any:
        return self.engine.telephony

    @property
    def sip_port(self) -> int:
        return int(self.engine.telephony.port)

    def call(self, call_id: str) -> Call:
        with session_scope(self.engine.db) as session:
            row = session.get(Call, call_id)
            assert row is not None
            session.expunge(row)
            return row

    def events(self, call_id: str) -> list[CallEvent]:
        self.engine.writer.flush()
        with session_scope(self.engine.db) as session:
            rows = list(session.exec(select(CallEvent).where(CallEvent.call_id == call_id)).all())
            for row in rows:
                session.expunge(row)
            return sorted(rows, key=lambda e: (e.occurred_at, e.created_at))

    async def live_session(self, within: float = 15.0) -> Any:
        """The first live call once it is answered (its mixer complete)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            for session in list(self.telephony.calls.values()):
                if session.mixer is not None and session.answered_at is not None:
                    return session
            await asyncio.sleep(POLL_S)
        raise AssertionError("no live call")

    async def settled(self, within: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        tel = self.telephony
        def busy() -> bool:  # calls, their tasks, and joined peers still leaving
            return bool(tel.calls or tel._tasks or tel.joins._tasks or tel.joins._watchers)

        while busy() and loop.time() < deadline:  # noqa: ASYNC110 - polls the service
            await asyncio.sleep(POLL_S)
        await tel.runner.drained(within)
        self.engine.writer.flush()


@asynccontextmanager
async def open_webrtc_engine(data_dir: Path, *, sip: bool = True, number: str = NUMBER,
                             **agent: Any) -> AsyncIterator[WebRtcEngine]:
    """The engine (SIP on loopback when ``sip``) with ``number`` routed to the order-status
    agent (``agent`` overrides its fields), its models warm; the API on an in-process
    transport."""
    settings = sip_settings(data_dir, api_key=TEST_KEY) if sip else Settings(data_dir=data_dir,
                                                                             api_key=TEST_KEY)
    engine = Engine(settings)
    engine.setup()
    agent_id = add_agent(engine, number, **order_status_agent(**agent))
    await engine.start()
    assert engine.telephony is not None
    assert sip or engine.telephony.ua is None
    await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
    transport = httpx.ASGITransport(app=create_app(engine))
    async with Client("http://engine", TEST_KEY, transport=transport, timeout=30) as api:
        yield WebRtcEngine(engine, api, agent_id, number)
    await engine.stop()
    engine.close()


def tap(session: Any, name: str, *, mouth: bool = False) -> Capture:
    """What the participant called ``name`` hears (or, with ``mouth``, says) from now on."""
    participant: Participant = next(p for p in session.mixer.participants if p.name == name)
    capture = Capture()
    if mouth:
        source = participant.source
        assert source is not None

        def said() -> bytes | None:
            pcm = source()
            capture(pcm if pcm is not None else bytes(640))
            return pcm

        participant.source = said
    else:
        sink: Callable[[bytes], None] | None = participant.sink
        assert sink is not None

        def heard(pcm: bytes) -> None:
            capture(pcm)
            sink(pcm)

        participant.sink = heard
    return capture


def rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def voiced_frames(pcm: bytes, peak: int = 300) -> int:
    """20 ms frames whose peak passes ``peak`` (espeak-ng speech peaks in the thousands)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    return int((np.abs(frames).max(axis=1) >= peak).sum())
