"""Start a real engine process on a loopback port for tests and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TEST_KEY = "sb_test_admin_key_0123456789abcdefghijklmnop"


@dataclass
class RunningEngine:
    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[str]

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_engine(data_dir: Path, *, demo: bool = False, api_key: str = TEST_KEY,
                 extra_args: tuple[str, ...] = (), timeout: float = 60.0) -> RunningEngine:
    """``switchboard serve --port 0`` in a child process; returns once it printed its URL."""
    env = {**os.environ, "SWITCHBOARD_API_KEY": api_key}
    args = [sys.executable, "-m", "switchboard", "serve", "--data-dir", str(data_dir), "--port", "0",
            *(["--demo"] if demo else []), *extra_args]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError(f"engine exited with {process.returncode} before it was ready")
            continue
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "ready":
                return RunningEngine(event["url"], api_key, data_dir, process)
    process.kill()
    raise RuntimeError("engine did not become ready in time")
