"""The rehearsal dialog: the personas to call the agent with (all checked), Start, the
rehearsal's status while its test calls run, then its report — a row per persona with bars for
latency and words misheard, the totals, what changed since the previous rehearsal — and the
agent's earlier rehearsals to look back at. A persona's test call opens in the Calls view.

Every request goes through the API bridge; the status is polled with one request in flight at a
time, the next asked for a second after the previous answer."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.rehearsal import (
    BAR_ROLE,
    CALL_ID_ROLE,
    ComparisonModel,
    RehearsalReportModel,
    figure_text,
    percent,
    rehearsal_label,
    why_text,
)
from console.views.widgets import button, card, hbox, section, table_view
from engine.client import ApiError, Page, Record

POLL_MS = 1000  # a rehearsal's status is asked for a second after the previous answer
HISTORY_LIMIT = 50  # the agent's rehearsals listed to pick from, newest first
RUNNING = frozenset({"queued", "running"})
# the report's columns but the persona's (which takes the rest): room for the header's words
COLUMN_WIDTHS = {1: 96, 2: 58, 3: 84, 4: 150, 5: 84, 6: 104, 7: 82, 8: 128}


class BarDelegate(QStyledItemDelegate):
    """A cell's text in its own colour (a selected row keeps its green and red), over a bar
    filling ``BAR_ROLE`` (0..1) of the room the figure leaves, when the cell has one."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        colors = theme.colors()
        rect = opt.rect.adjusted(6, 0, -8, 0)
        fraction = index.data(BAR_ROLE)
        painter.save()
        if isinstance(fraction, float):
            room = max(0, rect.width() - opt.fontMetrics.horizontalAdvance("00.0 %") - 10)
            bar = QRect(rect.left(), rect.center().y() - 4, max(3, int(room * fraction)), 9)
            track = QRect(rect.left(), bar.top(), room, bar.height())
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colors.border))
            painter.drawRoundedRect(track, 4, 4)
            fill = QColor(colors.accent)
            fill.setAlpha(170)
            painter.setBrush(fill)
            painter.drawRoundedRect(bar, 4, 4)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        painter.setPen(foreground if isinstance(foreground, QColor) else QColor(colors.text))
        painter.setFont(opt.font)
        text = opt.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(opt.displayAlignment), text)
        painter.restore()


def muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("viewSubtitle")
    label.setWordWrap(True)
    return label


