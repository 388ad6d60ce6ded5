"""The Calls view as a user works it: date filters picked from the calendar or typed, header
clicks that sort through the API with the arrow pointing the way the list runs, and a filter bar
that fits a 1100x700 window with the softphone open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QDate, QLocale, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QPushButton, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from console.models.calls import NO_SORT_TIP
from console.views.calls import (
    DETAIL_MIN_WIDTH,
    SWAPPED_DATES,
    TABLE_MIN_WIDTH,
    CallsView,
    combo_text_room,
)
from console.views.date_filter import DateFilter
from engine.client import Record
from tests.harness.live_console import Console

pytestmark = pytest.mark.timeout(180)
LOAD_MS = 20_000
AGENT_COLUMN = 4


def loaded_view(console: Console, qtbot: QtBot) -> CallsView:
    calls: CallsView = console.view("calls")
    qtbot.waitUntil(lambda: calls.model.pages_fetched > 0 and not calls.model.loading, timeout=LOAD_MS)
    return calls


def wait_for_query(calls: CallsView, qtbot: QtBot, **wanted: object) -> None:
    def arrived() -> bool:
        query = calls.model.query
        return (all(getattr(query, k) == v for k, v in wanted.items())
                and calls.model.pages_fetched > 0 and not calls.model.loading)
    qtbot.waitUntil(arrived, timeout=LOAD_MS)


def local_midnight_utc(day: QDate) -> str:
    local = datetime(day.year(), day.month(), day.day()).astimezone()
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar_button(edit: DateFilter) -> QToolButton:
    return next(b for b in edit.findChildren(QToolButton) if b.defaultAction() is edit.calendar_action)


def open_calendar(edit: DateFilter, qtbot: QtBot) -> None:
    qtbot.mouseClick(calendar_button(edit), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(edit.popup.isVisible, timeout=5_000)


def click_day(edit: DateFilter, qtbot: QtBot, day_number: int) -> None:
    """Click the day numbered ``day_number`` of the month the popup shows (a day from 8 to 22
    appears once in the six-week grid)."""
    grid = edit.popup.calendar.findChild(QAbstractItemView, "qt_calendar_calendarview")
    assert grid is not None
    model = grid.model()
    cells = [model.index(r, c) for r in range(model.rowCount()) for c in range(model.columnCount())]
    cell = next(i for i in cells if str(model.data(i)) == str(day_number))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.visualRect(cell).center())


def click_header(calls: CallsView, qtbot: QtBot, column: int) -> None:
    header = calls.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def in_order(values: list[object], order: str) -> bool:
    keyed = [(v is not None, v if v is not None else "") for v in values]
    return keyed == sorted(keyed, reverse=order == "desc")


# -- date filters ---------------------------------------------------------------------------------


def test_dates_start_empty_and_are_picked_from_the_calendar(demo_console: Console, qtbot: QtBot) -> None:
    calls = loaded_view(demo_console, qtbot)
    since, until = calls.since, calls.until
    assert (since.text(), since.placeholderText()) == ("", "From date")
    assert (until.text(), until.placeholderText()) == ("", "To date")
    assert since.day() is None and calls.model.query.since is None and calls.model.query.until is None
    total = calls.model.total

    open_calendar(since, qtbot)
    calendar = since.popup.calendar
    today = QDate.currentDate()
    assert (calendar.yearShown(), calendar.monthShown()) == (today.year(), today.month())
    previous_month = calendar.findChild(QToolButton, "qt_calendar_prevmonth")
    assert previous_month is not None
    qtbot.mouseClick(previous_month, Qt.MouseButton.LeftButton)
    shown = QDate(calendar.yearShown(), calendar.monthShown(), 1)
    assert shown == QDate(today.year(), today.month(), 1).addMonths(-1)
    click_day(since, qtbot, 10)
    first = QDate(shown.year(), shown.month(), 10)
    assert not since.popup.isVisible()
    assert since.day() == first
    assert since.text() == QLocale().toString(first, since.format)
    wait_for_query(calls, qtbot, since=local_midnight_utc(first))

    open_calendar(until, qtbot)
    assert until.popup.calendar.monthShown() == today.month()  # no day yet: this month
    qtbot.mouseClick(until.popup.calendar.findChild(QToolButton, "qt_calendar_prevmonth"),
                     Qt.MouseButton.LeftButton)
    click_day(until, qtbot, 20)
    last = QDate(shown.year(), shown.month(), 20)
    wait_for_query(calls, qtbot, since=local_midnight_utc(first),
                   until=local_midnight_utc(last.addDays(1)))  # the To day is included
    assert calls.model.total < total
    low, high = local_midnight_utc(first), local_midnight_utc(last.addDays(1))
    assert all(low <= r["initiated_at"] < high for r in calls.model.records)

    # "Any date" in the popup takes the day back off
    open_calendar(until, qtbot)
    assert until.popup.calendar.selectedDate() == last
    any_date = until.popup.findChild(QPushButton)
    assert any_date is not None and any_date.text() == "Any date"
    qtbot.mouseClick(any_date, Qt.MouseButton.LeftButton)
    assert not until.popup.isVisible() and until.day() is None and until.text() == ""
    wait_for_query(calls, qtbot, since=local_midnight_utc(first), until=None)

    # and so does the field's clear button
    clear = next(b for b in since.findChildren(QToolButton)
                 if b.defaultAction() is not None and b.isVisible()
                 and b.defaultAction().objectName() == "_q_qlineeditclearaction")
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert since.day() is None
    wait_for_query(calls, qtbot, since=None, until=None)
    assert calls.model.total == total


def test_a_typed_date_in_the_locale_format_filters(demo_console: Console, qtbot: QtBot) -> None:
    calls = loaded_view(demo_console, qtbot)
    day = QDate.currentDate().addDays(-3)
    typed = QLocale().toString(day, calls.since.format)
    qtbot.mouseClick(calls.since, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(calls.since, typed)
    qtbot.keyClick(calls.since, Qt.Key.Key_Return)
    assert calls.since.day() == day
    wait_for_query(calls, qtbot, since=local_midnight_utc(day))

    qtbot.keyClick(calls.since, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(calls.since, "next tuesday")
    qtbot.keyClick(calls.since, Qt.Key.Key_Return)
    assert calls.since.day() == day  # the day stays, its text comes back, the user is told why
    assert calls.since.text() == typed
    assert "not a date" in calls.note.text() and QLocale().toString(QDate(2026, 12, 31),
                                                                     calls.since.format) in calls.note.text()
    assert calls.model.query.since == local_midnight_utc(day)
    calls.clear_filters()
    wait_for_query(calls, qtbot, since=None)


def test_a_to_date_before_the_from_date_is_swapped(demo_console: Console, qtbot: QtBot) -> None:
    calls = loaded_view(demo_console, qtbot)
    early, late = QDate.currentDate().addDays(-9), QDate.currentDate().addDays(-2)
    for edit, day in ((calls.since, late), (calls.until, early)):
        qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
        qtbot.keyClicks(edit, QLocale().toString(day, edit.format))
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert (calls.since.day(), calls.until.day()) == (early, late)
    assert calls.note.text() == SWAPPED_DATES
    wait_for_query(calls, qtbot, since=local_midnight_utc(early), until=local_midnight_utc(late.addDays(1)))
    qtbot.mouseClick(calls.clear_button, Qt.MouseButton.LeftButton)
    assert calls.since.text() == calls.until.text() == calls.note.text() == ""
    wait_for_query(calls, qtbot, since=None, until=None)


# -- sorting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "key", "field"), [
    (5, "status", "status"), (2, "from_number", "from_number"), (1, "direction", "direction"),
    (AGENT_COLUMN, "agent_id", "agent_id"), (8, "cost_total_micro_usd", "cost_total_micro_usd"),
])
def test_header_clicks_sort_through_the_api_and_flip(demo_console: Console, qtbot: QtBot, column: int,
                                                     key: str, field: str) -> None:
    calls = loaded_view(demo_console, qtbot)
    header = calls.table.horizontalHeader()
    assert header.arrow_points_up(0) is False  # newest first: the arrow points down
    first = "desc" if key == "cost_total_micro_usd" else "asc"
    second = "asc" if first == "desc" else "desc"
    for order in (first, second):
        click_header(calls, qtbot, column)
        wait_for_query(calls, qtbot, sort_by=key, sort_order=order)
        assert header.sortIndicatorSection() == column
        assert header.arrow_points_up(column) is (order == "asc")
        assert header.arrow_points_up(0) is None
        values: list[object] = [r.get(field) for r in calls.model.records]
        assert len(values) == 100 and in_order(values, order), values
    # back to the default sort for the tests after
    click_header(calls, qtbot, 0)
    wait_for_query(calls, qtbot, sort_by="initiated_at", sort_order="desc")


def test_a_column_that_cannot_sort_does_nothing_and_says_so(demo_console: Console, qtbot: QtBot) -> None:
    calls = loaded_view(demo_console, qtbot)
    click_header(calls, qtbot, 6)  # Duration
    wait_for_query(calls, qtbot, sort_by="duration_seconds", sort_order="desc")
    query, fetched = calls.model.query, calls.model.pages_fetched
    header = calls.table.horizontalHeader()
    for column in (3, 7):  # To, Sentiment
        assert calls.model.headerData(column, Qt.Orientation.Horizontal,
                                      Qt.ItemDataRole.ToolTipRole) == NO_SORT_TIP
        click_header(calls, qtbot, column)
        assert calls.model.query == query and calls.model.pages_fetched == fetched
        assert header.sortIndicatorSection() == 6 and header.arrow_points_up(6) is False
    assert "sort" in calls.model.headerData(6, Qt.Orientation.Horizontal,
                                            Qt.ItemDataRole.ToolTipRole).lower()
    click_header(calls, qtbot, 0)
    wait_for_query(calls, qtbot, sort_by="initiated_at", sort_order="desc")


# -- layout ---------------------------------------------------------------------------------------


def _text_fits(widget: QWidget) -> bool:
    """Whether the widget is at least as wide as it needs for its own text."""
    if isinstance(widget, QComboBox):  # its "Any …" text, whole in the style's edit field
        return combo_text_room(widget) >= widget.fontMetrics().horizontalAdvance(widget.itemText(0))
    return widget.width() >= widget.minimumSizeHint().width()


def test_filter_bar_fits_1100x700_with_the_softphone_open(demo_console: Console, qtbot: QtBot) -> None:
    window = demo_console.window
    calls = loaded_view(demo_console, qtbot)
    window.resize(1100, 700)
    window.softphone.show()
    qtbot.waitUntil(lambda: window.width() == 1100 and window.softphone.isVisible(), timeout=5_000)
    qtbot.waitUntil(lambda: calls.filter_bar.wrapped is True, timeout=5_000)
    bar = calls.filter_bar
    try:
        widgets = [calls.search, calls.since, calls.until, calls.clear_button, calls.status,
                   calls.direction, calls.agent, calls.campaign]
        for widget in widgets:
            assert widget.isVisible()
            assert _text_fits(widget), (type(widget).__name__, widget.width())
            right = widget.mapTo(bar, QPoint(widget.width(), 0)).x()
            assert right <= bar.width(), (type(widget).__name__, right, bar.width())
        assert window.width() == 1100  # the bar wrapped instead of widening the window
        # the list keeps a readable width: the detail goes under it
        qtbot.waitUntil(lambda: calls.splitter.orientation() == Qt.Orientation.Vertical,
                        timeout=5_000)
        qtbot.waitUntil(lambda: calls.table.height() >= 150 and calls.detail.height() >= 200,
                        timeout=5_000)
        assert calls.table.width() >= TABLE_MIN_WIDTH
        # long agent names are elided in their cells and whole in the tooltip
        row = next(i for i, r in enumerate(calls.model.records) if r.get("agent_name"))
        record: Record = calls.model.records[row]
        tip = calls.model.data(calls.model.index(row, AGENT_COLUMN), Qt.ItemDataRole.ToolTipRole)
        assert tip == record["agent_name"]
        # wide enough, the filters go back to one row
        window.softphone.hide()
        window.resize(1700, 900)
        qtbot.waitUntil(lambda: bar.wrapped is False, timeout=5_000)
        assert bar.width() >= bar.one_row_width()
        assert all(w.isVisible() and _text_fits(w) for w in widgets)
        qtbot.waitUntil(lambda: calls.splitter.orientation() == Qt.Orientation.Horizontal,
                        timeout=5_000)
        assert calls.detail.width() >= DETAIL_MIN_WIDTH
    finally:
        window.softphone.hide()
        window.resize(1400, 900)
