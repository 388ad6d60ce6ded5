"""Console fixtures: a main window attached to a real engine, the session's PulseAudio daemon,
and a check that nothing leaks (``tests.harness.live_console``, ``tests.harness.pulse``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from tests.harness.engine_host import RunningEngine
from tests.harness.live_console import Console, flush_deletions, open_console
from tests.harness.pulse import Session, require_pulse


@pytest.fixture(scope="session", autouse=True)
def pulse_daemon() -> Iterator[None]:
    """A PulseAudio daemon with a null sink and source, up before any test asks for audio
    devices (QtMultimedia connects once per process); see tests/harness/pulse.py."""
    Session.start()
    yield
    Session.stop()


@pytest.fixture
def pulse() -> None:
    """The session's PulseAudio daemon is up (the test is skipped without PulseAudio)."""
    require_pulse()


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Every window a test opens is gone after it."""
    flush_deletions()
    before = {id(w) for w in qapp.topLevelWidgets()}
    yield
    flush_deletions()
    leaked = [w for w in qapp.topLevelWidgets() if id(w) not in before and w.isVisible()]
    assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def demo_console(qapp: QApplication, demo_server: RunningEngine) -> Iterator[Console]:
    yield from open_console(qapp, demo_server)


@pytest.fixture
def console(qapp: QApplication, engine_server: RunningEngine) -> Iterator[Console]:
    yield from open_console(qapp, engine_server)
