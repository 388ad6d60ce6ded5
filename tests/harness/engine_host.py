"""A real engine process on a loopback port for tests and benchmarks: start it, wait for its
ready line, make API calls to it from synchronous code."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.client import Client
from tests.harness.processes import stop_popen

T = TypeVar("T")

TEST_KEY = "sb_test_admin_key_0123456789abcdefghijklmnop"


@dataclass
class RunningEngine:
    """An engine process serving its API at ``url``, with its admin key and data directory."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]

    def stop(self, timeout: float = 10.0) -> int:
        return stop_popen(self.process, timeout)


def wait_ready(process: subprocess.Popen[str], timeout: float,
               log_path: Path | None = None) -> dict[str, Any]:
    """The ``{"event": "ready", ...}`` line a child engine prints on its stdout once it serves;
    the process is killed when it does not come within ``timeout`` seconds. When the process
    exits first, the error carries its log (``log_path``, where its stderr went) if there is one."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                if log_path is not None:
                    raise RuntimeError(f"engine exited with {process.returncode}: {log_path.read_text()}")
                raise RuntimeError(f"engine exited with {process.returncode} before it was ready")
            continue
        if line.startswith("{"):
            event: dict[str, Any] = json.loads(line)
            if event.get("event") == "ready":
                return event
    process.kill()
    raise RuntimeError("engine did not become ready in time")


def start_engine(data_dir: Path, *, demo: bool = False, api_key: str = TEST_KEY,
                 extra_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None,
                 log_path: Path | None = None, timeout: float = 60.0) -> RunningEngine:
    """``switchboard serve --port 0`` in a child process; returns once it printed its URL. Its
    stderr is the test's unless ``log_path`` names a file for it."""
    env = {**os.environ, "SWITCHBOARD_API_KEY": api_key, **(extra_env or {})}
    args = [sys.executable, "-m", "switchboard", "serve", "--data-dir", str(data_dir), "--port", "0",
            *(["--demo"] if demo else []), *extra_args]
    if log_path is None:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    else:
        with log_path.open("w") as log_file:
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                       env=env)
    event = wait_ready(process, timeout, log_path)
    return RunningEngine(event["url"], api_key, data_dir, process)


def run_api(engine: RunningEngine, request: Callable[[Client], Awaitable[T]]) -> T:
    """One API call from synchronous code (a Qt test, outside any event loop)."""

    async def go() -> T:
        async with Client(engine.url, engine.api_key) as api:
            return await request(api)

    return asyncio.run(go())
