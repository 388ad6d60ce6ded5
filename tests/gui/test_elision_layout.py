"""Texts too long for their place end in "…" and show whole in a tooltip; table headers are as
wide as their titles; the agent form fits a 1100×700 window, with the softphone dock open too."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QTableView, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from tests.harness.live_console import WINDOW_SIZE, Console

SMALL_WINDOW = (1100, 700)
ELLIPSIS = "…"
LOAD_TIMEOUT_MS = 20_000


@pytest.fixture
def small_window(demo_console: Console) -> Any:
    window = demo_console.window
    window.resize(*SMALL_WINDOW)
    QApplication.processEvents()
    yield window
    window.softphone.hide()
    window.resize(*WINDOW_SIZE)


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def _painted(label: QLabel) -> str:
    """The text the label paints (QLabel's own, not an override's whole text)."""
    return QLabel.text(label)


def _open_call(calls: Any, qtbot: QtBot, row: int) -> None:
    detail = calls.detail
    if detail.call is not None and detail.call.get("id") == calls.model.records[row]["id"]:
        return
    with qtbot.waitSignal(detail.loaded, timeout=LOAD_TIMEOUT_MS):
        calls.table.selectRow(row)


def _cell_tooltip(view: QTableView, row: int, column: int) -> str:
    """Hover a cell the way the user does: the tooltip Qt shows for it."""
    QToolTip.hideText()
    rect = view.visualRect(view.model().index(row, column))
    viewport = view.viewport()
    event = QHelpEvent(QEvent.Type.ToolTip, rect.center(), viewport.mapToGlobal(rect.center()))
    QApplication.sendEvent(viewport, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


@pytest.mark.timeout(180)
def test_a_long_call_title_ends_in_an_ellipsis_and_shows_whole_in_its_tooltip(
        demo_console: Console, small_window: Any, qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    row = max(range(len(calls.model.records)), key=lambda i: len(
        f"{calls.model.records[i].get('from_number')}{calls.model.records[i].get('to_number')}"))
    _open_call(calls, qtbot, row)
    _settle()
    headline = calls.detail.headline
    record = calls.model.records[row]
    whole = f"{record['from_number']}  →  {record['to_number']}"
    metrics = headline.fontMetrics()
    assert metrics.horizontalAdvance(whole) > headline.contentsRect().width(), "the title fits"
    painted = _painted(headline)
    assert painted.endswith(ELLIPSIS) and whole.startswith(painted[:-1].rstrip())
    assert metrics.horizontalAdvance(painted) <= headline.contentsRect().width()
    assert headline.toolTip() == whole


@pytest.mark.timeout(180)
def test_a_cut_event_name_shows_whole_in_its_tooltip(demo_console: Console, small_window: Any,
                                                     qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    row = next(i for i, r in enumerate(calls.model.records) if r.get("status") == "completed")
    _open_call(calls, qtbot, row)
    detail = calls.detail
    detail.tabs.setCurrentWidget(detail.events_view)
    _settle()
    view, model = detail.events_view, detail.events_model
    names = [str(model.data(model.index(i, 1))) for i in range(model.rowCount())]
    longest = max(range(len(names)), key=lambda i: len(names[i]))
    # the events list as it opens shows each name whole...
    width = view.fontMetrics().horizontalAdvance(names[longest])
    assert view.horizontalHeader().sectionSize(1) >= width
    assert _cell_tooltip(view, longest, 1) == ""
    # ...and a name cut short (the user narrowed the column) shows whole when hovered
    view.horizontalHeader().resizeSection(1, width // 2)
    _settle()
    assert _cell_tooltip(view, longest, 1) == names[longest]


@pytest.mark.timeout(180)
def test_cut_structured_data_shows_whole_in_its_tooltip(demo_console: Console, small_window: Any,
                                                         qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    detail = calls.detail
    for row, record in enumerate(calls.model.records):
        if record.get("status") != "completed":
            continue
        _open_call(calls, qtbot, row)
        if detail.structured_model.rowCount():
            break
    detail.tabs.setCurrentIndex(2)
    _settle()
    view, model = detail.structured_view, detail.structured_model
    keys = [str(model.data(model.index(row, 0))) for row in range(model.rowCount())]
    # the field names show whole as the tab opens, with no tooltip repeating them
    assert view.horizontalHeader().sectionSize(0) >= max(map(view.fontMetrics().horizontalAdvance,
                                                             keys))
    assert [_cell_tooltip(view, row, 0) for row in range(len(keys))] == [""] * len(keys)
    view.horizontalHeader().resizeSection(0, 40)  # too narrow for any field name
    _settle()
    assert view.fontMetrics().horizontalAdvance(keys[0]) > 40
    assert _cell_tooltip(view, 0, 0) == keys[0]


def _headers_fit(view: QTableView) -> list[tuple[str, int, int]]:
    """Sections narrower than their title: (title, width, needed)."""
    header = view.horizontalHeader()
    model = view.model()
    short = []
    for section in range(model.columnCount()):
        if header.isSectionHidden(section):
            continue
        title = str(model.headerData(section, header.orientation()))
        needed = header.sectionSizeFromContents(section).width()  # title, padding, sort arrow
        if header.sectionSize(section) < needed:
            short.append((title, header.sectionSize(section), needed))
    return short


@pytest.mark.timeout(180)
def test_call_detail_headers_are_as_wide_as_their_titles(demo_console: Console, small_window: Any,
                                                         qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    row = next(i for i, r in enumerate(calls.model.records) if r.get("status") == "completed")
    _open_call(calls, qtbot, row)
    detail = calls.detail
    detail.tabs.setCurrentIndex(3)  # Metrics
    _settle()
    for view in (detail.latency_view, detail.cost_view, detail.events_view, detail.structured_view):
        assert _headers_fit(view) == []


def _cut_fields(window: QWidget, area: QScrollArea, fields: list[QWidget]) -> list[str]:
    """Fields not wholly inside the window and the form's scroll area, side to side."""
    viewport = area.viewport()
    window_rect = window.rect()
    cut = []
    for field in fields:
        if not field.isVisibleTo(window):
            continue
        left = field.mapTo(viewport, QPoint(0, 0)).x()
        in_window = field.mapTo(window, QPoint(0, 0)).x()
        rect = QRect(in_window, 0, field.width(), 1)
        if left < 0 or left + field.width() > viewport.width() or not (
                window_rect.left() <= rect.left() and rect.right() <= window_rect.right()):
            cut.append(f"{type(field).__name__} at {left}..{left + field.width()} "
                       f"of {viewport.width()}")
    return cut


@pytest.mark.timeout(180)
@pytest.mark.parametrize("dock", [False, True], ids=["alone", "with the softphone"])
def test_the_agent_form_fits_a_small_window(demo_console: Console, small_window: Any, dock: bool
                                            ) -> None:
    agents = demo_console.view("agents")
    window = small_window
    if dock:
        window.softphone.show()
    _settle()
    assert (window.width(), window.height()) == SMALL_WINDOW
    editor = agents.editor
    area = next(a for a in editor.findChildren(QScrollArea) if a.objectName() == "formScroll")
    assert area.horizontalScrollBar().maximum() == 0, "the form scrolls sideways"
    fields = [binding.widget for binding in editor.form.bindings.values()]
    assert _cut_fields(window, area, fields) == []
    title_bar_buttons = [editor.save_button, editor.delete_button]
    for button in title_bar_buttons:
        origin = button.mapTo(window, QPoint(0, 0)).x()
        assert 0 <= origin and origin + button.width() <= window.width()
