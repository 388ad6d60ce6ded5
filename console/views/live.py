"""The Live view: calls in progress now, fed by the events socket (snapshot, then ``call.*``)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QStackedLayout, QWidget

from console.context import ConsoleContext
from console.models.live import LiveCallsModel
from console.views.base import View
from console.views.widgets import empty_state, heading, table_view
from engine.client import Record

SNAPSHOT_WAIT_MS = 5000  # without a snapshot by then, the board shows what it has


class LiveView(View):
    title = "Live"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.subtitle = heading("Live", "Calls in progress right now")
        self.page.addWidget(top)
        self.model = LiveCallsModel(self)
        self.table = table_view(self.model)
        for column, width in enumerate((90, 90, 150, 150, 160)):
            self.table.horizontalHeader().resizeSection(column, width)
        self.empty = empty_state("No live calls\n\nCalls appear here the moment they start.")
        holder = QWidget()
        self.stack = QStackedLayout(holder)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        self.page.addWidget(holder, 1)
        self.snapshot_seen = False
        self.model.changed.connect(self._changed)
        self.bridge.event_received.connect(self._event)
        self.bridge.events_connected.connect(self._events_state)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(SNAPSHOT_WAIT_MS)
        self._timeout.timeout.connect(self.loaded.emit)
        ctx.records_changed.connect(lambda kind: self._load_agents() if kind == "agent" else None)

    def refresh(self) -> None:
        self._load_agents()
        self._changed()
        if self.snapshot_seen:
            self.loaded.emit()
        else:
            self.is_loaded = False
            self._timeout.start()

    def _load_agents(self) -> None:
        self.bridge.call(lambda api: api.agents.all(), self._got_agents, lambda exc: None)

    def _got_agents(self, agents: list[Record]) -> None:
        self.model.agent_names = {a["id"]: a.get("name", "") for a in agents}
        self.model.layoutChanged.emit()

    def _event(self, event: Record) -> None:
        self.model.apply_event(event)
        if event.get("type") == "snapshot":
            self.snapshot_seen = True
            self._timeout.stop()
            self.loaded.emit()

    def _events_state(self, up: bool) -> None:
        if not up and not self.snapshot_seen and self._started:
            self.subtitle.setText("Waiting for the engine's events…")
            self._timeout.stop()
            self.loaded.emit()

    def _changed(self) -> None:
        count = self.model.rowCount()
        self.stack.setCurrentWidget(self.table if count else self.empty)
        self.subtitle.setText(f"{count} live call{'s' if count != 1 else ''}" if count
                              else "Calls in progress right now")
