"""A private PulseAudio daemon for the console's audio tests and the live screenshots: a null
sink (``vsink``) and a null source (``vsrc``) that run at real time with no sound hardware.

QtMultimedia connects to PulseAudio once per process, the first time devices are asked for, and
does not retry; so the daemon starts before any test of the session touches audio, and the
process is pointed at it through ``PULSE_SERVER``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.processes import stop_popen

SINK = "vsink"
SOURCE = "vsrc"
READY_TIMEOUT_S = 15.0


@dataclass
class PulseDaemon:
    process: subprocess.Popen[bytes]
    runtime: Path
    server: str

    def pactl(self, *args: str) -> str:
        """Runs ``pactl`` against this daemon; its output."""
        result = subprocess.run(["pactl", "--server", self.server, *args], capture_output=True,
                                text=True, timeout=10, check=True)
        return result.stdout

    def stop(self) -> None:
        stop_popen(self.process, 10)
        shutil.rmtree(self.runtime, ignore_errors=True)


def start_pulse() -> PulseDaemon | None:
    """A daemon on a socket of its own, or None when PulseAudio is not installed."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        return None
    runtime = Path(tempfile.mkdtemp(prefix="switchboard-pulse-"))
    socket = runtime / "native"
    env = {**os.environ, "HOME": str(runtime), "XDG_RUNTIME_DIR": str(runtime),
           "XDG_CONFIG_HOME": str(runtime / "config"), "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
           "PULSE_STATE_PATH": str(runtime / "state")}
    env.pop("PULSE_SERVER", None)
    log = (runtime / "pulseaudio.log").open("wb")
    process = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "--use-pid-file=no", "--system=no",
         "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
         "-L", f"module-null-sink sink_name={SINK}",
         "-L", f"module-null-source source_name={SOURCE}",
         "-L", "module-always-sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    daemon = PulseDaemon(process, runtime, f"unix:{socket}")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = (runtime / "pulseaudio.log").read_text(errors="replace")[-2000:]
            daemon.stop()
            raise RuntimeError(f"pulseaudio exited with {process.returncode}: {stderr}")
        if socket.exists():
            try:
                daemon.pactl("info")
                return daemon
            except subprocess.SubprocessError:
                pass
        time.sleep(0.05)  # waiting for a child process to listen, not for the code under test
    daemon.stop()
    raise RuntimeError("pulseaudio did not start listening")


class Session:
    """The session's daemon (started by ``tests/gui/conftest.py`` before any test), or why not."""

    daemon: PulseDaemon | None = None
    failure: str | None = None  # pulseaudio is installed but did not start

    @classmethod
    def start(cls) -> None:
        try:
            cls.daemon = start_pulse()
        except (RuntimeError, OSError) as exc:
            cls.failure = str(exc)
        if cls.daemon is not None:
            os.environ["PULSE_SERVER"] = cls.daemon.server

    @classmethod
    def stop(cls) -> None:
        if cls.daemon is not None:
            cls.daemon.stop()
            cls.daemon = None


def require_pulse() -> PulseDaemon:
    """The session's daemon; the test is skipped when PulseAudio is not installed and fails
    when it is but the daemon did not start."""
    if Session.daemon is None:
        if Session.failure:
            pytest.fail(f"pulseaudio did not start: {Session.failure}")
        pytest.skip("pulseaudio is not installed (Debian package pulseaudio)")
    return Session.daemon
