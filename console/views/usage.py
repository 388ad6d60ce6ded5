"""The Usage view: totals by kind, a stacked chart of cost per day, and the daily table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QStackedBarSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QHeaderView, QLabel, QSplitter, QVBoxLayout

from console import formatting as fmt
from console import theme
from console.context import ConsoleContext
from console.models.records import Column, RecordTableModel
from console.models.usage import KIND_LABELS, UsageTable, arrange, period_start
from console.views.base import View
from console.views.widgets import card, hbox, heading, section, table_view
from engine.client import Record

RANGES = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90), ("All time", None))
RIGHT = Qt.AlignmentFlag.AlignRight


def _money_of(key: str) -> Callable[[Record], str]:
    """A column's text: the record's ``key`` as money (micro-USD)."""
    return lambda record: fmt.money(record.get(key, 0))


class UsageView(View):
    title = "Usage"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.subtitle = heading("Usage", "What the calls cost, by day and by kind")
        self.range = QComboBox()
        for text, days in RANGES:
            self.range.addItem(text, days)
        self.range.setCurrentIndex(3)
        self.range.currentIndexChanged.connect(lambda _: self.refresh())
        self.page.addLayout(hbox(top, None, QLabel("Period"), self.range))

        self.cards = QHBoxLayout()
        self.cards.setSpacing(12)
        self.total_card, self.total_value = card("Total cost")
        self.cards.addWidget(self.total_card)
        self.kind_values: dict[str, QLabel] = {}
        self.kind_captions: dict[str, QLabel] = {}
        for kind, text in KIND_LABELS.items():
            frame, value = card(text)
            self.kind_values[kind] = value
            caption = QLabel()
            caption.setObjectName("cardLabel")
            layout = frame.layout()
            assert layout is not None  # card() lays its frame out
            layout.addWidget(caption)
            self.kind_captions[kind] = caption
            self.cards.addWidget(frame)
        self.page.addLayout(self.cards)

        self.chart = QChart()
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setMargins(QMargins(6, 6, 6, 6))
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(260)
        self.chart_view.setObjectName("chartView")
        self.chart_view.setStyleSheet("background: transparent; border: none;")
        self.chart.setBackgroundVisible(False)
        chart_panel = QFrame()
        chart_panel.setObjectName("panel")
        chart_layout = QVBoxLayout(chart_panel)
        chart_layout.setContentsMargins(14, 12, 14, 8)
        self.chart_title = section("Cost per day")
        chart_layout.addWidget(self.chart_title)
        chart_layout.addWidget(self.chart_view, 1)

        self.table_model = RecordTableModel(self._columns(list(KIND_LABELS)), self)
        self.table = table_view(self.table_model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(chart_panel)
        splitter.addWidget(self.table)
        splitter.setSizes([420, 260])
        splitter.setChildrenCollapsible(False)
        self.page.addWidget(splitter, 1)
        self.usage = UsageTable()
        ctx.theme_changed.connect(lambda _: self._draw_chart())

    @staticmethod
    def _columns(kinds: list[str]) -> list[Column]:
        return [Column.key("Day", "day")] + [
            Column(KIND_LABELS.get(k, k), _money_of(k), RIGHT) for k in kinds
        ] + [Column("Total", lambda r: fmt.money(r.get("total", 0)), RIGHT)]

    def refresh(self) -> None:
        self.is_loaded = False
        today = datetime.now(UTC).date()  # the engine sums usage by UTC day
        first = period_start(self.range.currentData(), today)
        since = f"{first.isoformat()}T00:00:00Z" if first else None
        self.bridge.call(lambda api: api.usage(since=since),
                         lambda body: self._got_usage(body, first, today), self._failed)

    def _failed(self, exc: Exception) -> None:
        self.subtitle.setText(f"Could not load usage: {exc}")
        self.loaded.emit()

    def _got_usage(self, body: Record, first: date | None = None, last: date | None = None) -> None:
        self.usage = arrange(body.get("days") or [], first, last)
        usage = self.usage
        self.total_value.setText(fmt.money(usage.total, places=2))
        for kind, value in self.kind_values.items():
            value.setText(fmt.money(usage.totals.get(kind, 0), places=2))
            quantity, unit = usage.quantities.get(kind, (0.0, ""))
            self.kind_captions[kind].setText(f"{quantity:,.0f} {unit}" if unit else "")
        kinds = list(usage.totals) or list(KIND_LABELS)
        self.table_model.columns = self._columns(kinds)
        self.table_model.set_records(usage.daily)
        if usage.daily:
            self.subtitle.setText(f"{len(usage.daily)} of {usage.span_days} days with usage, "
                                  f"{usage.first:%b %-d} – {usage.last:%b %-d} (UTC days)")
        else:
            self.subtitle.setText("No usage in this period" if first else "No usage yet")
        self._draw_chart()
        self.loaded.emit()

    def _draw_chart(self) -> None:
        usage = self.usage
        colors = theme.colors()
        chart = self.chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        chart.legend().setLabelColor(QColor(colors.text))
        span = ""
        if usage.first and usage.last:
            span = f", {usage.first:%b %-d} – {usage.last:%b %-d}"
        self.chart_title.setText(f"Cost per {'week' if usage.weekly else 'day'} (USD{span})")
        if not usage.periods:
            chart.setTitle("No usage in this period")
            chart.setTitleBrush(QColor(colors.muted))
            return
        chart.setTitle("")
        series = QStackedBarSeries()
        series.setBarWidth(0.7)
        for kind, values in usage.cost.items():
            bar = QBarSet(KIND_LABELS.get(kind, kind))
            bar.append([v / 1_000_000 for v in values])
            bar.setColor(QColor(colors.kinds.get(kind, colors.accent)))
            bar.setBorderColor(QColor(colors.kinds.get(kind, colors.accent)))
            series.append(bar)
        chart.addSeries(series)
        labels = [f"{p.month}/{p.day}" if usage.weekly else str(p.day) for p in usage.periods]
        step = max(1, len(labels) // 32)
        # categories must be unique (a repeated one is dropped, and with it the last bar: a span
        # of 31 days has two 7ths): a label not shown, or shown again, gets a run of zero-width
        # spaces of its own
        shown: list[str] = []
        for i, text in enumerate(labels):
            label = text if i % step == 0 else ""
            shown.append(label if label and label not in shown else label + "\u200b" * (i + 1))
        x_axis = QBarCategoryAxis()
        x_axis.append(shown)
        y_axis = QValueAxis()
        y_axis.setLabelFormat("$%.2f")
        top = max((sum(vals) for vals in zip(*usage.cost.values(), strict=False)), default=0) / 1_000_000
        y_axis.setRange(0, max(0.01, top * 1.1))
        y_axis.applyNiceNumbers()
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        for axis in (x_axis, y_axis):
            axis.setLabelsColor(QColor(colors.muted))
            axis.setLabelsFont(font)
            axis.setGridLineColor(QColor(colors.border))
            axis.setLinePenColor(QColor(colors.border))
        x_axis.setGridLineVisible(False)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x_axis)
        series.attachAxis(y_axis)
