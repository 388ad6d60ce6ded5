"""``switchboard simulate --engine URL --api-key KEY`` against a real engine process with SIP on
loopback and the demo's order-status agent: two order_status callers at once, the engine's SIP
address read from its API, each call's row read back and shown; a number no agent answers shows
its SIP status."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from engine.client import Client
from switchboard.cli import main
from tests.harness.sip_server import SipServer, serve_order_status

pytestmark = pytest.mark.timeout(300)

ORDERS = "+14155550134"  # the demo's order-status number
UNROUTED = "+19995550100"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SipServer]:
    yield from serve_order_status(tmp_path / "data", ORDERS, idle_timeout_seconds=20)


def _split(stdout: str) -> tuple[dict[str, str], list[list[str]]]:
    totals, calls = stdout.strip().split("\n\n")
    return (dict(re.split(r"\s{2,}", line, maxsplit=1) for line in totals.splitlines()),
            [re.split(r"\s{2,}", line.rstrip()) for line in calls.splitlines()[1:]])


def _rows(server: SipServer) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        async with Client(server.engine.url, server.engine.api_key) as api:
            return (await api.list_calls(number=ORDERS, limit=10)).items

    return asyncio.run(read())


def test_two_callers_at_once_against_the_engine_s_api(
        server: SipServer, capsys: pytest.CaptureFixture[str]) -> None:
    engine = server.engine
    code = main(["simulate", "--persona", "order_status", "--number", ORDERS, "--count", "2",
                 "--concurrency", "2", "--engine", engine.url, "--api-key", engine.api_key,
                 "--limit", "90"])
    out, err = capsys.readouterr()
    totals, calls = _split(out)
    assert totals["calls"] == "2" and totals["answered"] == "2", out
    assert totals["completed"] == "2", out
    assert code == (0 if totals["goal reached"] == "2" else 1), (code, out)
    assert totals["voice-to-voice p50"].endswith(" ms"), out
    assert sorted(c[0] for c in calls) == ["1", "2"]
    rows = _rows(server)
    assert len(rows) == 2
    reasons = {str(r["disconnect_reason"]) for r in rows}
    for call in calls:
        assert call[1:3] == ["200", "completed"], out
        assert call[3] in reasons, (call, reasons)
    # off a terminal, a line per finished call, each with the engine's row
    finished = [line for line in err.splitlines() if line.startswith("call ")]
    assert len(finished) == 2, err
    assert all(re.match(r"call [12]/2: SIP 200, completed \(\S+\)", line) for line in finished)
    # both were on at once
    first, second = sorted(rows, key=lambda r: str(r["initiated_at"]))
    assert datetime.fromisoformat(str(second["initiated_at"])) < \
        datetime.fromisoformat(str(first["ended_at"])), rows

    # a number no agent answers: its SIP status, no row
    code = main(["simulate", "--persona", "order_status", "--number", UNROUTED,
                 "--engine", engine.url, "--api-key", engine.api_key])
    out, err = capsys.readouterr()
    totals, calls = _split(out)
    assert code == 1
    assert totals["answered"] == "0" and totals["completed"] == "0", out
    assert calls == [["1", "404", "-", "-", "-", "answered (SIP status 404)"]], out
    assert "call 1/1: SIP 404, missed: answered (SIP status 404)" in err
