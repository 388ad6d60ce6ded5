"""The Calls view: a filter bar, the paged calls table and the selected call's detail."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from datetime import date as datetime_date

from PySide6.QtCore import QDate, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyleOptionComboBox,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console.context import ConsoleContext
from console.models.calls import FIRST_ORDERS, CallQuery, CallsTableModel
from console.views.base import View, ask_unsaved
from console.views.call_cells import CallCellDelegate
from console.views.call_detail import CallDetail
from console.views.date_filter import DateFilter
from console.views.sort_header import SortHeader
from console.views.widgets import button, hbox, heading, table_view
from engine.client import Record
from engine.events import CallChange, Event

SEARCH_DEBOUNCE_MS = 300  # typing pauses longer than this start a search
NEW_CALLS_DEBOUNCE_MS = 250  # a burst of call events (a call starting) fetches the top of the list once
# the widest usual value of each column: widths follow the font instead of fixed pixels
COLUMN_SAMPLES = ("Nov 22 00:32", "↗ Out", "+17025550124", "+17025550124", "Appointments", "In progress",
                  "12:34", "Negative", "$0.0144")
CELL_PADDING = 18
AGENT_COLUMN = 4  # gives up width first when the table would not fit
AGENT_MIN_WIDTH = 64  # item padding plus the view's focus margins
DETAIL_MIN_WIDTH = 380
# Narrower than a readable table (time, direction, caller, status) beside the detail, the view
# puts the detail under the list instead, as a mail client's reading pane does.
TABLE_MIN_WIDTH = 340
SEARCH_MIN_WIDTH = 150
COMBO_TEXT_SLACK = 4  # px: the style's text margin inside the edit field
SWAPPED_DATES = "“To date” was before “From date”: the two were swapped."


def combo_text_room(combo: QComboBox) -> int:
    """How wide the text of the combo's current width may be (the style's edit field)."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return field.width()


def combo_width_for(combo: QComboBox, text: str) -> int:
    """The combo width whose edit field holds ``text`` (the arrow and the style's padding
    around it)."""
    combo.ensurePolished()  # the style sheet's padding and font
    probe = 400
    combo.resize(probe, combo.height())
    chrome = probe - combo_text_room(combo)
    return combo.fontMetrics().horizontalAdvance(text) + chrome + COMBO_TEXT_SLACK


def _least_width(widget: QWidget) -> int:
    """How narrow a layout may make the widget (its minimum width, else its minimum size hint)."""
    return widget.minimumWidth() or widget.minimumSizeHint().width()


