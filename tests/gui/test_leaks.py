"""A closed console leaves nothing behind: no windows, dialogs or widgets, no worker thread."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console import theme
from console.context import EngineInfo
from console.session import open_session, open_view, wait_loaded
from console.views import VIEW_CLASSES
from tests.harness.engine_host import RunningEngine


def flush() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


def test_closing_a_session_releases_every_widget(qapp: QApplication, qtbot: QtBot,
                                                 demo_server: RunningEngine) -> None:
    theme.apply(qapp, "light")
    flush()
    before = {id(w) for w in qapp.allWidgets()}
    threads = {t.ident for t in threading.enumerate()}
    session = open_session(EngineInfo(demo_server.url, "remote"), demo_server.api_key, persist_theme=False)
    window = session.window
    window.show()
    for name in VIEW_CLASSES:
        assert wait_loaded(open_view(window, name), 20_000), name
    settings = window.views["settings"]
    settings.key_name.setText("Leak check")
    settings.create_key()  # opens the key's dialog, a window of its own
    qtbot.waitUntil(lambda: getattr(settings, "new_key_dialog", None) is not None, timeout=10_000)
    widgets = len(qapp.allWidgets())
    assert widgets > len(before) + 100

    session.close()
    flush()
    assert not shiboken6.isValid(window)
    left = [type(w).__name__ for w in qapp.allWidgets() if id(w) not in before]
    assert not left, f"{len(left)} widgets outlive the session: {sorted(set(left))[:10]}"
    assert {t.ident for t in threading.enumerate()} <= threads, "the API worker thread is still running"
