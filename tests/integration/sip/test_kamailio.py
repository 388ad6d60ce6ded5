"""Digest auth against kamailio as registrar and proxy, started here with its own config on a
free loopback port: REGISTER 401 -> 200, INVITE 407 -> 200 (relayed to sipp as the callee), and
a wrong password failing clearly without a retry loop."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.store import SipTrunk, session_scope
from tests.integration.sip.conftest import SipEngine, free_udp_port, requires_sipp
from tests.integration.sip.test_sipp_outbound import (
    SippUas,
    call_row,
    queue_call,
    wait_answered,
)

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
CONFIG = Path(__file__).with_name("kamailio.cfg.in")
PASSWORD = "s3cret"
REALM = "switchboard.test"

pytestmark = [requires_sipp, pytest.mark.skipif(
    not Path(KAMAILIO).exists(), reason="kamailio is not installed (Debian package kamailio)")]


async def _answers_options(port: int, within: float = 15.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        local = sock.getsockname()[1]
        probe = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                 f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKprobe\r\n"
                 f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\n"
                 f"Call-ID: probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                 f"Content-Length: 0\r\n\r\n").encode()
        while loop.time() < deadline:
            sock.sendto(probe, ("127.0.0.1", port))
            await asyncio.sleep(0.2)
            try:
                if sock.recv(4096).startswith(b"SIP/2.0 200"):
                    return True
            except BlockingIOError:
                continue
    return False


class Kamailio:
    def __init__(self, port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.port, self.proc, self.log = port, proc, log


async def start_kamailio(callee_port: int, workdir: Path) -> Kamailio:
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
    if not await _answers_options(port):
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"kamailio did not start: {log.read_text()[-2000:]}")
    return Kamailio(port, proc, log)


@pytest.fixture
async def kamailio_and_callee() -> AsyncIterator[tuple[Kamailio, SippUas]]:
    with tempfile.TemporaryDirectory() as tmp:
        async with SippUas("uas") as uas:
            kam = await start_kamailio(uas.port, Path(tmp))
            try:
                yield kam, uas
            finally:
                kam.proc.terminate()
                try:
                    await asyncio.wait_for(kam.proc.wait(), 10)
                except TimeoutError:
                    kam.proc.kill()
                    await kam.proc.wait()


def add_trunk(sip: SipEngine, port: int, password: str) -> SipTrunk:
    with session_scope(sip.engine.db) as session:
        trunk = SipTrunk(organization_id=sip.engine.organization_id, name="kamailio",
                         host="127.0.0.1", port=port, username="alice", password=password,
                         register_enabled=True, register_expires_seconds=300)
        session.add(trunk)
        session.flush()
        session.expunge(trunk)
        return trunk


async def test_register_401_then_200(sip_engine: SipEngine,
                                     kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    trunk = add_trunk(sip_engine, kam.port, PASSWORD)
    registration = await sip_engine.telephony.register_trunk(trunk)
    assert registration.state == "registered", registration.error
    assert registration.sent == 2 and registration.granted_s and registration.granted_s <= 300
    await sip_engine.settled()
    with session_scope(sip_engine.engine.db) as session:
        row = session.get(SipTrunk, trunk.id)
        assert row is not None and row.registration_status == "registered"


async def test_wrong_password_fails_clearly_without_retrying(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    trunk = add_trunk(sip_engine, kam.port, "wrong")
    registration = await sip_engine.telephony.register_trunk(trunk)
    assert registration.state == "failed" and "rejected" in (registration.error or "")
    await asyncio.sleep(1.0)
    assert registration.sent == 2  # one challenge answered, the refusal not retried
    await sip_engine.settled()
    with session_scope(sip_engine.engine.db) as session:
        row = session.get(SipTrunk, trunk.id)
        assert row is not None and row.registration_status == "failed"


async def test_invite_407_then_200_through_the_proxy(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, uas = kamailio_and_callee
    call_id = queue_call(sip_engine, kam.port)
    with session_scope(sip_engine.engine.db) as session:
        from engine.store import Call

        call = session.get(Call, call_id)
        assert call is not None
        trunk = session.get(SipTrunk, call.sip_trunk_id)
        assert trunk is not None
        trunk.username, trunk.password = "alice", PASSWORD
    sip_engine.telephony.dial(call_id)
    await wait_answered(sip_engine, call_id)
    sip_engine.telephony.calls[call_id].hangup()
    assert await uas.wait() == 0, uas.stderr
    await sip_engine.settled()
    assert call_row(sip_engine, call_id).status == "completed"
    events = sip_engine.events(call_id)
    assert any(e.event_type == "auth_challenge" and e.sip_status_code == 407 for e in events)


async def test_invite_with_a_wrong_password_fails_with_407(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    call_id = queue_call(sip_engine, kam.port)
    with session_scope(sip_engine.engine.db) as session:
        from engine.store import Call

        call = session.get(Call, call_id)
        assert call is not None
        trunk = session.get(SipTrunk, call.sip_trunk_id)
        assert trunk is not None
        trunk.username, trunk.password = "alice", "wrong"
    await sip_engine.telephony.dial(call_id)
    await sip_engine.settled()
    row = call_row(sip_engine, call_id)
    assert row.status == "failed" and row.metadata_["sip_status_code"] == 407
    assert row.disconnect_reason == "auth_failed"
