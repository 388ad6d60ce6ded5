"""The main window as a new user meets it, clicked with the mouse: every rail entry and the
Softphone button, the wheel over form fields, the console's own API key, the connection state,
the Usage periods, the Quit menu and the keys' last use."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import TracebackType

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from console.session import wait_loaded
from console.window import NAVIGATION
from tests.harness.live_console import LOAD_TIMEOUT_MS, Console

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@pytest.fixture
def raised() -> Iterator[list[ExcInfo]]:
    """The exceptions raised in Qt's slots and event handlers during the test (Qt hands them to
    ``sys.excepthook`` and carries on)."""
    seen: list[ExcInfo] = []
    previous = sys.excepthook

    def record(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        seen.append((kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = record
    yield seen
    sys.excepthook = previous


def click_rail(console: Console, qtbot: QtBot, title: str) -> None:
    rail = console.window.rail
    item = next(rail.item(row) for row in range(rail.count()) if rail.item(row).text() == title)
    qtbot.mouseClick(rail.viewport(), Qt.MouseButton.LeftButton,
                     pos=rail.visualItemRect(item).center())


# -- 1: the rail ----------------------------------------------------------------------------------

def test_every_rail_entry_opens_its_view_when_clicked(console: Console, qtbot: QtBot,
                                                      raised: list[ExcInfo]) -> None:
    window = console.window
    for name, title in reversed(NAVIGATION):  # the window opens on Calls: end there
        click_rail(console, qtbot, title)
        view = window.views[name]
        assert window.stack.currentWidget() is view, title
        assert wait_loaded(view, LOAD_TIMEOUT_MS), f"{title} did not load"
        assert window.rail.currentItem().text() == title
    assert not raised, raised


def test_the_softphone_button_shows_and_hides_the_dock(console: Console, qtbot: QtBot,
                                                       raised: list[ExcInfo]) -> None:
    window = console.window
    toggle = window.findChild(QPushButton, "railSoftphone")
    assert toggle is not None and not window.softphone.isVisible()
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.softphone.isVisible, timeout=5_000)
    assert toggle.isChecked()
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.softphone.isVisible(), timeout=5_000)
    assert not toggle.isChecked()
    assert not raised, raised
