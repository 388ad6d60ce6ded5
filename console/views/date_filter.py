"""DateFilter: an optional day for a list's filter bar.

Empty it shows its placeholder ("From date") and filters nothing. A day is typed in the locale's
short format (with a four-digit year; ISO ``yyyy-MM-dd`` works too) or picked from a calendar
popup (the field's calendar button, or Alt+Down / F4); the field's clear button, emptying the
text, or "Any date" in the popup go back to no day.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QLocale, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeyEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCalendarWidget, QFrame, QLineEdit, QPushButton, QVBoxLayout, QWidget

ANY_DATE = "Any date"
ISO_FORMAT = "yyyy-MM-dd"
TWO_DIGIT_PIVOT = 1970  # a two-digit year below this is read as 20xx (Qt reads "26" as 1926)
ICON_SIZE = 16
DAY_PADDING = 18  # px around a weekday's name in the calendar's header
ROW_PADDING = 10  # px above and below a row of the calendar


def short_format(locale: QLocale | None = None) -> str:
    """The locale's short date format with a four-digit year (a two-digit one is ambiguous)."""
    fmt = (locale or QLocale()).dateFormat(QLocale.FormatType.ShortFormat)
    if "yyyy" not in fmt:
        fmt = fmt.replace("yy", "yyyy")
    return fmt


def parse_day(text: str, locale: QLocale | None = None) -> QDate | None:
    """A typed day in the locale's short format (four- or two-digit year) or ISO, else None."""
    locale = locale or QLocale()
    text = text.strip()
    two_digit = locale.dateFormat(QLocale.FormatType.ShortFormat)
    for fmt in (short_format(locale), ISO_FORMAT, two_digit):
        day = locale.toDate(text, fmt)
        if day.isValid():
            if "yyyy" not in fmt and day.year() < TWO_DIGIT_PIVOT:
                day = day.addYears(100)
            return day
    return None


def calendar_icon(color: QColor) -> QIcon:
    """A small calendar pictogram in ``color`` (no calendar icon ships with Qt's styles)."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(color, 1.4))
    painter.drawRoundedRect(2, 3, 12, 11, 2, 2)
    painter.drawLine(2, 6, 14, 6)
    painter.drawLine(5, 1, 5, 4)
    painter.drawLine(11, 1, 11, 4)
    for x in (5, 8, 11):
        for y in (9, 12):
            painter.drawPoint(x, y)
    painter.end()
    return QIcon(pixmap)


class CalendarPopup(QFrame):
    """The popup under a DateFilter: a month calendar and an "Any date" button."""

    picked = Signal(object)  # QDate, or None for "Any date"

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("calendarPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(False)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        metrics, short = self.calendar.fontMetrics(), QLocale.FormatType.ShortFormat
        widest_day = max(metrics.horizontalAdvance(QLocale().dayName(d, short)) for d in range(1, 8))
        self.calendar.setMinimumWidth(7 * (widest_day + DAY_PADDING))
        # the month bar, the weekday names and six weeks
        self.calendar.setMinimumHeight(8 * (metrics.height() + ROW_PADDING))
        self.calendar.clicked.connect(lambda day: self.picked.emit(day))
        self.calendar.activated.connect(lambda day: self.picked.emit(day))  # Return on a day
        self.any_button = QPushButton(ANY_DATE, self)
        self.any_button.setToolTip("No date: calls of any day")
        self.any_button.clicked.connect(lambda: self.picked.emit(None))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.calendar)
        layout.addWidget(self.any_button)

    def open_at(self, anchor: QWidget, day: QDate | None) -> None:
        shown = day or QDate.currentDate()
        self.calendar.setSelectedDate(shown)
        self.calendar.setCurrentPage(shown.year(), shown.month())
        self.adjustSize()
        self.move(anchor.mapToGlobal(QPoint(0, anchor.height())))
        self.show()
        self.calendar.setFocus()


class DateFilter(QLineEdit):
    """A day or none. ``day_changed`` fires when the day changes (typing: once it is finished);
    ``problem`` carries a plain message when typed text is not a date (the day stays)."""

    day_changed = Signal()
    problem = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._day: QDate | None = None
        self._setting = False
        self.format = short_format()
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.setToolTip(f"{placeholder}: type it as {self._example()} or pick it from the calendar")
        self.calendar_action = QAction(calendar_icon(self.palette().placeholderText().color()),
                                       "Pick a date", self)
        self.calendar_action.setToolTip("Pick a date (Alt+Down)")
        self.calendar_action.triggered.connect(self.open_calendar)
        self.addAction(self.calendar_action, QLineEdit.ActionPosition.TrailingPosition)
        self.popup = CalendarPopup(self)
        self.popup.picked.connect(self._picked)
        self.editingFinished.connect(self._typed)
        self.textChanged.connect(self._text_changed)
        self.setFixedWidth(self.fontMetrics().horizontalAdvance(self._example()) + 3 * ICON_SIZE + 24)

    def _example(self) -> str:
        return QLocale().toString(QDate(2026, 12, 31), self.format)

    def day(self) -> QDate | None:
        return self._day

    def set_day(self, day: QDate | None, *, notify: bool = True) -> None:
        changed = day != self._day
        self._day = day
        self._setting = True  # not blockSignals: the clear button follows textChanged
        self.setText("" if day is None else QLocale().toString(day, self.format))
        self._setting = False
        if changed and notify:
            self.day_changed.emit()

    def open_calendar(self) -> None:
        self.popup.open_at(self, self._day)

    def _picked(self, day: QDate | None) -> None:
        self.popup.hide()
        self.set_day(day)

    def _text_changed(self, text: str) -> None:
        if not text and self._day is not None and not self._setting:
            self.set_day(None)  # the clear button, or the text deleted

    def _typed(self) -> None:
        text = self.text().strip()
        if not text:
            self.set_day(None)
            return
        day = parse_day(text)
        if day is None:
            self.problem.emit(f"“{text}” is not a date: type it as {self._example()}")
            self.set_day(self._day, notify=False)
            return
        self.set_day(day)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt_down = (event.key() == Qt.Key.Key_Down
                    and event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if alt_down or event.key() == Qt.Key.Key_F4:
            self.open_calendar()
            return
        super().keyPressEvent(event)
