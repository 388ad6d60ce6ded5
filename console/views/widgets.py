"""Small building blocks shared by the views: headings, cards, confirmations, field errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.views.elide import ElidingDelegate

ROW_HEIGHT = 30  # fixed table row height: rows are never measured one by one

T = TypeVar("T")


def heading(title: str, subtitle: str = "") -> tuple[QWidget, QLabel]:
    """A view's title with a muted subtitle; returns the block and the subtitle label."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    title_label = QLabel(title)
    title_label.setObjectName("viewTitle")
    sub = QLabel(subtitle)
    sub.setObjectName("viewSubtitle")
    layout.addWidget(title_label)
    layout.addWidget(sub)
    return box, sub


def section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    return label


def bound(action: Callable[[T], object], value: T) -> Callable[[], None]:
    """A click handler that calls ``action(value)``. (A ``lambda n=value: ...`` is not one: Qt's
    ``clicked`` hands a callable that takes an argument its ``checked`` flag.)"""

    def run() -> None:
        action(value)

    return run


def button(text: str, on_click: Callable[[], object] | None = None, *, primary: bool = False,
           danger: bool = False) -> QPushButton:
    widget = QPushButton(text)
    if primary:
        widget.setProperty("primary", True)
    if danger:
        widget.setProperty("danger", True)
    if on_click is not None:
        widget.clicked.connect(on_click)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    return widget


def hbox(*items: QWidget | int | None, spacing: int = 8) -> QHBoxLayout:
    """A row: widgets, ints as fixed spacing, ``None`` as a stretch."""
    layout = QHBoxLayout()
    layout.setSpacing(spacing)
    layout.setContentsMargins(0, 0, 0, 0)
    for item in items:
        if item is None:
            layout.addStretch(1)
        elif isinstance(item, int):
            layout.addSpacing(item)
        else:
            layout.addWidget(item)
    return layout


def card(label: str, value: str = "") -> tuple[QFrame, QLabel]:
    """A small figure card (label above a big value); returns the card and its value label."""
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(14, 10, 14, 10)
    layout.setSpacing(2)
    caption = QLabel(label)
    caption.setObjectName("cardLabel")
    figure = QLabel(value)
    figure.setObjectName("cardValue")
    layout.addWidget(caption)
    layout.addWidget(figure)
    return frame, figure


def table_view(model: object | None = None, *, stretch_last: bool = True) -> QTableView:
    """A read-only table with fixed row height, whole-row selection and a quiet look."""
    view = QTableView()
    if model is not None:
        view.setModel(model)  # type: ignore[arg-type]
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setItemDelegate(ElidingDelegate(view))  # a cut cell shows its whole text as a tooltip
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(ROW_HEIGHT)
    horizontal = view.horizontalHeader()
    horizontal.setHighlightSections(False)
    horizontal.setMinimumSectionSize(36)
    horizontal.setDefaultSectionSize(90)
    horizontal.setStretchLastSection(stretch_last)
    horizontal.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    return view


class PageStack(QStackedWidget):
    """Pages one at a time, sized by the page on show: a page that needs a wide window does
    not make the window wide while another is shown (a plain stack takes the widest page's
    minimum for every page)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentChanged.connect(lambda _: self.updateGeometry())

    def sizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()


def empty_state(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("emptyState")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def confirm(parent: QWidget, title: str, text: str, on_yes: Callable[[], None],
            yes_text: str = "Delete") -> QMessageBox:
    """Ask without blocking: ``on_yes`` runs if the user confirms. Returns the open box."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished() -> None:
        if box.clickedButton() is yes:
            on_yes()

    box.finished.connect(finished)
    box.open()
    return box


def inform(parent: QWidget, title: str, text: str, *, error: bool = False) -> QMessageBox:
    """Tell without blocking."""
    icon = QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


class FieldErrors:
    """Error labels under form fields, keyed by the API's field names (``brain.temperature``)."""

    def __init__(self) -> None:
        self.labels: dict[str, QLabel] = {}
        self.widgets: dict[str, QWidget] = {}

    def add_row(self, form: QFormLayout, label: str, field: str, widget: QWidget) -> None:
        """A form row whose field shows its error message just below it."""
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        error = QLabel()
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        layout.addWidget(error)
        self.labels[field] = error
        self.widgets[field] = widget
        form.addRow(label, holder)

    def clear(self) -> None:
        for field, label in self.labels.items():
            label.hide()
            label.clear()
            self._mark(field, False)

    def show(self, field: str | None, message: str) -> bool:
        """Show the message on the named field (or its closest parent); False if none matches."""
        name = field or ""
        while name and name not in self.labels:
            name = name.rpartition(".")[0]
        if not name:
            return False
        label = self.labels[name]
        prefix = f"{field}: "
        label.setText(message[len(prefix):] if message.startswith(prefix) else message)
        label.show()
        self._mark(name, True)
        return True

    def message(self, field: str) -> str:
        label = self.labels.get(field)
        return label.text() if label is not None and not label.isHidden() else ""

    def _mark(self, field: str, invalid: bool) -> None:
        widget = self.widgets.get(field)
        if widget is not None:
            widget.setProperty("invalid", invalid)
            widget.style().unpolish(widget)
            widget.style().polish(widget)


class WheelGuard(QObject):
    """Wheel events over a spin box or a combo box that has no keyboard focus scroll the page
    around it instead of changing the value under the pointer (Qt's own advice for fields in
    scroll areas). A field still takes the wheel once clicked or tabbed into. Installed once on
    the application (``guard_wheel``), so every form of the console gets it."""

    GUARDED = (QAbstractSpinBox, QComboBox)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, self.GUARDED):
            # the wheel must not hand these fields the focus on its way (Qt::WheelFocus)
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if (kind != QEvent.Type.Wheel or not isinstance(watched, self.GUARDED)
                or watched.hasFocus() or not isinstance(event, QWheelEvent)):
            return False
        area = _scroll_area_around(watched)
        if area is None:  # nothing to scroll: the wheel does nothing here
            event.ignore()
            return True
        viewport = area.viewport()
        forwarded = QWheelEvent(watched.mapTo(viewport, event.position()), event.globalPosition(),
                                event.pixelDelta(), event.angleDelta(), event.buttons(),
                                event.modifiers(), event.phase(), event.inverted(), event.source())
        QApplication.sendEvent(viewport, forwarded)
        return True


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def guard_wheel(app: QApplication) -> WheelGuard:
    """The application's ``WheelGuard``, installed the first time this is called."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
