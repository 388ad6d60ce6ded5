"""Fixtures for SIP tests against real peers on loopback: an in-process engine with SIP on a free
port, a phone number routed to an agent, and a sipp runner."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from engine.app import Engine
from engine.settings import Settings
from engine.store import Agent, Call, CallEvent, PhoneNumber, session_scope

SCENARIOS = Path(__file__).with_name("scenarios")
SIPP_PCAPS = Path("/usr/share/sip-tester")
NUMBER = "+15550100"
GREETING = "Hello, thanks for calling."

requires_sipp = pytest.mark.skipif(shutil.which("sipp") is None,
                                   reason="sipp is not installed (Debian package sip-tester)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_media_port() -> int:
    """An even port whose neighbour (RTCP) is free too, for sipp's -mp."""
    for _ in range(50):
        port = free_udp_port() & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
                return port
        except OSError:
            continue
    raise RuntimeError("no free media port pair")


@dataclass
class SipEngine:
    engine: Engine
    port: int
    number: str
    agent_id: str

    @property
    def telephony(self):  # type: ignore[no-untyped-def]
        return self.engine.telephony

    def calls(self) -> list[Call]:
        with session_scope(self.engine.db) as session:
            return list(session.exec(select(Call)).all())

    def events(self, call_id: str) -> list[CallEvent]:
        self.engine.writer.flush()
        with session_scope(self.engine.db) as session:
            rows = session.exec(select(CallEvent).where(CallEvent.call_id == call_id)).all()
            return sorted(rows, key=lambda e: (e.occurred_at, e.created_at))

    async def settled(self, within: float = 10.0) -> None:
        """Wait until no call is live and every store write has landed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        tel = self.engine.telephony
        while (tel.calls or tel._tasks) and loop.time() < deadline:  # noqa: ASYNC110 - polls the service
            await asyncio.sleep(0.05)
        await tel.runner.drained(within)
        self.engine.writer.flush()


@pytest.fixture
async def sip_engine(tmp_path: Path) -> AsyncIterator[SipEngine]:
    settings = Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1", sip_port=0)
    engine = Engine(settings)
    engine.setup()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, name="Reception",
                      first_message=GREETING)
        session.add(agent)
        session.add(PhoneNumber(organization_id=engine.organization_id, number=NUMBER,
                                label="main", agent_id=agent.id))
        agent_id = agent.id
    await engine.start()
    assert engine.telephony is not None
    yield SipEngine(engine, engine.telephony.port, NUMBER, agent_id)
    await engine.stop()
    engine.close()


@dataclass
class SippResult:
    returncode: int
    stderr: str


async def run_sipp(scenario: str | Path, port: int, service: str, *, calls: int = 1,
                   concurrent: int | None = None, rate: float | None = None,
                   limit_s: float = 40.0, extra: list[str] | None = None,
                   transport: str = "u1") -> SippResult:
    """Run sipp as a UAC against 127.0.0.1:port; a built-in scenario name or an XML file."""
    args = ["sipp", f"127.0.0.1:{port}", "-s", service, "-m", str(calls), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(free_media_port()), "-t", transport,
            "-nostdin", "-timeout", f"{int(limit_s)}s", "-timeout_error", "-max_recv_loops", "1000"]
    path = Path(scenario)
    args += ["-sf", str(path)] if path.suffix == ".xml" else ["-sn", str(scenario)]
    if concurrent is not None:
        args += ["-l", str(concurrent)]
    if rate is not None:
        args += ["-r", str(rate)]
    args += extra or []
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), limit_s + 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return SippResult(proc.returncode or 0, err.decode(errors="replace"))


def uac_pcap_scenario(tmp: Path) -> Path:
    """sipp's built-in uac_pcap with the pcaps' installed paths."""
    import subprocess

    # sipp -sd prints the scenario and exits with 99
    text = subprocess.run(["sipp", "-sd", "uac_pcap"], capture_output=True, text=True,
                          check=False).stdout
    path = tmp / "uac_pcap.xml"
    path.write_text(text.replace("pcap/", f"{SIPP_PCAPS}/"))
    return path
