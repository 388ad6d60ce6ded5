"""Fixtures for the WebRTC tests: an in-process engine with SIP on loopback and the demo
order-status agent (scripted brain, whisper tiny.en, espeak-ng), its API on an in-process
transport, and helpers to tap what a mixer participant hears and says."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest_asyncio
from sqlmodel import select

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.demo.scripts import order_status_script
from engine.media import Participant
from engine.settings import Settings
from engine.store import Agent, Call, CallEvent, PhoneNumber, session_scope
from tests.enginehost import TEST_KEY
from tests.unit.webrtc.tones import Capture

os.environ["HF_HUB_OFFLINE"] = "1"

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
            await asyncio.sleep(0.05)
        raise AssertionError("no live call")

    async def settled(self, within: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        tel = self.telephony
        def busy() -> bool:  # calls, their tasks, and joined peers still leaving
            return bool(tel.calls or tel._tasks or tel.joins._tasks or tel.joins._watchers)

        while busy() and loop.time() < deadline:  # noqa: ASYNC110 - polls the service
            await asyncio.sleep(0.05)
        await tel.runner.drained(within)
        self.engine.writer.flush()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rtc_engine(tmp_path_factory: Any) -> AsyncIterator[WebRtcEngine]:
    data_dir: Path = tmp_path_factory.mktemp("webrtc")
    settings = Settings(data_dir=data_dir, sip_enabled=True, sip_host="127.0.0.1", sip_port=0,
                        api_key=TEST_KEY)
    engine = Engine(settings)
    engine.setup()
    org = engine.organization_id
    with session_scope(engine.db) as session:
        script = order_status_script()
        agent = Agent(organization_id=org, name="Order status", first_message=script["greeting"],
                      script=script, stt={"engine": "whisper", "model": "tiny.en"},
                      tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170, "pitch": 55},
                      idle_timeout_seconds=30, interruptible=False)
        session.add(agent)
        session.add(PhoneNumber(organization_id=org, number=NUMBER, label="main", agent_id=agent.id))
        agent_id = agent.id
    await engine.start()
    assert engine.telephony is not None
    await asyncio.to_thread(engine.telephony.agents.models.wait_warm, 60)
    transport = httpx.ASGITransport(app=create_app(engine))
    async with Client("http://engine", TEST_KEY, transport=transport, timeout=30) as api:
        yield WebRtcEngine(engine, api, agent_id, NUMBER)
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
