"""The console's embedded engine listens for SIP on loopback by default (5060 when free, another
free port otherwise): its ready line names the address, ``GET /v1/engine`` reports it, and the
port answers a SIP OPTIONS request. A taken port falls back to a free one."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from console.embedded import EmbeddedEngine
from engine.app import Engine
from engine.client import Client
from engine.settings import Settings
from tests.harness.engine_host import TEST_KEY
from tests.harness.sip_probe import options


async def test_the_embedded_engine_answers_sip(tmp_path: Path) -> None:
    embedded = EmbeddedEngine(tmp_path / "data", TEST_KEY)
    embedded.start()
    try:
        url = await asyncio.to_thread(embedded.wait_ready, 60)
        assert embedded.sip is not None
        host, _, port = embedded.sip.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert (await asyncio.to_thread(options, host, int(port))) == "SIP/2.0 200 OK"
        async with Client(url, TEST_KEY) as api:
            info = await api.engine_info()
        assert info["sip"] == {"enabled": True, "host": "127.0.0.1", "port": int(port)}
        assert info["webrtc"] == {"enabled": True}
    finally:
        assert embedded.stop() == 0


async def test_a_taken_sip_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        engine = Engine(Settings(data_dir=tmp_path, sip_enabled=True, sip_host="127.0.0.1",
                                 sip_port=port, sip_port_fallback=True))
        engine.setup()
        await engine.start()
        try:
            assert engine.sip_port is not None and engine.sip_port != port
            reply = await asyncio.to_thread(options, "127.0.0.1", engine.sip_port)
            assert reply == "SIP/2.0 200 OK"
        finally:
            await engine.stop()
            engine.close()
