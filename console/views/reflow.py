"""A form page whose groups stand in two columns when there is room, one under another when not.

The editors' forms sit in a scroll area beside their table; a narrow window, or the softphone
dock open beside it, leaves them less room than two columns of fields need. Rather than cut the
right column off, the page stacks its groups (the scroll area scrolls down instead of sideways).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QLayout, QWidget

COLUMNS = 2
SPACING = 12
RIGHT_MARGIN = 6  # room for the scroll area's bar beside the fields


@dataclass(frozen=True)
class Placement:
    widget: QWidget
    row: int
    column: int
    row_span: int = 1
    column_span: int = 1


class ReflowGrid(QWidget):
    """Groups placed by row and column (two columns); while the page is narrower than the two
    columns want, they stand one under another in row, then column order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, RIGHT_MARGIN, 0)
        self.grid.setHorizontalSpacing(SPACING)
        self.grid.setVerticalSpacing(SPACING)
        self.placements: list[Placement] = []
        self.narrow = False

    def add(self, widget: QWidget, row: int, column: int, row_span: int = 1,
            column_span: int = 1) -> None:
        self.placements.append(Placement(widget, row, column, row_span, column_span))
        self._place()

    def wide_width(self) -> int:
        """How wide the page must be for two columns at their preferred widths."""
        columns = [0] * COLUMNS
        spanning = 0
        for item in self.placements:
            wanted = max(item.widget.sizeHint().width(), item.widget.minimumSizeHint().width())
            if item.column_span > 1:
                spanning = max(spanning, wanted)
            else:
                columns[item.column] = max(columns[item.column], wanted)
        margins = self.grid.contentsMargins()
        both = sum(columns) + SPACING * (COLUMNS - 1)
        return max(both, spanning) + margins.left() + margins.right()

    def narrow_width(self) -> int:
        """The least width one column of groups needs."""
        margins = self.grid.contentsMargins()
        widest = max((item.widget.minimumSizeHint().width() for item in self.placements), default=0)
        return widest + margins.left() + margins.right()

    def minimumSizeHint(self) -> QSize:
        # never wider than one column needs: the page stacks its groups rather than make the
        # scroll area around it scroll sideways
        return QSize(self.narrow_width(), self.grid.totalMinimumSize().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = event.size().width() < self.wide_width()
        if narrow != self.narrow:
            self.narrow = narrow
            self._place()

    def _place(self) -> None:
        for item in self.placements:
            self.grid.removeWidget(item.widget)
        for column in range(COLUMNS):
            self.grid.setColumnStretch(column, 0)
        for row in range(self.grid.rowCount()):
            self.grid.setRowStretch(row, 0)
        if self.narrow:
            ordered = sorted(self.placements, key=lambda item: (item.row, item.column))
            for row, item in enumerate(ordered):
                self.grid.addWidget(item.widget, row, 0)
            self.grid.setColumnStretch(0, 1)
            last = len(ordered)
        else:
            for item in self.placements:
                self.grid.addWidget(item.widget, item.row, item.column, item.row_span,
                                    item.column_span)
            for column in range(COLUMNS):
                self.grid.setColumnStretch(column, 1)
            last = max((item.row + item.row_span for item in self.placements), default=0)
        self.grid.setRowStretch(last, 1)
        self.updateGeometry()




class TitleBar(QWidget):
    """A title with its buttons beside it when they fit, the buttons under it when not."""

    def __init__(self, title: QWidget, buttons: QLayout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.buttons = QWidget()
        self.buttons.setLayout(buttons)
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(SPACING)
        self.box.addWidget(title, 1)
        self.box.addWidget(self.buttons)

    def wide_width(self) -> int:
        return self.title.sizeHint().width() + SPACING + self.buttons.sizeHint().width()

    def stacked(self) -> bool:
        return self.box.direction() == QBoxLayout.Direction.TopToBottom

    def minimumSizeHint(self) -> QSize:
        width = max(self.title.minimumSizeHint().width(), self.buttons.minimumSizeHint().width())
        return QSize(width, self.box.totalMinimumSize().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        direction = (QBoxLayout.Direction.TopToBottom if event.size().width() < self.wide_width()
                     else QBoxLayout.Direction.LeftToRight)
        if direction != self.box.direction():
            self.box.setDirection(direction)
            self.updateGeometry()


__all__ = ["ReflowGrid", "TitleBar"]
