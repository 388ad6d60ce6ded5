"""The embedded engine: ``switchboard serve`` as a child process on a free loopback port.

The child gets the console's API key through ``SWITCHBOARD_API_KEY`` (the engine makes it an
admin key), listens for SIP on loopback (port 5060 when it is free, another free port otherwise,
so a SIP phone on this machine can call the agents), prints a JSON ready line with its URL and
SIP address, and dies with the console: on Linux the kernel
sends it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), and ``--parent-pid`` makes the
engine watch its parent itself on every platform.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, Signal

from engine.settings import API_KEY_ENV, default_data_dir

STOP_TIMEOUT_SECONDS = 10.0  # graceful stop: the engine flushes its writer and closes the store
# simulated calls the demo keeps in progress: a lively call list, and whisper for three callers
# and three agents still keeps up on a 2-core machine
DEMO_CALLERS = 3
READY_TIMEOUT_SECONDS = 180.0  # a first demo seed writes 5,000 calls with transcripts
KEY_FILE_NAME = "console-api-key"
SIP_HOST = "127.0.0.1"  # SIP phones on this machine reach the embedded engine here
_PR_SET_PDEATHSIG = 1


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir("switchboard", appauthor=False))


def console_api_key(directory: Path | None = None) -> str:
    """The console's key for its embedded engine: generated once, kept in a 0600 file."""
    path = (directory or config_dir()) / KEY_FILE_NAME
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "sb_console_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)
    return key


def demo_data_dir() -> Path:
    """The demo's data dir under the user data dir (wiped for every ``switchboard demo``)."""
    return Path(platformdirs.user_data_dir("switchboard", appauthor=False)) / "demo"


def _die_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the console process dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class EmbeddedEngine(QObject):
    """Starts, watches and stops the child engine. ``ready``/``failed`` fire on the GUI thread."""

    ready = Signal(str)
    failed = Signal(str)

    def __init__(self, data_dir: Path | None = None, api_key: str | None = None, *, demo: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.demo = demo
        self.data_dir = data_dir or (demo_data_dir() if demo else default_data_dir())
        self.api_key = api_key or console_api_key()
        self.url: str | None = None
        self.sip: str | None = None  # host:port the engine listens on for SIP, once ready
        self.process: subprocess.Popen[str] | None = None
        self.error: str | None = None
        self._reader: threading.Thread | None = None
        self._settled = threading.Event()

    def start(self) -> None:
        """Spawn the child; its ready line is read on a reader thread, never the GUI thread."""
        if self.demo and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "switchboard", "serve", "--data-dir", str(self.data_dir),
                "--port", "0", "--sip-host", SIP_HOST, "--sip-port", "auto",
                "--parent-pid", str(os.getpid()),
                *(["--demo", "--demo-callers", str(DEMO_CALLERS)] if self.demo else [])]
        env = {**os.environ, API_KEY_ENV: self.api_key}
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._reader = threading.Thread(target=self._read_stdout, name="engine-stdout", daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        announced = False
        for line in process.stdout:
            if not announced and line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "ready":
                    announced = True
                    self.url = str(event["url"])
                    self.sip = str(event["sip"]) if event.get("sip") else None
                    self._settled.set()
                    self.ready.emit(self.url)
        code = process.wait()
        if not announced:
            self.error = f"the engine exited with code {code} before it was ready"
            self._settled.set()
            self.failed.emit(self.error)

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> str:
        """Block until the ready line (for ``shot`` and scripts, not for the GUI thread)."""
        if not self._settled.wait(timeout):
            raise TimeoutError("the engine did not become ready in time")
        if self.url is None:
            raise RuntimeError(self.error or "the engine failed")
        return self.url

    def stop(self) -> int | None:
        """Terminate gracefully, then kill if it does not stop in time."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout=2)
        return process.returncode
