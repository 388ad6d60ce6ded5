"""A transcript drawn as a conversation: speaker-coloured bubbles, caller left, agent right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from console import formatting as fmt
from console import theme
from console.models.transcript import ENTRY_ROLE, PARTIAL_ROLE, SPEAKER_ROLE, TranscriptModel

BUBBLE_PADDING = 10
BUBBLE_RADIUS = 12
BUBBLE_WIDTH = 0.72  # of the viewport
GAP = 10
CAPTION_GAP = 3
RIGHT_SIDE = frozenset({"agent", "human_agent", "supervisor"})
BOTTOM_SLACK = 24  # px from the end that still count as "at the end" (the view follows new lines)
MARKER_MARGIN = 12

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

    def _wrap(self, text: str, font: QFont) -> tuple[QRect, int]:
        """The text's box and how it wraps: at word boundaries, or anywhere when one word (a SIP
        URI) is wider than the bubble and would run out of it."""
        width = self._bubble_width() - 2 * BUBBLE_PADDING
        metrics = QFontMetrics(font)
        flags = int(Qt.TextFlag.TextWordWrap)
        rect = metrics.boundingRect(QRect(0, 0, width, 100_000), flags, text or " ")
        if rect.width() > width:
            flags = int(Qt.TextFlag.TextWrapAnywhere)
            rect = metrics.boundingRect(QRect(0, 0, width, 100_000), flags, text or " ")
        return rect, flags

    def _text_rect(self, text: str, font: QFont) -> QRect:
        return self._wrap(text, font)[0]

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
        text_rect, wrap_flags = self._wrap(text, body)
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
        name = parts[0]
        caption_rect = QRect(area.left(), area.top(), area.width(), caption_height)
        rest = " · ".join(p for p in parts[1:] if p)
        name_font = QFont(caption)
        name_font.setWeight(QFont.Weight.DemiBold)
        name_width = QFontMetrics(name_font).horizontalAdvance(name)
        rest_text = f" · {rest}" if rest else ""
        rest_width = QFontMetrics(caption).horizontalAdvance(rest_text)
        start = caption_rect.right() - name_width - rest_width if right else caption_rect.left()
        painter.setFont(name_font)
        painter.setPen(QColor(speaker_accent(speaker)))
        painter.drawText(QRect(start, caption_rect.top(), name_width + 1, caption_height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)
        painter.setFont(caption)
        painter.setPen(QColor(colors.muted))
        painter.drawText(QRect(start + name_width, caption_rect.top(), rest_width + 1, caption_height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), rest_text)

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
                               text_rect.height()), wrap_flags, text)
        painter.restore()


def speaker_accent(speaker: str) -> str:
    """The colour of a speaker's name above the bubble."""
    c = theme.colors()
    return {"user": c.success, "agent": c.accent, "human_agent": c.kinds["llm"],
            "supervisor": c.kinds["telephony"]}.get(speaker, c.muted)


class TranscriptView(QListView):
    """The conversation. With ``follow`` it keeps to the end as lines arrive while the reader is
    there; scrolled up, new lines raise a "↓ New messages" button that scrolls to the end."""

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
        self.follow = False
        self._at_end = True
        self._empty_text = ""  # said in the middle while there is no line
        self.new_messages = QPushButton("↓ New messages", self.viewport())
        self.new_messages.setObjectName("newMessages")
        self.new_messages.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_messages.clicked.connect(self.scroll_to_end)
        self.new_messages.hide()
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)
        self._connect_model()

    def setModel(self, model: object) -> None:
        super().setModel(model)  # type: ignore[arg-type]
        if hasattr(self, "new_messages"):
            self._connect_model()

    def _connect_model(self) -> None:
        model = self.model()
        model.rowsInserted.connect(self._rows_added)
        model.modelReset.connect(self._reset)

    # -- following the end ------------------------------------------------------------------------

    def at_end(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - BOTTOM_SLACK

    def _scrolled(self) -> None:
        self._at_end = self.at_end()
        if self._at_end:
            self.new_messages.hide()

    def _range_changed(self) -> None:
        if self.follow and self._at_end:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def _rows_added(self) -> None:
        if not self.follow:
            return
        if self._at_end:
            QTimer.singleShot(0, self, self._to_end_if_following)  # not once deleted
        else:
            self._place_marker()
            self.new_messages.show()
            self.new_messages.raise_()

    def _to_end_if_following(self) -> None:
        if self._at_end:
            self.scrollToBottom()

    def _reset(self) -> None:
        self._at_end = True
        self.new_messages.hide()
        if self.follow:
            QTimer.singleShot(0, self, self.scrollToBottom)

    def scroll_to_end(self) -> None:
        self._at_end = True
        self.new_messages.hide()
        self.scrollToBottom()

    def _place_marker(self) -> None:
        self.new_messages.adjustSize()
        size = self.new_messages.sizeHint()
        viewport = self.viewport()
        self.new_messages.setGeometry((viewport.width() - size.width()) // 2,
                                      viewport.height() - size.height() - MARKER_MARGIN,
                                      size.width(), size.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_marker()

    def set_empty_text(self, text: str) -> None:
        """What the view says while it has no line (why there is no conversation)."""
        self._empty_text = text
        self.viewport().update()

    def empty_text(self) -> str:
        return self._empty_text

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._empty_text and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(QColor(theme.colors().muted))
            area = self.viewport().rect().adjusted(24, 24, -24, -24)
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                             self._empty_text)
            painter.end()

    def transcript(self) -> TranscriptModel:
        model = self.model()
        assert isinstance(model, TranscriptModel)
        return model
