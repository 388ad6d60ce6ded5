"""The main window as a new user meets it, clicked with the mouse: every rail entry and the
Softphone button, the wheel over form fields, the console's own API key, the connection state,
the Usage periods, the Quit menu and the keys' last use."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
import pytest
import uvicorn
from PySide6.QtCharts import QBarCategoryAxis
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from console.bridge import KEEPALIVE_EXPIRY_S
from console.context import EngineInfo
from console.models.usage import arrange, period_start
from console.session import open_session, wait_loaded
from console.window import NAVIGATION
from tests.harness.engine_host import RunningEngine, run_api
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


# -- 2: the wheel over form fields ------------------------------------------------------------------

def wheel_over(console: Console, widget: QWidget, notches: int) -> None:
    """Real wheel notches (through the window system's queue) over the middle of ``widget``."""
    window = console.window
    QTest.wheelEvent(window.windowHandle(), widget.mapTo(window, widget.rect().center()),
                     QPoint(0, 120 * notches))
    QApplication.processEvents()


def test_the_wheel_scrolls_the_form_instead_of_changing_a_field(console: Console,
                                                                 qtbot: QtBot) -> None:
    console.window.resize(1100, 700)
    editor = console.view("agents").editor
    console.window.activateWindow()  # clicks give the focus in the active window only
    qtbot.waitUntil(console.window.isActiveWindow, timeout=5_000)
    idle = editor.form.widget("idle_timeout_seconds")
    kind = editor.form.widget("brain.kind")
    assert isinstance(idle, QSpinBox) and isinstance(kind, QComboBox)
    scroll = idle.parentWidget()
    while not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)  # at 1100x700 the form scrolls
    scroll.ensureWidgetVisible(idle)
    QApplication.processEvents()
    before, offset = idle.value(), bar.value()
    assert offset > 0
    wheel_over(console, idle, 1)  # up: the page moves, the idle timeout stays
    assert idle.value() == before and not idle.hasFocus()
    assert bar.value() < offset

    scroll.ensureWidgetVisible(kind)
    QApplication.processEvents()
    chosen = kind.currentIndex()
    wheel_over(console, kind, -1)
    assert kind.currentIndex() == chosen and not kind.hasFocus()

    scroll.ensureWidgetVisible(idle)
    QApplication.processEvents()
    window = console.window  # a field the user clicked takes the wheel
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     idle.mapTo(window, idle.rect().center()))
    qtbot.waitUntil(idle.hasFocus, timeout=5_000)
    wheel_over(console, idle, 1)
    assert idle.value() == before + 1


# -- 4 and 22: the console's own API key, and when keys were last used ----------------------------