class RehearsalDialog(QDialog):
    """Rehearse one saved agent and read its reports. ``open_call_requested(call_id)`` asks for a
    persona's test call to be shown."""

    open_call_requested = Signal(str)
    report_shown = Signal(dict)  # a rehearsal whose report (or failure) is on screen

    def __init__(self, bridge: ApiBridge, agent: Record, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rehearsalDialog")
        self.bridge = bridge
        self.agent_id = str(agent["id"])
        self.agent_name = str(agent.get("name") or "agent")
        self.setWindowTitle(f"Rehearse {self.agent_name}")
        self.resize(1240, 780)
        self.rehearsal: Record | None = None  # the one on screen
        self.running_id: str | None = None  # the one being polled
        self._running_since: float | None = None
        self._poll = QTimer(self)
        self._poll.setSingleShot(True)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._ask_status)
        self._tick = QTimer(self)  # the elapsed time in the status line
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_status)
        self.persona_boxes: dict[str, QCheckBox] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 14, 18, 14)
        outer.setSpacing(10)
        title = QLabel(f"Rehearse “{self.agent_name}”")
        title.setObjectName("viewTitle")
        outer.addWidget(title)
        outer.addWidget(muted("Each persona calls the agent over SIP as a test call; every call is "
                              "scored and compared with the agent's previous rehearsal."))

        body = QHBoxLayout()
        body.setSpacing(14)
        outer.addLayout(body, 1)
        body.addWidget(self._personas_panel())
        right = QVBoxLayout()
        right.setSpacing(8)
        body.addLayout(right, 1)

        self.history = QComboBox()
        self.history.setMinimumWidth(260)
        self.history.setPlaceholderText("No rehearsals yet")
        self.history.setToolTip("The agent's rehearsals, newest first")
        self.history.activated.connect(self._history_picked)
        self.status = QLabel("Loading…")
        self.status.setObjectName("rehearsalStatus")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        right.addLayout(hbox(section("Rehearsal"), self.history, 12, self.status, None, self.progress))

        self.report = RehearsalReportModel(self)
        self.table = table_view(self.report, stretch_last=False)
        self.table.setObjectName("rehearsalReport")
        self.table.setItemDelegate(BarDelegate(self.table))
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        self.table.doubleClicked.connect(lambda index: self.open_call(index.row()))
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _: self._row_selected(cur.row()))
        right.addWidget(self.table, 3)

        totals = QHBoxLayout()
        totals.setSpacing(10)
        self.total_cards: dict[str, QLabel] = {}
        for key, caption in (("goals", "Goals reached"), ("p50", "Voice-to-voice p50"),
                             ("p95", "Voice-to-voice p95"), ("wer", "Words misheard")):
            frame, value = card(caption, "—")
            self.total_cards[key] = value
            totals.addWidget(frame)
        totals.addStretch(1)
        right.addLayout(totals)

        lower = QHBoxLayout()
        lower.setSpacing(14)
        why_box = QGroupBox("Persona")
        why_layout = QVBoxLayout(why_box)
        self.detail = QLabel("Select a persona to read its goal and why it was or was not reached.")
        self.detail.setObjectName("rehearsalDetail")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        why_layout.addWidget(self.detail, 1)
        self.open_button = button("Open call", lambda: self.open_call(self.table.currentIndex().row()))
        self.open_button.setToolTip("Show this persona's test call in the Calls view (or double-click "
                                    "its row)")
        self.open_button.setEnabled(False)
        why_layout.addLayout(hbox(None, self.open_button))
        lower.addWidget(why_box, 2)

        compare_box = QGroupBox("Since the previous rehearsal")
        compare_layout = QVBoxLayout(compare_box)
        self.compare_caption = muted("The first rehearsal of this agent: nothing to compare yet.")
        self.compare_caption.setWordWrap(False)
        self.previous_button = button("View previous", self.view_previous)
        self.previous_button.hide()
        compare_layout.addLayout(hbox(self.compare_caption, None, self.previous_button))
        self.comparison = ComparisonModel(self)
        self.compare_table = table_view(self.comparison, stretch_last=True)
        self.compare_table.setObjectName("rehearsalComparison")
        self.compare_table.setSelectionMode(self.compare_table.SelectionMode.NoSelection)
        compare_header = self.compare_table.horizontalHeader()
        compare_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        compare_header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        compare_header.resizeSection(2, 80)
        compare_header.resizeSection(3, 80)
        self.compare_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        compare_layout.addWidget(self.compare_table, 1)
        lower.addWidget(compare_box, 3)
        right.addLayout(lower, 2)

        self.close_button = button("Close", self.close)
        outer.addLayout(hbox(None, self.close_button))

        self.bridge.call(lambda api: api.personas(), self._got_personas, self._personas_failed,
                         context=self)
        self.bridge.call(lambda api: api.rehearsals(self.agent_id, limit=HISTORY_LIMIT),
                         self._got_history, self._history_failed, context=self)

    # -- personas and start ----------------------------------------------------------------------

    def _personas_panel(self) -> QWidget:
        box = QGroupBox("Personas")
        box.setFixedWidth(240)
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        self.persona_list = QVBoxLayout()
        self.persona_list.setSpacing(4)
        holder = QWidget()
        holder.setObjectName("formPage")
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addLayout(self.persona_list)
        self.all_button = QPushButton("All")
        self.all_button.clicked.connect(lambda: self._check_all(True))
        self.none_button = QPushButton("None")
        self.none_button.clicked.connect(lambda: self._check_all(False))
        holder_layout.addSpacing(6)
        holder_layout.addLayout(hbox(self.all_button, self.none_button, None))
        holder_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self.persona_hint = muted("Loading personas…")
        self.persona_list.addWidget(self.persona_hint)
        layout.addWidget(muted("Hover a persona for its goal. They call the agent two at a time."))
        self.start_button = button("Start", self.start, primary=True)
        self.start_button.setEnabled(False)
        self.start_error = QLabel()
        self.start_error.setObjectName("fieldError")
        self.start_error.setWordWrap(True)
        self.start_error.hide()
        layout.addWidget(self.start_error)
        layout.addWidget(self.start_button)
        return box

    def _got_personas(self, personas: list[Record]) -> None:
        self.persona_hint.hide()
        for persona in personas:
            name = str(persona["name"])
            box = QCheckBox(fmt.label(name))
            box.setObjectName(f"persona-{name}")
            box.setChecked(True)
            box.setToolTip(f"Goal: {persona.get('goal') or ''}\n\n{persona.get('description') or ''}")
            box.toggled.connect(self._update_start)
            self.persona_boxes[name] = box
            self.persona_list.addWidget(box)
        self._update_start()

    def _personas_failed(self, exc: Exception) -> None:
        self.persona_hint.setText(f"Could not load the personas: {exc}")

    def _check_all(self, checked: bool) -> None:
        for box in self.persona_boxes.values():
            box.setChecked(checked)

    def chosen(self) -> list[str]:
        return [name for name, box in self.persona_boxes.items() if box.isChecked()]

    def _update_start(self) -> None:
        self.start_button.setEnabled(bool(self.chosen()) and self.running_id is None)
        self.start_button.setToolTip("" if self.chosen() else "Check at least one persona")

    def start(self) -> None:
        personas = self.chosen()
        if not personas or self.running_id is not None:
            return
        self.start_error.hide()
        self.start_button.setEnabled(False)
        self.status.setText("Starting…")
        self.bridge.call(lambda api: api.rehearse(self.agent_id, personas), self._started,
                         self._start_failed, context=self)

    def _started(self, rehearsal: Record) -> None:
        self.history.insertItem(0, rehearsal_label(rehearsal), rehearsal)
        self.history.setCurrentIndex(0)
        self._follow(rehearsal)
        self.show_rehearsal(rehearsal)

    def _start_failed(self, exc: Exception) -> None:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        self.start_error.setText(f"Not started: {message}")
        self.start_error.show()
        self.status.setText("")
        self._update_start()

    # -- the agent's rehearsals ------------------------------------------------------------------

    def _got_history(self, page: Page) -> None:
        self.history.clear()
        for rehearsal in page.items:
            self.history.addItem(rehearsal_label(rehearsal), rehearsal)
        if not page.items:
            self.status.setText("Not rehearsed yet: choose the personas and Start.")
            return
        newest = page.items[0]
        self.history.setCurrentIndex(0)
        if newest.get("status") in RUNNING:
            self._follow(newest)
        self.show_rehearsal(newest)

    def _history_failed(self, exc: Exception) -> None:
        self.status.setText(f"Could not load the rehearsals: {exc}")

    def _history_picked(self, row: int) -> None:
        rehearsal = self.history.itemData(row)
        if isinstance(rehearsal, dict):
            self.show_rehearsal(rehearsal)

    def select_rehearsal(self, rehearsal_id: str) -> bool:
        """Show the listed rehearsal with that id; False when it is not listed."""
        for row in range(self.history.count()):
            item = self.history.itemData(row)
            if isinstance(item, dict) and item.get("id") == rehearsal_id:
                self.history.setCurrentIndex(row)
                self.show_rehearsal(item)
                return True
        return False

    def view_previous(self) -> None:
        previous = ((self.rehearsal or {}).get("report") or {}).get("comparison", {}).get("previous_id")
        if previous and not self.select_rehearsal(str(previous)):
            self.bridge.call(lambda api: api.rehearsal(str(previous)), self._got_previous,
                             context=self)

    def _got_previous(self, rehearsal: Record) -> None:
        self.history.addItem(rehearsal_label(rehearsal), rehearsal)
        self.select_rehearsal(str(rehearsal["id"]))

    # -- following a running rehearsal -----------------------------------------------------------

    def _follow(self, rehearsal: Record) -> None:
        self.running_id = str(rehearsal["id"])
        self._running_since = time.monotonic()
        self._update_start()
        self._tick.start()
        self._poll.start()

    def _ask_status(self) -> None:
        ident = self.running_id
        if ident is not None:
            self.bridge.call(lambda api: api.rehearsal(ident), self._polled, self._poll_failed,
                             context=self)

    def _polled(self, rehearsal: Record) -> None:
        if rehearsal.get("id") != self.running_id:
            return
        for row in range(self.history.count()):
            item = self.history.itemData(row)
            if isinstance(item, dict) and item.get("id") == rehearsal["id"]:
                self.history.setItemData(row, rehearsal)
                self.history.setItemText(row, rehearsal_label(rehearsal))
        if rehearsal.get("status") in RUNNING:
            self._poll.start()
        else:
            self.running_id = self._running_since = None
            self._tick.stop()
            self._update_start()
        if self.rehearsal is not None and self.rehearsal.get("id") == rehearsal["id"]:
            self.show_rehearsal(rehearsal)

    def _poll_failed(self, exc: Exception) -> None:
        self.status.setText(f"Could not read the rehearsal's status ({exc}); trying again…")
        self._poll.start()

    # -- the report ------------------------------------------------------------------------------

    def show_rehearsal(self, rehearsal: Record) -> None:
        self.rehearsal = rehearsal
        report = rehearsal.get("report") or None
        self.report.set_report(report)
        self.comparison.set_report(report)
        self._show_status()
        self._show_totals((report or {}).get("totals") or {})
        self._show_comparison(report)
        if self.report.rowCount():
            self.table.selectRow(0)
        else:
            self._row_selected(-1)
        if rehearsal.get("status") not in RUNNING:
            self.report_shown.emit(rehearsal)

    def _show_status(self) -> None:
        rehearsal = self.rehearsal or {}
        status = rehearsal.get("status")
        running = status in RUNNING
        self.progress.setVisible(running)
        personas = len(rehearsal.get("personas") or [])
        noun = f"{personas} persona{'s' if personas != 1 else ''}"
        if running:
            elapsed = ""
            if rehearsal.get("id") == self.running_id and self._running_since is not None:
                elapsed = f"  ·  {fmt.duration(time.monotonic() - self._running_since)}"
            verb = "queued to call" if status == "queued" else "calling"
            self.status.setText(f"{fmt.label(str(status))}: {noun} {verb} the agent…{elapsed}")
        elif status == "failed":
            self.status.setText(f"Failed: {rehearsal.get('error') or 'no report'}")
        elif status == "completed":
            ended = fmt.local_time(rehearsal.get("ended_at"), zone=True)
            self.status.setText(f"Completed {ended}  ·  {noun}")
        self.status.setProperty("state", status or "")
        self.status.setStyleSheet(f"color: {theme.colors().danger};" if status == "failed" else "")

    def _show_totals(self, totals: Record) -> None:
        cards = self.total_cards
        if not totals:
            for label in cards.values():
                label.setText("—")
            return
        cards["goals"].setText(f"{totals.get('goals_reached', 0)} of {totals.get('personas', 0)}")
        cards["p50"].setText(figure_text("voice_to_voice_p50_ms", totals.get("voice_to_voice_p50_ms")))
        cards["p95"].setText(figure_text("voice_to_voice_p95_ms", totals.get("voice_to_voice_p95_ms")))
        cards["wer"].setText(percent(totals.get("wer")) or "—")

    def _show_comparison(self, report: Record | None) -> None:
        comparison = (report or {}).get("comparison")
        if not comparison:
            first = self.history.count() <= 1 or self.rehearsal is None \
                or not self.rehearsal.get("previous_id")
            self.compare_caption.setText(
                "The first rehearsal of this agent: nothing to compare yet." if first
                else "Nothing to compare: the previous rehearsal has no report.")
            self.previous_button.hide()
            return
        previous = self._listed(str(comparison.get("previous_id")))
        when = f" {fmt.short_time(previous.get('created_at'))}" if previous else " previous"
        better = sum(1 for line in self.comparison.lines if line.verdict == "better")
        worse = sum(1 for line in self.comparison.lines if line.verdict == "worse")
        self.compare_caption.setText(f"Against{when}:  {better} better, {worse} worse")
        self.previous_button.show()

    def _listed(self, rehearsal_id: str) -> Record | None:
        for row in range(self.history.count()):
            item = self.history.itemData(row)
            if isinstance(item, dict) and item.get("id") == rehearsal_id:
                return item
        return None

    def _row_selected(self, row: int) -> None:
        persona = self.report.row(row)
        self.open_button.setEnabled(bool(persona and persona.get("call_id")))
        if persona is None:
            self.detail.setText("Select a persona to read its goal and why it was or was not "
                                "reached." if self.report.rowCount() else "")
            return
        lines = [f"<b>{fmt.label(str(persona.get('persona')))}</b> — {persona.get('goal') or ''}"]
        if persona.get("goal_reached"):
            lines.append(f"<span style='color:{theme.colors().success}'>✓ Goal reached</span>")
        else:
            why = why_text(persona).replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
            lines.append(f"<span style='color:{theme.colors().danger}'>✗ Goal not reached</span>"
                         f"<br>{why}")
        ended = [fmt.label(persona.get("status")), fmt.label(persona.get("end_reason"))]
        if persona.get("sip_status"):
            ended.append(f"SIP {persona['sip_status']}")
        lines.append(f"<span style='color:{theme.colors().muted}'>Call: "
                     f"{' · '.join(part for part in ended if part)}</span>")
        self.detail.setText("<br>".join(lines))

    def open_call(self, row: int) -> None:
        call_id = self.report.index(row, 0).data(CALL_ID_ROLE) if row >= 0 else None
        if call_id:
            self.open_call_requested.emit(str(call_id))

    def done(self, result: int) -> None:
        self._poll.stop()
        self._tick.stop()
        super().done(result)


__all__ = ["BarDelegate", "RehearsalDialog"]
