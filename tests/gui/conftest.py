"""Console fixtures: a main window attached to a real engine, the session's PulseAudio daemon,
and checks that nothing leaks (``tests.harness.live_console``, ``tests.harness.pulse``) and that
nothing went wrong unseen: every exception the console's code raised where no caller catches it
(a slot, an event handler, a worker thread) and every critical Qt message fails the test."""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from tests.harness.engine_host import RunningEngine
from tests.harness.live_console import Console, flush_deletions, open_console
from tests.harness.pulse import Session, require_pulse

FAILING_QT_MESSAGES = (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)


class ExceptionLog:
    """Records, while installed, what would otherwise only be printed: exceptions reaching
    ``sys.excepthook`` (PySide hands it those raised in slots and event handlers, with or
    without a Python frame to show) and ``threading.excepthook``, and Qt's critical and fatal
    messages. Each is still printed to stderr as it happens."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self._previous_thread_hook = threading.excepthook
        self._previous_hook = sys.excepthook
        self._previous_handler: Any = None

    def install(self) -> None:
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self._exception
        threading.excepthook = self._thread_exception
        self._previous_handler = qInstallMessageHandler(self._qt_message)

    def uninstall(self) -> None:
        qInstallMessageHandler(self._previous_handler)
        threading.excepthook = self._previous_thread_hook
        sys.excepthook = self._previous_hook

    def _exception(self, kind: type[BaseException], value: BaseException,
                   tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        self.records.append(text)
        sys.stderr.write(text)

    def _thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                  args.exc_traceback))
        name = args.thread.name if args.thread is not None else "?"
        self.records.append(f"in thread {name}: {text}")
        self._previous_thread_hook(args)

    def _qt_message(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if kind in FAILING_QT_MESSAGES:
            self.records.append(f"Qt {kind.name}: {message}")
        if self._previous_handler is not None:
            self._previous_handler(kind, context, message)
        else:
            sys.stderr.write(f"{message}\n")

    def take(self) -> list[str]:
        records, self.records = self.records, []
        return records


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
