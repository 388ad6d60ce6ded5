"""A transcript drawn as a conversation: speaker-coloured bubbles, caller left, agent right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from console import formatting as fmt
from console import theme
from console.models.transcript import ENTRY_ROLE, PARTIAL_ROLE, SPEAKER_ROLE, TranscriptModel

BUBBLE_PADDING = 10
BUBBLE_RADIUS = 12
BUBBLE_WIDTH = 0.72  # of the viewport
GAP = 10
CAPTION_GAP = 3
RIGHT_SIDE = frozenset({"agent", "human_agent", "supervisor"})

Index = QModelIndex | QPersistentModelIndex


class BubbleDelegate(QStyledItemDelegate):
    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        body = QFont(option.font)
        caption = QFont(option.font)
        caption.setPointSizeF(max(7.0, body.pointSizeF() - 1.5))
        return body, caption

    def _bubble_width(self) -> int:
        return max(160, int(self.view.viewport().width() * BUBBLE_WIDTH))

    def _text_rect(self, text: str, font: QFont) -> QRect:
        width = self._bubble_width() - 2 * BUBBLE_PADDING
        return QFontMetrics(font).boundingRect(QRect(0, 0, width, 100_000),
                                               int(Qt.TextFlag.TextWordWrap), text or " ")

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        body, caption = self._fonts(option)
        text = self._text_rect(str(index.data() or ""), body)
        height = QFontMetrics(caption).height() + CAPTION_GAP + text.height() + 2 * BUBBLE_PADDING + GAP
        return QSize(self.view.viewport().width(), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        entry = index.data(ENTRY_ROLE) or {}
        speaker = str(index.data(SPEAKER_ROLE) or "system")
        partial = bool(index.data(PARTIAL_ROLE))
        text = str(index.data() or "")
        colors = theme.colors()
        body, caption = self._fonts(option)
        caption_height = QFontMetrics(caption).height()
        text_rect = self._text_rect(text, body)
        wrap_width = self._bubble_width() - 2 * BUBBLE_PADDING
        width = max(120, min(self._bubble_width(), text_rect.width() + 2 * BUBBLE_PADDING))
        right = speaker in RIGHT_SIDE
        area = option.rect.adjusted(12, GAP // 2, -12, -GAP // 2)
        left = area.right() - width if right else area.left()
        bubble = QRect(left, area.top() + caption_height + CAPTION_GAP, width,
                       text_rect.height() + 2 * BUBBLE_PADDING)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        parts = [fmt.SPEAKER_LABELS.get(speaker, fmt.label(speaker)), fmt.clock(entry.get("started_at"))]
        if entry.get("voice_to_voice_ms"):
            parts.append(f"{entry['voice_to_voice_ms']} ms")
        if entry.get("interrupted"):
            parts.append("interrupted")
        painter.setFont(caption)
        painter.setPen(QColor(colors.muted))
        caption_rect = QRect(area.left(), area.top(), area.width(), caption_height)
        align = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
        painter.drawText(caption_rect, int(align | Qt.AlignmentFlag.AlignVCenter),
                         " · ".join(p for p in parts if p))

        fill = QColor(colors.speakers.get(speaker, colors.speakers["system"]))
        if option.state & QStyle.StateFlag.State_Selected:
            fill = fill.darker(108)
        painter.setPen(QPen(QColor(colors.border), 1))
        painter.setBrush(fill)
        painter.drawRoundedRect(bubble, BUBBLE_RADIUS, BUBBLE_RADIUS)
        painter.setFont(body)
        painter.setPen(QColor(colors.muted if partial else colors.text))
        # the same wrap width as sizeHint, so the lines break exactly where they were measured
        painter.drawText(QRect(bubble.left() + BUBBLE_PADDING, bubble.top() + BUBBLE_PADDING, wrap_width,
                               text_rect.height()), int(Qt.TextFlag.TextWordWrap), text)
        painter.restore()


class TranscriptView(QListView):
    """The conversation; the model may grow live (it then keeps the view at the bottom)."""

    def __init__(self, model: TranscriptModel | None = None) -> None:
        super().__init__()
        self.setObjectName("transcript")
        self.setModel(model or TranscriptModel(self))
        self.setItemDelegate(BubbleDelegate(self))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSpacing(0)

    def transcript(self) -> TranscriptModel:
        model = self.model()
        assert isinstance(model, TranscriptModel)
        return model
