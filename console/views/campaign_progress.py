"""A campaign's progress as it dials: a progress bar of leads done, counters (dialling now,
completed, voicemail, no answer, busy, failed, do not call, answer rate, human / machine), and a
chart of the leads' outcomes (QtCharts, in the Usage view's style)."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QPieSeries
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from console import formatting as fmt
from console import theme
from console.models.campaign_progress import COUNTERS, Figures
from console.views.widgets import section

# the chart's slices, in this order, each in its colour (Tailwind's 500s, as the theme's kinds)
OUTCOME_COLORS = {
    "completed": "#16a34a", "voicemail": "#8b5cf6", "no_answer": "#f59e0b", "busy": "#f97316",
    "failed": "#dc2626", "do_not_call": "#64748b", "canceled": "#94a3b8", "calling": "#4f46e5",
    "pending": "#cbd5e1",
}
COUNTER_COLUMNS = 3
CHART_HEIGHT = 210


class CampaignProgressPanel(QFrame):
    """The progress panel of the campaign view; ``show_stats`` paints a stats answer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        self.title = section("Progress")
        layout.addWidget(self.title)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%v of %m leads done")
        self.bar.setTextVisible(False)  # the summary under it says it in words
        layout.addWidget(self.bar)
        self.summary = QLabel("")
        self.summary.setObjectName("viewSubtitle")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        self.counters: dict[str, QLabel] = {}
        for index, (key, caption) in enumerate(COUNTERS):
            row, column = divmod(index, COUNTER_COLUMNS)
            label = QLabel(caption)
            label.setObjectName("cardLabel")
            value = QLabel("–")
            value.setObjectName("counterValue")
            value.setStyleSheet("font-size: 16px; font-weight: 600;")
            grid.addWidget(label, row * 2, column)
            grid.addWidget(value, row * 2 + 1, column)
            self.counters[key] = value
        layout.addLayout(grid)
        self.chart = QChart()
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self.chart.setMargins(QMargins(2, 2, 2, 2))
        self.chart.setBackgroundVisible(False)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(CHART_HEIGHT)
        self.chart_view.setObjectName("chartView")
        self.chart_view.setStyleSheet("background: transparent; border: none;")
        layout.addWidget(section("Outcomes"))
        layout.addWidget(self.chart_view, 1)
        self.figures: Figures | None = None
        self.slices: dict[str, int] = {}  # what the chart shows: outcome -> leads
        self.clear()

    def clear(self) -> None:
        """No campaign (or one not saved yet)."""
        self.figures = None
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("No leads")
        self.summary.setText("")
        for value in self.counters.values():
            value.setText("–")
        self._draw({})

    def show_stats(self, stats: dict[str, object]) -> None:
        figures = Figures.of(stats)
        self.figures = figures
        self.bar.setRange(0, max(1, figures.total))
        self.bar.setValue(min(figures.done, max(1, figures.total)))
        self.bar.setFormat(f"{figures.done:,} of {figures.total:,} leads done" if figures.total
                           else "No leads")
        self.summary.setText(figures.summary)
        for key, value in self.counters.items():
            value.setText(figures.counters.get(key, "–"))
        leads = stats.get("leads")
        by_status = dict(leads.get("by_status") or {}) if isinstance(leads, dict) else {}
        self._draw({k: int(v) for k, v in by_status.items() if int(v)})

    def _draw(self, counts: dict[str, int]) -> None:
        ordered = {k: counts[k] for k in OUTCOME_COLORS if counts.get(k)}
        ordered.update({k: v for k, v in counts.items() if k not in ordered and v})
        self.slices = ordered
        chart = self.chart
        colors = theme.colors()
        chart.removeAllSeries()
        chart.legend().setLabelColor(QColor(colors.text))
        if not ordered:
            chart.setTitle("No leads yet")
            chart.setTitleBrush(QColor(colors.muted))
            return
        chart.setTitle("")
        series = QPieSeries()
        series.setHoleSize(0.5)
        for outcome, count in ordered.items():
            piece = series.append(f"{fmt.label(outcome)}  {count:,}", count)
            color = QColor(OUTCOME_COLORS.get(outcome, colors.accent))
            piece.setColor(color)
            piece.setBorderColor(QColor(colors.surface))
        chart.addSeries(series)

    def redraw(self) -> None:
        """The theme changed: the chart's colours follow."""
        self._draw(dict(self.slices))


__all__ = ["OUTCOME_COLORS", "CampaignProgressPanel"]
