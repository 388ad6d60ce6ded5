"""kamailio as a registrar and digest-auth proxy on a free loopback port, started with its own
config (``tests/integration/sip/kamailio.cfg.in``) in front of a callee."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.harness.ports import free_udp_port
from tests.harness.processes import stop_process
from tests.harness.sip_probe import answers_options

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
CONFIG = Path(__file__).resolve().parents[1] / "integration" / "sip" / "kamailio.cfg.in"
PASSWORD = "s3cret"
REALM = "switchboard.test"

requires_kamailio = pytest.mark.skipif(
    not Path(KAMAILIO).exists(), reason="kamailio is not installed (Debian package kamailio)")


class Kamailio:
    def __init__(self, port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.port, self.proc, self.log = port, proc, log

    async def stop(self) -> None:
        await stop_process(self.proc, 10)


async def start_kamailio(callee_port: int, workdir: Path) -> Kamailio:
    """kamailio with user alice (``PASSWORD``), relaying calls to the callee on ``callee_port``;
    its config, pid file and log in ``workdir``."""
    port = free_udp_port()
    text = CONFIG.read_text().replace("@PORT@", str(port)).replace("@PASSWORD@", PASSWORD) \
        .replace("@CALLEE@", f"127.0.0.1:{callee_port}")
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(text)
    log = workdir / "kamailio.log"
    proc = await asyncio.create_subprocess_exec(
        KAMAILIO, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "8", "-w", str(workdir),
        "-Y", str(workdir), "-P", str(workdir / "kamailio.pid"),
        stdout=asyncio.subprocess.DEVNULL, stderr=log.open("wb"))
    if not await answers_options(port):
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"kamailio did not start: {log.read_text()[-2000:]}")
    return Kamailio(port, proc, log)
