"""A transfer's steps as a vertical timeline: a coloured dot per step (green done, red failed),
the step and its detail (destination, cause, SIP code), the time on the right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QFrame, QListView, QStyledItemDelegate, QStyleOptionViewItem

from console import theme
from console.models.transfer_timeline import DETAIL_ROLE, TIME_ROLE, TONE_ROLE, TransferTimelineModel

ROW_HEIGHT = 40
DOT = 9
RAIL_X = 10
MAX_VISIBLE_ROWS = 6

Index = QModelIndex | QPersistentModelIndex


class StepDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        colors = theme.colors()
        tone = str(index.data(TONE_ROLE) or "")
        rect = option.rect
        last = index.row() == index.model().rowCount() - 1
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre_y = rect.top() + 12
        rail = rect.left() + RAIL_X
        painter.setPen(QPen(QColor(colors.border), 2))
        if index.row() > 0:
            painter.drawLine(rail, rect.top(), rail, centre_y)
        if not last:
            painter.drawLine(rail, centre_y, rail, rect.bottom() + 1)
        dot = QColor({"ok": colors.success, "bad": colors.danger}.get(tone, colors.accent))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(dot)
        painter.drawEllipse(rail - DOT // 2, centre_y - DOT // 2, DOT, DOT)

        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1.0))
        left = RAIL_X + 14
        time_text = str(index.data(TIME_ROLE) or "")
        time_width = QFontMetrics(small).horizontalAdvance(time_text) + 4 if time_text else 0
        text_width = rect.width() - left - time_width - 6
        title = QFontMetrics(title_font).elidedText(str(index.data() or ""), Qt.TextElideMode.ElideRight,
                                                    text_width)
        painter.setFont(title_font)
        painter.setPen(QColor(colors.danger if tone == "bad" else colors.text))
        line_height = QFontMetrics(title_font).height()
        painter.drawText(QRect(rect.left() + left, centre_y - line_height // 2, text_width, line_height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
        painter.setFont(small)
        painter.setPen(QColor(colors.muted))
        if time_text:
            painter.drawText(QRect(rect.right() - time_width, centre_y - line_height // 2, time_width,
                                   line_height),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), time_text)
        detail = str(index.data(DETAIL_ROLE) or "")
        if detail:
            detail = QFontMetrics(small).elidedText(detail, Qt.TextElideMode.ElideRight,
                                                    rect.width() - left - 4)
            small_height = QFontMetrics(small).height()
            painter.drawText(QRect(rect.left() + left, centre_y + line_height // 2, rect.width() - left - 4,
                                   small_height),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), detail)
        painter.restore()


class TransferTimelineView(QListView):
    """The steps, newest at the bottom; it grows with them up to a few rows, then scrolls."""

    def __init__(self, model: TransferTimelineModel) -> None:
        super().__init__()
        self.setObjectName("transferTimeline")
        self.setModel(model)
        self.setItemDelegate(StepDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        model.rowsInserted.connect(self._grow)
        model.modelReset.connect(self._grow)
        self._grow()

    def _grow(self) -> None:
        rows = self.model().rowCount()
        self.setFixedHeight(max(1, min(rows, MAX_VISIBLE_ROWS)) * ROW_HEIGHT + 4)
        self.setVisible(rows > 0)
        self.scrollToBottom()
