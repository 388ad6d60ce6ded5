"""The console in a test: a main window attached to a running engine, opened offscreen, with
helpers to open views and wait for their data, and the fixture factory for the live tests'
consoles (attached to the module's ``sip_server``) and their live call panel."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console import theme
from console.context import EngineInfo
from console.session import ConsoleSession, open_session, open_view, wait_loaded
from console.views.base import View
from console.views.live import LiveView
from console.views.live_call import LiveCallPanel
from engine.client import ApiError, Client
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.sip_server import SipServer

LOAD_TIMEOUT_MS = 20_000
WINDOW_SIZE = (1400, 900)


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


def flush_deletions() -> None:
    """Deletes the widgets whose deletion is pending (``deleteLater``)."""
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


def open_console(qapp: QApplication, engine: RunningEngine) -> Iterator[Console]:
    """The console's main window on ``engine`` (light theme, shown); closed when the iterator
    is."""
    theme.apply(qapp, "light")
    session = open_session(EngineInfo(engine.url, "remote"), engine.api_key, persist_theme=False)
    session.window.resize(*WINDOW_SIZE)
    session.window.show()
    try:
        yield Console(session)
    finally:
        session.close()


def live_console_fixture(*, requires: tuple[str, ...] = (),
                         after: Callable[[], None] | None = None) -> Callable[..., Iterator[Console]]:
    """A fixture opening the console on the module's ``sip_server`` engine for one test, once the
    fixtures named in ``requires`` are set up; ``after`` runs when the console has closed. Assign
    it to the fixture's name in the test module."""

    @pytest.fixture
    def live_console(request: pytest.FixtureRequest, qapp: QApplication,
                     sip_server: SipServer) -> Iterator[Console]:
        for name in requires:
            request.getfixturevalue(name)
        yield from open_console(qapp, sip_server.engine)
        if after is not None:
            after()

    return live_console


def open_panel(console: Console, qtbot: QtBot) -> tuple[LiveView, LiveCallPanel]:
    """The board's only live call opened in the panel, once the agent greeted and listens."""
    board = console.view("live")
    assert isinstance(board, LiveView)
    qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=20_000)
    call_id = board.model.call_id(board.model.index(0, 0))
    assert call_id
    panel = board.open_call(call_id)
    qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=15_000)
    qtbot.waitUntil(lambda: any(e.get("source") == "agent" and not e.get("partial")
                                and "Northwind" in str(e.get("text"))
                                for e in panel.model.transcript.entries), timeout=30_000)
    qtbot.waitUntil(lambda: panel.model.agent_state == "listening", timeout=30_000)
    return board, panel


def end_live_calls(server: SipServer) -> None:
    """Hangs up every live call through the API (as a supervisor's End): after a failed test, so
    the peers finish, or to end a call on purpose."""
    async def end(api: Client) -> None:
        for call in (await api.list_calls(status="live")).items:
            with contextlib.suppress(ApiError):
                await api.control(call["id"], "end_call")

    run_api(server.engine, end)