def click_key_row(settings: Any, qtbot: QtBot, key_id: str) -> None:
    table = settings.keys_table
    rect = table.visualRect(settings.keys.index(settings.keys.row_of(key_id), 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def key_cell(settings: Any, key_id: str, title: str) -> str:
    column = next(i for i, c in enumerate(settings.keys.columns)
                  if c.title == title or c.title.startswith(f"{title} ("))  # "Last used (CET)"
    return str(settings.keys.data(settings.keys.index(settings.keys.row_of(key_id), column)))


def test_the_console_refuses_to_revoke_its_own_key(console: Console, qtbot: QtBot,
                                                   engine_server: RunningEngine) -> None:
    other = run_api(engine_server, lambda api: api.create_api_key("Nightly export", ["read"]))
    settings = console.view("settings")
    keys = {str(r["id"]): r for r in settings.keys.records}
    own = next(ident for ident, r in keys.items() if r.get("current"))
    assert engine_server.api_key.startswith(str(keys[own]["prefix"]))
    assert key_cell(settings, own, "State") == "In use here"
    assert key_cell(settings, own, "Last used") != "Never"  # the console has just used it
    assert key_cell(settings, other["id"], "Last used") == "Never"

    click_key_row(settings, qtbot, own)
    qtbot.mouseClick(settings.revoke_button, Qt.MouseButton.LeftButton)
    box = settings.confirmation
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "cannot revoke it" in box.text() and "Revoke" not in [b.text() for b in box.buttons()]
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert run_api(engine_server, lambda api: api.organization())["id"]  # the key still works

    click_key_row(settings, qtbot, other["id"])  # another key is revoked after a confirmation
    qtbot.mouseClick(settings.revoke_button, Qt.MouseButton.LeftButton)
    box = settings.confirmation
    assert isinstance(box, QMessageBox) and "Nightly export" in box.text()
    revoke = next(b for b in box.buttons() if b.text() == "Revoke")
    qtbot.mouseClick(revoke, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: key_cell(settings, other["id"], "State") == "Revoked", timeout=10_000)
    assert {str(r["id"]) for r in settings.keys.records} >= set(keys) | {other["id"]}  # none vanish
    assert key_cell(settings, own, "State") == "In use here"


# -- 16: the connection state ------------------------------------------------------------------------

def test_one_lost_health_check_does_not_say_disconnected(console: Console, qtbot: QtBot) -> None:
    """A request lost on a connection the server closed under it (a ReadError) while the engine
    answers: the check is tried again at once, and the status bar stays green."""
    window = console.window
    qtbot.waitUntil(lambda: window.connection_state == "connected", timeout=10_000)
    states: list[str] = []
    show_state = window._set_state
    window._set_state = lambda state: (states.append(state), show_state(state))  # type: ignore[method-assign]
    window._health_failed(httpx.ReadError(""))
    assert window.connection_state == "connected"
    qtbot.waitUntil(lambda: window._health_failures == 0, timeout=10_000)  # the retry answered
    assert "disconnected" not in states and window.connection_state == "connected"
    assert window.connection_dot.property("state") == "connected"


def test_an_engine_that_does_not_answer_is_disconnected(qapp: QApplication, qtbot: QtBot) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = open_session(EngineInfo(f"http://127.0.0.1:{port}", "remote"), "sb_no_engine_here",
                           persist_theme=False, events=False)
    try:
        qtbot.waitUntil(lambda: session.window.connection_state == "disconnected", timeout=15_000)
        assert session.window.connection_text.text().startswith("Disconnected from remote engine")
    finally:
        session.close()


def test_idle_connections_are_dropped_before_the_engine_drops_them() -> None:
    """The engine's uvicorn closes a connection idle for ``timeout_keep_alive``; the console must
    not send a request on one that old."""
    assert KEEPALIVE_EXPIRY_S < uvicorn.Config(app=None).timeout_keep_alive


# -- 19: the Usage periods ---------------------------------------------------------------------------

def usage_row(day: date, cost: int = 1000) -> dict[str, Any]:
    return {"day": day.isoformat(), "kind": "stt", "quantity": 60.0, "unit": "seconds",
            "cost_micro_usd": cost}


def test_a_period_of_n_days_charts_n_days_up_to_today() -> None:
    today = date(2026, 12, 7)
    first = period_start(7, today)
    assert first == date(2026, 12, 1)
    # usage on 3 of the 7 days, none today: the chart still has 7 bars and ends today
    table = arrange([usage_row(date(2026, 12, 1)), usage_row(date(2026, 12, 3)),
                     usage_row(date(2026, 12, 6), 500)], first, today)
    assert table.periods == [date(2026, 12, d) for d in range(1, 8)]
    assert table.cost["stt"] == [1000, 0, 1000, 0, 0, 500, 0]
    assert (table.first, table.last, table.span_days) == (first, today, 7)
    assert [r["day"] for r in table.daily] == ["2026-12-06", "2026-12-03", "2026-12-01"]

    month = arrange([usage_row(date(2026, 11, 8))], period_start(30, today), today)
    assert len(month.periods) == 30 and month.periods[-1] == today
    everything = arrange([usage_row(date(2026, 9, 1))], period_start(None, today), today)
    assert everything.weekly and everything.first == date(2026, 9, 1) and everything.last == today
    assert everything.periods[-1] == today - timedelta(days=today.weekday())  # this week's bar


def choose(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Pick an item the way a user does: open the combo's list, click the item."""
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # a list just opened ignores a release
    row = combo.findText(text)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(view.model().index(row, 0)).center())
    qtbot.waitUntil(lambda: combo.currentText() == text, timeout=5_000)


def test_usage_periods_count_their_days_and_end_today(demo_console: Console, qtbot: QtBot) -> None:
    usage = demo_console.view("usage")
    today = datetime.now(UTC).date()
    for text, days in (("Last 7 days", 7), ("Last 30 days", 30)):
        choose(qtbot, usage.range, text)
        qtbot.waitUntil(lambda: usage.is_loaded, timeout=LOAD_TIMEOUT_MS)
        table = usage.usage
        assert len(table.periods) == days and table.span_days == days, text
        assert table.last == today and table.periods[-1] == today, text
        assert len(table.daily) <= days and usage.table_model.rowCount() <= days
        assert f"of {days} days with usage" in usage.subtitle.text()
        assert f"{today:%b} {today.day})" in usage.chart_title.text()
        assert bars(usage) == days
    choose(qtbot, usage.range, "All time")  # the demo's 31 days: two of them share a day number
    qtbot.waitUntil(lambda: usage.is_loaded, timeout=LOAD_TIMEOUT_MS)
    assert usage.usage.last == today and f"{today:%b} {today.day})" in usage.chart_title.text()
    assert bars(usage) == len(usage.usage.periods)


def bars(usage: Any) -> int:
    """The bars the chart draws: one per category of its axis."""
    axis = next(a for a in usage.chart.axes() if isinstance(a, QBarCategoryAxis))
    return int(axis.count())


# -- 22: Quit -------------------------------------------------------------------------------------

def test_file_quit_closes_the_console(console: Console, qtbot: QtBot) -> None:
    window = console.window
    bar = window.menuBar()
    file_menu = next(a.menu() for a in bar.actions() if a.text() == "&File")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(file_menu.menuAction()).center())
    qtbot.waitUntil(file_menu.isVisible, timeout=5_000)
    quit_action = next(a for a in file_menu.actions() if a.text() == "&Quit")
    assert quit_action.shortcut().toString() == "Ctrl+Q"
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # a menu just opened ignores a release
    qtbot.mouseClick(file_menu, Qt.MouseButton.LeftButton,
                     pos=file_menu.actionGeometry(quit_action).center())
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


def test_ctrl_q_closes_the_console(console: Console, qtbot: QtBot) -> None:
    window = console.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


def test_the_view_menu_and_its_shortcuts_open_the_views(console: Console, qtbot: QtBot,
                                                        raised: list[ExcInfo]) -> None:
    window = console.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    for number, (name, _) in enumerate(NAVIGATION, start=1):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is window.views[name]
    qtbot.keyClick(window, Qt.Key.Key_F9)
    qtbot.waitUntil(window.softphone.isVisible, timeout=5_000)
    assert window.softphone.toggleViewAction() in window.view_menu.actions()
    window.softphone.hide()
    for number, (name, title) in enumerate(NAVIGATION, start=1):  # the menu's entries, clicked
        action = next(a for a in window.view_menu.actions() if a.text() == f"{title}\tCtrl+{number}")
        bar = window.menuBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                         pos=bar.actionGeometry(window.view_menu.menuAction()).center())
        qtbot.waitUntil(window.view_menu.isVisible, timeout=5_000)
        qtbot.wait(QApplication.doubleClickInterval() + 100)  # a menu just opened ignores a release
        qtbot.mouseClick(window.view_menu, Qt.MouseButton.LeftButton,
                         pos=window.view_menu.actionGeometry(action).center())
        qtbot.waitUntil(lambda n=name: window.stack.currentWidget() is window.views.get(n),
                        timeout=5_000)
    assert not raised, raised
