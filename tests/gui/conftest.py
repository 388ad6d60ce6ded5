"""Console fixtures: a main window attached to a real engine, and a check that nothing leaks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from console import theme
from console.context import EngineInfo
from console.session import ConsoleSession, open_session, open_view, wait_loaded
from console.views.base import View
from engine.client import Client
from tests.enginehost import RunningEngine

T = TypeVar("T")
LOAD_TIMEOUT_MS = 20_000


def run_api(engine: RunningEngine, request: Callable[[Client], Awaitable[T]]) -> T:
    """One API call from a sync test (outside the Qt loop)."""

    async def go() -> T:
        async with Client(engine.url, engine.api_key) as api:
            return await request(api)

    return asyncio.run(go())


def _flush_deletions() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


@pytest.fixture(scope="session", autouse=True)
def pulse_daemon() -> Iterator[None]:
    """A PulseAudio daemon with a null sink and source, up before any test asks for audio
    devices (QtMultimedia connects once per process); see tests/gui/pulse.py."""
    from tests.gui.pulse import Session

    Session.start()
    yield
    Session.stop()


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Every window a test opens is gone after it."""
    _flush_deletions()
    before = {id(w) for w in qapp.topLevelWidgets()}
    yield
    _flush_deletions()
    leaked = [w for w in qapp.topLevelWidgets() if id(w) not in before and w.isVisible()]
    assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"


class Console:
    """A console session in a test: open views and wait for their data."""

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.window = session.window

    def view(self, spec: str) -> Any:
        page = open_view(self.window, spec)
        assert wait_loaded(page, LOAD_TIMEOUT_MS), f"{spec} did not load"
        return page

    @staticmethod
    def reload(page: View) -> None:
        page.is_loaded = False
        page.refresh()
        assert wait_loaded(page, LOAD_TIMEOUT_MS)


def _console(qapp: QApplication, engine: RunningEngine) -> Iterator[Console]:
    theme.apply(qapp, "light")
    session = open_session(EngineInfo(engine.url, "remote"), engine.api_key, persist_theme=False)
    session.window.resize(1400, 900)
    session.window.show()
    try:
        yield Console(session)
    finally:
        session.close()


@pytest.fixture
def demo_console(qapp: QApplication, demo_server: RunningEngine) -> Iterator[Console]:
    yield from _console(qapp, demo_server)


@pytest.fixture
def console(qapp: QApplication, engine_server: RunningEngine) -> Iterator[Console]:
    yield from _console(qapp, engine_server)
