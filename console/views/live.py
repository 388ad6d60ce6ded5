"""The Live view: calls in progress now, fed by the events socket (snapshot, then ``call.*`` and
transcripts), and the live call panel of the one opened with Enter or a double-click."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QStackedLayout, QVBoxLayout, QWidget

from console.context import ConsoleContext
from console.models.live import LiveCallsModel
from console.views.base import View
from console.views.live_call import LiveCallPanel
from console.views.widgets import empty_state, heading, table_view
from engine.client import Record
from engine.events import Event, Snapshot

SNAPSHOT_WAIT_MS = 5000  # without a snapshot by then, the board shows what it has
FLUSH_MS = 100  # pending row changes are painted at most this often (≤ 10 repaints a second)
TICK_MS = 1000  # durations move on once a second
DETAIL_ATTEMPTS = 5  # a new call's row is asked for this many times while it is not written yet
DETAIL_RETRY_MS = 400  # the engine writes a new call's row within ~100 ms (its store batches)


class LiveView(View):
    title = "Live"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        self.board = QWidget()
        board = self.board
        board_layout = QVBoxLayout(board)
        board_layout.setContentsMargins(0, 0, 0, 0)
        board_layout.setSpacing(14)
        top, self.subtitle = heading("Live", "Calls in progress right now")
        board_layout.addWidget(top)
        self.model = LiveCallsModel(self)
        self.table = table_view(self.model)
        for column, width in enumerate((80, 150, 160, 110, 80)):
            self.table.horizontalHeader().resizeSection(column, width)
        self.table.activated.connect(self._open_index)  # Enter, and double-click
        self.table.clicked.connect(self._open_index)  # one click opens, as a list of calls does
        self.empty = empty_state("No live calls\n\nCalls appear here the moment they start.")
        holder = QWidget()
        self.stack = QStackedLayout(holder)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        board_layout.addWidget(holder, 1)

        self.pages = QStackedLayout()
        self.pages.addWidget(board)
        self.page.addLayout(self.pages, 1)
        self.panel: LiveCallPanel | None = None

        self.snapshot_seen = False
        self._details_waiting: set[str] = set()  # rows of the snapshot whose detail is on its way
        self.model.changed.connect(self._changed)
        self.model.detail_wanted.connect(self._fetch_call)
        self.bridge.event_received.connect(self._event)
        self.bridge.events_connected.connect(self._events_state)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(SNAPSHOT_WAIT_MS)
        self._timeout.timeout.connect(self.loaded.emit)
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._do_flush)
        self._flushed_at = 0.0
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.model.tick)
        self._tick.start()
        self._campaigns_asked: set[str] = set()  # campaigns whose names were asked for
        ctx.records_changed.connect(self._records_changed)

    def activate(self) -> None:
        """Shown again (the rail's Live entry): a call that ended meanwhile is not reopened, the
        board shows instead."""
        if self.panel is not None and self.panel.model.is_loaded and not self.panel.model.live:
            self.close_call()
        super().activate()

    def refresh(self) -> None:
        self._load_agents()
        self._changed()
        if self.snapshot_seen:
            self.loaded.emit()
        else:
            self.is_loaded = False
            self._timeout.start()
            if self.bridge.snapshots:  # the board was built after the last snapshot went by
                self.bridge.resync_events()

    def _records_changed(self, kind: str) -> None:
        if kind == "agent":
            self._load_agents()
        elif kind == "campaign":
            self._load_campaigns()

    def _load_agents(self) -> None:
        self.bridge.call(lambda api: api.agents.all(), self._got_agents, lambda exc: None, context=self)
        self._load_campaigns()

    def _got_agents(self, agents: list[Record]) -> None:
        self.model.agent_names = {a["id"]: a.get("name", "") for a in agents}
        self.model.layoutChanged.emit()

    def _load_campaigns(self) -> None:
        """The campaigns' names: a campaign's call shows its campaign beside the agent."""
        self._campaigns_asked |= self.model.unknown_campaigns()
        self.bridge.call(lambda api: api.campaigns.all(), self._got_campaigns, lambda exc: None,
                         context=self)

    def _got_campaigns(self, campaigns: list[Record]) -> None:
        self.model.campaign_names = {c["id"]: c.get("name", "") for c in campaigns}
        self.model.layoutChanged.emit()

    def _campaigns_wanted(self) -> None:
        """A call of a campaign whose name is not known yet (one made after the names came)."""
        if self.model.unknown_campaigns() - self._campaigns_asked:
            self._load_campaigns()

    def _fetch_call(self, call_id: str, attempt: int = 0) -> None:
        """The call's row (caller, agent, times). A call that has just begun may not be written
        yet: it is asked for again a moment later, a few times, while it is on the board."""
        self._details_waiting.add(call_id)

        def arrived(call: Record) -> None:
            self.model.merge_detail(call)
            self._detail_done(call_id)

        def failed(exc: Exception) -> None:
            self._detail_done(call_id)
            if attempt + 1 < DETAIL_ATTEMPTS and self.model.is_listed(call_id):
                QTimer.singleShot(DETAIL_RETRY_MS, self,
                                  lambda: self._fetch_call(call_id, attempt + 1)
                                  if self.model.is_listed(call_id) else None)

        self.bridge.call(lambda api: api.get_call(call_id), arrived, failed, context=self)

    def _detail_done(self, call_id: str) -> None:
        self._details_waiting.discard(call_id)
        if self._details_waiting or self.is_loaded or not self.snapshot_seen:
            self._schedule_flush()
            return
        self._flush.stop()  # the first picture of the board: at once, with every detail in
        self.model.flush()
        self._timeout.stop()
        if self.panel is None:
            self.loaded.emit()

    def _event(self, event: Event) -> None:
        if isinstance(event, Snapshot):
            self._details_waiting.clear()
            self.model.apply_event(event)  # asks for the rows' details
            self.snapshot_seen = True
            if not self._details_waiting:
                self._timeout.stop()
                if self.panel is None:
                    self.loaded.emit()
        else:
            self.model.apply_event(event)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Paints pending changes at once when the last paint is ``FLUSH_MS`` old, else when it
        will be: a lone event is not held back, a burst still costs one repaint per interval."""
        if not self.model.has_pending or self._flush.isActive():
            return
        since = (time.monotonic() - self._flushed_at) * 1000
        if since >= FLUSH_MS:
            self._do_flush()
        else:
            self._flush.start(max(1, int(FLUSH_MS - since)))

    def _do_flush(self) -> None:
        self._flushed_at = time.monotonic()
        self.model.flush()

    def _events_state(self, up: bool) -> None:
        if not up and not self.snapshot_seen and self._started:
            self.subtitle.setText("Waiting for the engine's events…")
            self._timeout.stop()
            self.loaded.emit()

    def _changed(self) -> None:
        self._campaigns_wanted()
        count = self.model.rowCount()
        self.stack.setCurrentWidget(self.table if count else self.empty)
        if count and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, 0))
        self.subtitle.setText(f"{count} live call{'s' if count != 1 else ''}" if count
                              else "Calls in progress right now")

    # -- the live call panel ----------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        call_id = self.model.call_id(index)
        if call_id:
            self.open_call(call_id)

    def open_call(self, call_id: str) -> LiveCallPanel:
        """Show the live call panel of this call (its history first, then the stream)."""
        if self.panel is not None and self.panel.model.call_id == call_id:
            return self.panel  # a double-click activates twice
        self.close_call()
        panel = LiveCallPanel(self.bridge, call_id)
        panel.close_requested.connect(self.close_call)
        panel.model.loaded.connect(self.loaded.emit)
        self.panel = panel
        self.is_loaded = False
        self.pages.addWidget(panel)
        self.pages.setCurrentWidget(panel)
        panel.start()
        panel.say_box.setFocus(Qt.FocusReason.OtherFocusReason)
        return panel

    def close_call(self) -> None:
        panel, self.panel = self.panel, None
        if panel is not None:
            panel.stop()
            self.pages.removeWidget(panel)
            panel.deleteLater()
        self.pages.setCurrentWidget(self.board)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
