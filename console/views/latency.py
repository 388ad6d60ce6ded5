"""Per-turn latency as a waterfall: one bar per agent turn, its stages laid end to end (end of
turn, STT final, brain, TTS first audio, first packet), on a shared millisecond scale."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from console import theme
from console.models.live_call import STAGE_LABELS, TurnLatency, turn_segments, turn_total

BAR_HEIGHT = 12
ROW_GAP = 6
LEGEND_HEIGHT = 22
LABEL_WIDTH = 34
TOTAL_WIDTH = 64


def stage_colors() -> dict[str, QColor]:
    c = theme.colors()
    return {"eou_ms": QColor(c.muted), "stt_ms": QColor(c.kinds["stt"]), "brain_ms": QColor(c.kinds["llm"]),
            "tts_ttfb_ms": QColor(c.kinds["tts"]), "out_ms": QColor(c.kinds["telephony"])}


class LatencyWaterfall(QWidget):
    """The latest turns that fit, newest at the bottom. Repaints are ``update()``s, which Qt
    folds into one paint per frame however many turns arrive."""

    def __init__(self, model: TurnLatency, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latencyWaterfall")
        self.latency = model
        model.changed.connect(self.update)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(LEGEND_HEIGHT + 2 * (BAR_HEIGHT + ROW_GAP))

    def sizeHint(self) -> QSize:
        return QSize(320, LEGEND_HEIGHT + 6 * (BAR_HEIGHT + ROW_GAP))

    def visible_turns(self) -> int:
        return max(1, (self.height() - LEGEND_HEIGHT) // (BAR_HEIGHT + ROW_GAP))

    def paintEvent(self, event: QPaintEvent) -> None:
        c = theme.colors()
        colors = stage_colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1.0))
        painter.setFont(small)
        metrics = QFontMetrics(small)

        x = 0
        for stage, label in STAGE_LABELS:  # the legend
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors[stage])
            painter.drawRoundedRect(x, 6, 9, 9, 2, 2)
            painter.setPen(QColor(c.muted))
            painter.drawText(x + 13, 2, metrics.horizontalAdvance(label) + 2, 16,
                             int(Qt.AlignmentFlag.AlignVCenter), label)
            x += 13 + metrics.horizontalAdvance(label) + 12

        turns = self.latency.turns[-self.visible_turns():]
        if not turns:
            painter.setPen(QColor(c.muted))
            painter.drawText(QRect(0, LEGEND_HEIGHT, self.width(), BAR_HEIGHT + ROW_GAP * 2),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             "No agent turns yet")
            painter.end()
            return
        scale_ms = max(1, max(turn_total(t) for t in turns))
        bar_width = max(40, self.width() - LABEL_WIDTH - TOTAL_WIDTH)
        y = LEGEND_HEIGHT
        for number, turn in enumerate(turns, start=len(self.latency.turns) - len(turns) + 1):
            painter.setPen(QColor(c.muted))
            painter.drawText(QRect(0, y - 2, LABEL_WIDTH - 4, BAR_HEIGHT + 4),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"#{number}")
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c.border))
            painter.drawRoundedRect(LABEL_WIDTH, y, bar_width, BAR_HEIGHT, 3, 3)
            for stage, start, length in turn_segments(turn):
                left = LABEL_WIDTH + round(start * bar_width / scale_ms)
                width = max(2, round(length * bar_width / scale_ms))
                painter.setBrush(colors[stage])
                painter.drawRect(left, y, min(width, LABEL_WIDTH + bar_width - left), BAR_HEIGHT)
            painter.setPen(QColor(c.text))
            painter.drawText(QRect(LABEL_WIDTH + bar_width + 6, y - 2, TOTAL_WIDTH - 6, BAR_HEIGHT + 4),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             f"{turn_total(turn)} ms")
            y += BAR_HEIGHT + ROW_GAP
        painter.end()
