"""The GUI tests' exception log (tests/harness/exception_log.py, installed for every GUI test by
tests/gui/conftest.py): what a click makes the console's code raise where nobody catches it, and
Qt's critical messages, are recorded to fail the test."""

from __future__ import annotations

from PySide6.QtCore import Qt, qCritical
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from tests.harness.exception_log import ExceptionLog


def test_a_python_slot_raising_is_recorded(qtbot: QtBot, exception_log: ExceptionLog) -> None:
    button = QPushButton("Raise")
    qtbot.addWidget(button)

    def broken() -> None:
        raise ValueError("a slot failed")

    button.clicked.connect(broken)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    records = exception_log.take()
    assert len(records) == 1 and "ValueError: a slot failed" in records[0], records


def test_a_slot_called_with_the_wrong_arguments_is_recorded(
        qtbot: QtBot, exception_log: ExceptionLog) -> None:
    """A toggle wired to a slot that takes other arguments: PySide prints a bare TypeError
    (the kind of failure the rail's Softphone button had, issue 16 item 1)."""

    class Panel(QWidget):
        def reveal(self, visible: bool, where: str) -> None:
            self.setVisible(visible)

    panel = Panel()
    qtbot.addWidget(panel)
    button = QPushButton("Toggle")
    button.setCheckable(True)
    qtbot.addWidget(button)
    button.toggled.connect(panel.reveal)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    records = exception_log.take()
    assert any("TypeError" in r for r in records), records


def test_a_critical_qt_message_is_recorded(exception_log: ExceptionLog) -> None:
    qCritical("the store is gone")
    assert exception_log.take() == ["Qt QtCriticalMsg: the store is gone"]
