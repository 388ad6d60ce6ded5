"""sipp on loopback: the runner of a calling sipp (UAC), sipp as the answering side (UAS) with
asyncio or from blocking code, and the scenario files they play.

Scenario text is made by ``tests.harness.sipp_steps``; the XML files that tests share stand in
``tests/integration/sip/scenarios`` (``SCENARIOS``) and ``tests/integration/transfers/scenarios``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness.ports import free_media_port, free_udp_port
from tests.harness.sipp_steps import answer_call, dial, scenario

if TYPE_CHECKING:
    from tests.harness.rtp import MediaSocket

TESTS = Path(__file__).resolve().parents[1]
SCENARIOS = TESTS / "integration" / "sip" / "scenarios"
RECIPIENT = TESTS / "integration" / "transfers" / "scenarios" / "recipient.xml"
SIPP_PCAPS = Path("/usr/share/sip-tester")

requires_sipp = pytest.mark.skipif(shutil.which("sipp") is None,
                                   reason="sipp is not installed (Debian package sip-tester)")


def scenario_args(scenario: str | Path) -> list[str]:
    """sipp's arguments for ``scenario``: an XML file (``-sf``) or a built-in name (``-sn``)."""
    path = Path(scenario)
    return ["-sf", str(path)] if path.suffix == ".xml" else ["-sn", str(scenario)]


def write_scenario(path: Path, *steps: str) -> Path:
    """The caller's scenario at ``path`` (named after it): it dials, then follows ``steps``."""
    path.write_text(scenario(path.stem, dial(), *steps))
    return path


def callee_scenario(path: Path, *steps: str) -> Path:
    """The callee's scenario at ``path``: it rings, answers with the test's media socket in its
    SDP, takes the ACK, then follows ``steps``."""
    answer = answer_call("callee", ack_timeout_ms=10000)
    path.write_text(scenario("callee", answer, *steps))
    return path


@dataclass
class SippResult:
    """How a sipp run ended: its exit code (0: every call ran its scenario to the end) and its
    stderr."""

    returncode: int
    stderr: str


async def run_sipp(scenario: str | Path, port: int, service: str, *, calls: int = 1,
                   concurrent: int | None = None, rate: float | None = None,
                   limit_s: float = 40.0, extra: list[str] | None = None,
                   transport: str = "u1") -> SippResult:
    """Run sipp as a UAC against 127.0.0.1:port; a built-in scenario name or an XML file."""
    args = ["sipp", f"127.0.0.1:{port}", "-s", service, "-m", str(calls), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(free_media_port()), "-t", transport,
            "-nostdin", "-timeout", f"{int(limit_s)}s", "-timeout_error", "-max_recv_loops", "1000",
            *scenario_args(scenario)]
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
    # sipp -sd prints the scenario and exits with 99
    text = subprocess.run(["sipp", "-sd", "uac_pcap"], capture_output=True, text=True,
                          check=False).stdout
    path = tmp / "uac_pcap.xml"
    path.write_text(text.replace("pcap/", f"{SIPP_PCAPS}/"))
    return path


class _Uas:
    """What both kinds of sipp UAS share: a free loopback port, its URI (``sip:desk@...``), and
    sipp's arguments for one call of ``scenario`` (a built-in name or an XML file) within
    ``limit_s`` seconds, its SDP's media on ``rtp_port`` (``-key rtp_port``) when one is given."""

    def __init__(self, scenario: str | Path, rtp_port: int | None, limit_s: float) -> None:
        self.scenario = scenario
        self.rtp_port = rtp_port
        self.limit_s = limit_s
        self.port = free_udp_port()
        self.uri = f"sip:desk@127.0.0.1:{self.port}"
        self.stderr = ""

    def args(self) -> list[str]:
        args = ["sipp", "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_media_port()),
                "-m", "1", "-nostdin", "-timeout", f"{int(self.limit_s)}s", "-timeout_error",
                *scenario_args(self.scenario)]
        if self.rtp_port is not None:
            args += ["-key", "rtp_port", str(self.rtp_port)]
        return args


class SippUas(_Uas):
    """sipp answering on a free loopback port for one call, on the test's event loop: ``async
    with`` starts and, at the end, kills it (or ``start`` and ``kill``); ``wait`` for its exit
    code, its stderr kept in ``stderr``."""

    def __init__(self, scenario: str | Path, rtp_port: int | None = None, *, limit_s: float = 50.0,
                 wait_s: float = 45.0) -> None:
        super().__init__(scenario, rtp_port, limit_s)
        self.wait_s = wait_s
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.args(),
                                                         stdout=asyncio.subprocess.DEVNULL,
                                                         stderr=asyncio.subprocess.PIPE)

    async def wait(self, within: float | None = None) -> int:
        """sipp's exit code (0: the scenario ran to its end), ``wait_s`` seconds at most."""
        assert self.proc is not None
        _, err = await asyncio.wait_for(self.proc.communicate(),
                                        self.wait_s if within is None else within)
        self.stderr = err.decode(errors="replace")
        return self.proc.returncode or 0

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def __aenter__(self) -> SippUas:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.kill()


class Callee(SippUas):
    """sipp as an outbound call's callee (UAS) on a free loopback port, its media on the test's
    socket (a ``tests.harness.rtp.MediaSocket``)."""

    def __init__(self, scenario: Path, media: MediaSocket) -> None:
        super().__init__(scenario, media.port, limit_s=90.0, wait_s=100.0)
        self.media = media


class BlockingSippUas(_Uas):
    """sipp answering on a free loopback port for one call, started at once, for code outside an
    event loop (Qt tests, the screenshot script). Its SDP names ``rtp_port``, by default a media
    port nobody reads; ``wait`` for its exit code, ``close`` to kill it."""

    def __init__(self, scenario: str | Path, rtp_port: int | None = None, *,
                 limit_s: float = 80.0) -> None:
        super().__init__(scenario, free_media_port() if rtp_port is None else rtp_port, limit_s)
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)

    def wait(self, timeout: float = 30.0) -> int:
        _, self.stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