class FilterBar(QWidget):
    """The filter widgets in one row when they fit at their size, else in two: the search and
    the dates first, the choices under them. Nothing is squeezed below its own text."""

    def __init__(self, first: list[QWidget], second: list[QWidget]) -> None:
        super().__init__()
        self.first, self.second = first, second
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.rows = (QHBoxLayout(), QHBoxLayout())
        for row in self.rows:
            outer.addLayout(row)
        self.wrapped: bool | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._arrange(False)

    def one_row_width(self) -> int:
        """The narrowest width that holds every filter in one row at its preferred width (the
        search, which takes the room left, at its least)."""
        widgets = [*self.first, *self.second]
        return sum(_least_width(w) if w.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Expanding
                   else max(w.sizeHint().width(), w.minimumWidth()) for w in widgets) \
            + self.rows[0].spacing() * (len(widgets) - 1)

    def _arrange(self, wrapped: bool) -> None:
        if wrapped == self.wrapped:
            return
        self.wrapped = wrapped
        for row in self.rows:
            while row.count():
                row.takeAt(0)
        for widget in self.first:
            self.rows[0].addWidget(widget)
        for widget in self.second:
            self.rows[1 if wrapped else 0].addWidget(widget)
        if wrapped:
            self.rows[1].addStretch(1)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the wider of the two rows: the bar wraps rather than widen the window."""
        hint = super().minimumSizeHint()
        spacing = self.rows[0].spacing()
        widths = [sum(_least_width(w) for w in row) + spacing * (len(row) - 1)
                  for row in (self.first, self.second)]
        hint.setWidth(max(widths))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._arrange(event.size().width() < self.one_row_width())
        super().resizeEvent(event)


def _utc_iso(day: QDate, end_of_day: bool) -> str:
    date = day.toPython()
    assert isinstance(date, datetime_date)
    local = datetime.combine(date, time.min).astimezone()
    if end_of_day:
        local += timedelta(days=1)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _qt_order(order: str) -> Qt.SortOrder:
    return Qt.SortOrder.AscendingOrder if order == "asc" else Qt.SortOrder.DescendingOrder


class CallsView(View):
    title = "Calls"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.count_label = heading("Calls", "Loading…")
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.page.addLayout(hbox(top, None, self.note, button("Refresh", self.refresh)))

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search transcripts")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(SEARCH_MIN_WIDTH)
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.status = self._combo("Any status", [(fmt.label(s), s) for s in fmt.CALL_STATUSES])
        self.direction = self._combo("Any direction", [(fmt.label(d), d) for d in fmt.DIRECTIONS])
        self.agent = self._combo("Any agent", [])
        self.campaign = self._combo("Any campaign", [])
        self.since = DateFilter("From date")
        self.until = DateFilter("To date")
        self.clear_button = button("Clear", self.clear_filters)
        self.filter_bar = FilterBar([self.search, self.since, self.until, self.clear_button],
                                    [self.status, self.direction, self.agent, self.campaign])
        self.page.addWidget(self.filter_bar)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        for combo in (self.status, self.direction, self.agent, self.campaign):
            combo.currentIndexChanged.connect(lambda _: self.apply_filters())
        for edit in (self.since, self.until):
            edit.day_changed.connect(self._dates_changed)
            edit.problem.connect(self.note.setText)

        self.model = CallsTableModel(self.bridge, self)
        self.table = table_view(self.model, stretch_last=True)
        self.table.setObjectName("callsTable")
        self.table.setItemDelegate(CallCellDelegate(self.model, self.table))
        self.table.setHorizontalHeader(self._sort_header(self.table.horizontalHeader()))
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self.sort_by_column)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _: self._open_row(cur.row()))
        self.model.loaded.connect(self._first_page)
        self.model.total_changed.connect(lambda total: self.count_label.setText(f"{total:,} calls"))
        self.model.failed.connect(lambda text: self.count_label.setText(f"Could not load calls: {text}"))
        self.model.set_query(self.query())  # the first page is on its way while the rest is built

        self.detail = CallDetail(self.bridge)
        self.detail.call_updated.connect(self.model.update_call)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.detail.setMinimumWidth(DETAIL_MIN_WIDTH)
        self._sized = False
        self.splitter.setChildrenCollapsible(False)
        self.page.addWidget(self.splitter, 1)
        self._lookups_pending = 0
        self._open_when_loaded: str | None = None
        ctx.records_changed.connect(self._records_changed)
        self._new_calls = QTimer(self)
        self._new_calls.setSingleShot(True)
        self._new_calls.setInterval(NEW_CALLS_DEBOUNCE_MS)
        self._new_calls.timeout.connect(self.model.refresh_top)
        self.bridge.event_received.connect(self._event)

    def _event(self, event: Event) -> None:
        """The list follows the events stream: a changed call's row changes at once; a call the
        list lacks (one that began) comes with the top of the list, fetched again."""
        if not isinstance(event, CallChange) or not event.ident or not self.model.pages_fetched:
            return
        if self.model.row_of(event.ident) is None:
            self._new_calls.start()
            return
        self.model.update_call({**event.call, "id": event.ident})
        if event.ident == self.detail.call_id and event.status and self.detail.call is not None \
                and event.status != self.detail.call.get("status") and not self.detail.notes_edited():
            self.detail.show_call(event.ident)  # its header, events and transcript as they are now

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._orient(event.size().width())
        if not self._sized and self.splitter.orientation() == Qt.Orientation.Horizontal \
                and self.splitter.width() > DETAIL_MIN_WIDTH * 2:
            self._sized = True
            room = self.splitter.width() - self.splitter.handleWidth() - DETAIL_MIN_WIDTH
            table_width = self.fit_columns(room)
            detail = self.splitter.width() - table_width - self.splitter.handleWidth()
            self.splitter.setSizes([table_width, detail])

    def _orient(self, width: int) -> None:
        """The detail beside the list when both fit, else under it."""
        side_by_side = width >= TABLE_MIN_WIDTH + DETAIL_MIN_WIDTH + self.splitter.handleWidth() + 48
        wanted = Qt.Orientation.Horizontal if side_by_side else Qt.Orientation.Vertical
        if self.splitter.orientation() == wanted:
            return
        self.splitter.setOrientation(wanted)
        self.detail.setMinimumWidth(DETAIL_MIN_WIDTH if side_by_side else 0)
        if side_by_side:
            self._sized = False  # fitted again once laid out beside each other
        else:
            QTimer.singleShot(0, self, self._share_height)  # once laid out one above the other

    def _share_height(self) -> None:
        if self.splitter.orientation() == Qt.Orientation.Vertical:
            height = self.splitter.height() - self.splitter.handleWidth()
            self.splitter.setSizes([height * 2 // 5, height - height * 2 // 5])

    def fit_columns(self, room: int) -> int:
        """Column widths from the table's font, within ``room``; returns the table's width."""
        header = self.table.horizontalHeader()
        cells, titles = self.table.fontMetrics(), header.fontMetrics()
        total = 0
        for column, sample in enumerate(COLUMN_SAMPLES):
            title = self.model.columns[column].title
            sort_room = 14 if self.model.columns[column].sort_key else 0
            title_width = titles.horizontalAdvance(title) * 11 // 10 + sort_room  # headers are bold
            width = max(cells.horizontalAdvance(sample), title_width)
            header.resizeSection(column, width + CELL_PADDING)
            total += width + CELL_PADDING
        total += self.table.verticalScrollBar().sizeHint().width() + 4
        if total > room:
            agent = header.sectionSize(AGENT_COLUMN)
            shrunk = max(AGENT_MIN_WIDTH, agent - (total - room))
            header.resizeSection(AGENT_COLUMN, shrunk)
            total -= agent - shrunk
        return total

    @staticmethod
    def _combo(any_text: str, options: list[tuple[str, str]]) -> QComboBox:
        """A choice whose width holds its "Any …" text; longer names show in full in its list
        and elided in the box."""
        combo = QComboBox()
        combo.addItem(any_text, None)
        for text, value in options:
            combo.addItem(text, value)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(1)
        combo.setMinimumWidth(combo_width_for(combo, any_text))
        return combo

    def _sort_header(self, stock: QHeaderView) -> SortHeader:
        """The table's header as a ``SortHeader``, set up as ``table_view`` set up the stock one."""
        header = SortHeader(self.table)
        header.setHighlightSections(stock.highlightSections())
        header.setMinimumSectionSize(stock.minimumSectionSize())
        header.setDefaultSectionSize(stock.defaultSectionSize())
        header.setStretchLastSection(stock.stretchLastSection())
        header.setDefaultAlignment(stock.defaultAlignment())
        return header

    # -- loading ---------------------------------------------------------------------------------

    def activate(self) -> None:
        if not self._started:
            self._started = True  # the first page was asked for when the view was built
            self._load_lookups()

    def refresh(self) -> None:
        self.is_loaded = False
        self._load_lookups()
        self.model.set_query(self.query())

    def _load_lookups(self) -> None:
        """Agent and campaign names for the filter bar and the agent column."""
        self.bridge.call(lambda api: api.agents.all(), self._got_agents, lambda exc: None)
        self.bridge.call(lambda api: api.campaigns.all(), self._got_campaigns, lambda exc: None)

    def _records_changed(self, kind: str) -> None:
        if kind in ("agent", "campaign") and self._started:
            self._load_lookups()

    def _got_agents(self, agents: list[Record]) -> None:
        names = {a["id"]: a.get("name", "") for a in agents}
        self.model.set_agent_names(names)
        self.detail.agent_names = names
        self._refill(self.agent, [(a.get("name", ""), a["id"]) for a in agents])

    def _got_campaigns(self, campaigns: list[Record]) -> None:
        self._refill(self.campaign, [(c.get("name", ""), c["id"]) for c in campaigns])

    @staticmethod
    def _refill(combo: QComboBox, options: list[tuple[str, str]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for text, value in sorted(options, key=lambda o: o[0].lower()):
            combo.addItem(text, value)
        index = combo.findData(current)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _first_page(self) -> None:
        if self._open_when_loaded:
            call_id, self._open_when_loaded = self._open_when_loaded, None
            self.open_call(call_id)
            return
        shown = self.detail.call_id
        row = self.model.row_of(shown) if shown else None
        if row is not None:  # Refresh keeps the open call's row highlighted
            selection = self.table.selectionModel()
            selection.blockSignals(True)
            self.table.selectRow(row)
            selection.blockSignals(False)
            self.table.viewport().update()
            self.loaded.emit()
            return
        if self.detail.call_id is None and self.model.rowCount() > 0:
            self.table.selectRow(0)
            self.detail.loaded.connect(self._detail_ready, Qt.ConnectionType.SingleShotConnection)
            return
        self.loaded.emit()

    def _detail_ready(self) -> None:
        self.loaded.emit()

    # -- filters and sort ------------------------------------------------------------------------

    def query(self) -> CallQuery:
        since, until = self.since.day(), self.until.day()
        header = self.table.horizontalHeader()
        sort_by = self.model.sort_column(header.sortIndicatorSection()) or "initiated_at"
        order = "asc" if header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder else "desc"
        return CallQuery(
            status=self.status.currentData(), direction=self.direction.currentData(),
            agent_id=self.agent.currentData(), campaign_id=self.campaign.currentData(),
            since=_utc_iso(since, False) if since else None,
            until=_utc_iso(until, True) if until else None,
            q=self.search.text().strip() or None, sort_by=sort_by, sort_order=order,
        )

    def apply_filters(self) -> None:
        self._debounce.stop()
        query = self.query()
        if query != self.model.query or not self.model.pages_fetched:
            self.detail.clear()
            self.model.set_query(query)

    def _dates_changed(self) -> None:
        """A date filter changed: a range that ends before it starts has its ends swapped."""
        since, until = self.since.day(), self.until.day()
        if since is not None and until is not None and until < since:
            self.since.set_day(until, notify=False)
            self.until.set_day(since, notify=False)
            self.note.setText(SWAPPED_DATES)
        else:
            self.note.clear()
        self.apply_filters()

    def clear_filters(self) -> None:
        for widget in (self.search, self.status, self.direction, self.agent, self.campaign):
            widget.blockSignals(True)
        self.search.clear()
        for combo in (self.status, self.direction, self.agent, self.campaign):
            combo.setCurrentIndex(0)
        self.since.set_day(None, notify=False)
        self.until.set_day(None, notify=False)
        for widget in (self.search, self.status, self.direction, self.agent, self.campaign):
            widget.blockSignals(False)
        self.note.clear()
        self.apply_filters()

    def sort_by_column(self, column: int) -> None:
        """Header click: sort through the API by the column, the other way round when it sorts
        already; a column the API cannot sort by keeps the list (and the arrow) as it is."""
        header = self.table.horizontalHeader()
        key = self.model.sort_column(column)
        current = self.model.query
        if key is None:  # Qt moved the arrow to the clicked section: put it back
            previous = self.model.column_of_sort(current.sort_by) or 0
            header.blockSignals(True)
            header.setSortIndicator(previous, _qt_order(current.sort_order))
            header.blockSignals(False)
            return
        if key == current.sort_by:
            direction = "asc" if current.sort_order == "desc" else "desc"
        else:
            direction = FIRST_ORDERS.get(key, "asc")
        header.blockSignals(True)
        header.setSortIndicator(column, _qt_order(direction))
        header.blockSignals(False)
        self.detail.clear()
        self.model.set_query(self.query().with_(sort_by=key, sort_order=direction))

    # -- detail ----------------------------------------------------------------------------------

    def _open_row(self, row: int) -> None:
        record = self.model.record(row)
        if record is None or str(record["id"]) == self.detail.call_id:
            return
        ident = str(record["id"])
        if self.detail.notes_edited():  # the open call's row stays highlighted until the user says
            QTimer.singleShot(0, self, self._show_open_row)

            def save() -> None:
                self.detail.save_notes()
                self._show_call(ident)

            self.unsaved_box = ask_unsaved(self, "Unsaved notes", "Save your notes on this call?",
                                           save, lambda: self._show_call(ident))
            return
        self.detail.show_call(ident)

    def _show_call(self, call_id: str) -> None:
        self.detail.show_call(call_id)
        self._show_open_row()

    def _show_open_row(self) -> None:
        row = self.model.row_of(self.detail.call_id) if self.detail.call_id else None
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
        selection.blockSignals(False)
        self.table.viewport().update()

    def open_call(self, call_id: str) -> None:
        """Show one call's detail (selecting its row when it is loaded)."""
        row = self.model.row_of(call_id)
        if row is not None:
            self.table.selectionModel().blockSignals(True)
            self.table.selectRow(row)
            self.table.selectionModel().blockSignals(False)
        self.detail.loaded.connect(self._detail_ready, Qt.ConnectionType.SingleShotConnection)
        self.detail.show_call(call_id)

    def open_call_when_loaded(self, call_id: str) -> None:
        """For ``shot call:ID``: the detail of that call once the table is in."""
        if self.model.pages_fetched:
            self.open_call(call_id)
        else:
            self._open_when_loaded = call_id

