"""Console fixtures: a main window attached to a real engine, the session's PulseAudio daemon,
and checks that nothing leaks (``tests.harness.live_console``, ``tests.harness.pulse``) and that
nothing went wrong unseen: every exception the console's code raised where no caller catches it
(a slot, an event handler, a worker thread) and every critical Qt message fails the test."""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import Shiboken

from tests.harness.engine_host import RunningEngine
from tests.harness.exception_log import ExceptionLog
from tests.harness.live_console import Console, flush_deletions, open_console
from tests.harness.pulse import Session, require_pulse

_LOG = pytest.StashKey["ExceptionLog"]()


def _fail_if_logged(records: list[str], when: str) -> None:
    if records:
        separator = "\n" + "_" * 80 + "\n"
        pytest.fail(f"{len(records)} exception(s) or critical Qt message(s) {when}:{separator}"
                    + separator.join(records), pytrace=False)


@pytest.fixture(autouse=True)
def exception_log(request: pytest.FixtureRequest) -> Iterator[ExceptionLog]:
    """Fails the test on any exception or critical Qt message recorded while it runs (during
    the test itself: at its end; during the fixtures set up after this one and torn down before
    it: at teardown)."""
    log = ExceptionLog()
    log.install()
    request.node.stash[_LOG] = log
    try:
        yield log
    finally:
        log.uninstall()
    _fail_if_logged(log.take(), "during the test's fixtures")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """The test's own part: what it logged fails it at once, as a test failure."""
    result = yield
    log = item.stash.get(_LOG, None)
    if log is not None:
        if QApplication.instance() is not None:
            QApplication.processEvents()  # what the test left queued runs under the log too
        _fail_if_logged(log.take(), "during the test")
    return result


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


def _pointer(widget: QWidget) -> int:
    return int(Shiboken.getCppPointer(widget)[0])


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Every window a test opens is gone after it. Python's cycle collector is off while the
    test runs: a parentless widget a test made and let go of would otherwise be destroyed by the
    collector at any moment, after its Python state is cleared but while Qt still sends its
    children events (PySide crashes there). At the end the test's own top-level widgets are
    deleted by Qt first, then the collector runs."""
    gc.disable()
    flush_deletions()
    before = {_pointer(w) for w in qapp.topLevelWidgets()}
    try:
        yield
        flush_deletions()
        leaked = [w for w in qapp.topLevelWidgets() if _pointer(w) not in before and w.isVisible()]
        assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"
    finally:
        for widget in qapp.topLevelWidgets():
            if _pointer(widget) not in before and Shiboken.ownedByPython(widget):
                widget.close()
                widget.deleteLater()
        flush_deletions()
        gc.collect()
        gc.enable()


@pytest.fixture
def demo_console(qapp: QApplication, demo_server: RunningEngine) -> Iterator[Console]:
    yield from open_console(qapp, demo_server)


@pytest.fixture
def console(qapp: QApplication, engine_server: RunningEngine) -> Iterator[Console]:
    yield from open_console(qapp, engine_server)
