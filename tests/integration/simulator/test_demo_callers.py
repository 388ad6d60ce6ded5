"""``switchboard serve --demo --demo-callers 3``: simulated callers keep calls going on the demo
agents over the engine's own SIP port; the API sees them overlap, and its switch stops new
ones. ``switchboard demo --exit-after`` leaves its calls in the data dir."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from engine.client import Client
from tests.harness.engine_host import start_engine

pytestmark = pytest.mark.timeout(240)

ENV = {"HF_HUB_OFFLINE": "1"}


async def _new_calls(api: Client, since: str) -> list[dict[str, Any]]:
    """The demo callers' calls since ``since`` (inbound; the demo's campaign dials out too)."""
    return (await api.list_calls(since=since, direction="inbound", limit=100)).items


async def test_demo_callers_keep_calls_going_until_switched_off(tmp_path: Path) -> None:
    since = datetime.now(UTC).isoformat()
    engine = start_engine(tmp_path / "data", demo=True, timeout=180, extra_env=ENV,
                          extra_args=("--sip-host", "127.0.0.1", "--sip-port", "0",
                                      "--demo-callers", "3"),
                          log_path=tmp_path / "engine.log")
    try:
        async with Client(engine.url, engine.api_key) as api:
            state = await api.demo_callers()
            assert state["enabled"] is True and state["target"] == 3
            # calls begin and overlap (their conversations are checked end to end by the
            # next test, which runs `switchboard demo`)
            seen_in_progress = 0
            deadline = time.monotonic() + 90
            while seen_in_progress < 2 and time.monotonic() < deadline:
                seen_in_progress = max(seen_in_progress,
                                       (await api.demo_callers())["in_progress"])
                await asyncio.sleep(0.5)
            assert seen_in_progress >= 2, seen_in_progress
            began = [c for c in await _new_calls(api, since)
                     if c["from_number"] and c["status"] in ("ringing", "in_progress", "completed")]
            assert began, await _new_calls(api, since)

            state = await api.set_demo_callers(False)
            assert state["enabled"] is False
            known = {c["id"] for c in await _new_calls(api, since)}
            await asyncio.sleep(10)
            started = {c["id"] for c in await _new_calls(api, since)} - known
            assert not started, started
    finally:
        assert engine.stop(30) == 0
    log = (tmp_path / "engine.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_switchboard_demo_exit_after_leaves_its_calls(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    env = {**os.environ, **ENV, "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "switchboard", "demo", "--exit-after", "45",
                           "--data-dir", str(data)], env=env, capture_output=True, text=True,
                          timeout=230, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - began >= 45
    store = create_engine(f"sqlite:///{data / 'switchboard.db'}")
    try:
        with store.connect() as connection:
            rows = connection.execute(text(
                "SELECT e.text FROM call c JOIN transcript_entry e ON e.call_id = c.id "
                "WHERE c.from_number LIKE '%simulated%' AND c.status = 'completed' "
                "AND e.source = 'user'")).all()
    finally:
        store.dispose()
    assert any(row.text.strip() for row in rows), done.stderr[-3000:]
