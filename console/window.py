"""The main window: navigation rail, the views, and the engine connection in the status bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.context import ConsoleContext
from console.views import VIEW_CLASSES
from console.views.base import View
from console.views.softphone import SoftphoneDock
from console.views.widgets import PageStack
from engine.events import Event, RecordEvent

HEALTH_INTERVAL_MS = 5000  # how often the status bar checks the engine's /health
# A check that fails is tried again at once on a fresh connection: one lost request (a connection
# closed under it) is not a lost engine. The state turns "disconnected" after this many in a row.
HEALTH_FAILURES_TO_DISCONNECT = 2
NAVIGATION = (("live", "Live"), ("calls", "Calls"), ("agents", "Agents"), ("campaigns", "Campaigns"),
              ("numbers", "Numbers & trunks"), ("usage", "Usage"), ("settings", "Settings"))


RECORD_KINDS = frozenset({"agent", "campaign", "phone_number", "sip_trunk", "lead"})  # lists reload
# Quit: Ctrl+Q as in Linphone, GNOME and KDE apps (Qt's StandardKey.Quit has no key on Windows)
QUIT_SHORTCUT = "Ctrl+Q"


class MainWindow(QMainWindow):
    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.bridge = ctx.bridge
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(theme.app_icon())
        self.resize(1400, 900)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        rail = QWidget()
        rail.setObjectName("brandBox")
        rail.setFixedWidth(168)
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(0, 0, 0, 0)
        rail_layout.setSpacing(0)
        brand = QLabel("Switchboard")
        brand.setObjectName("brand")
        rail_layout.addWidget(brand)
        self.rail = QListWidget()
        self.rail.setObjectName("navRail")
        self.rail.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rail.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rail_layout.addWidget(self.rail, 1)
        row.addWidget(rail)
        self.stack = PageStack()
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.views: dict[str, View] = {}  # built on first visit: a window opens with one view
        file_menu = self.menuBar().addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence(QUIT_SHORTCUT))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.quit)
        file_menu.addAction(self.quit_action)
        self.view_menu = self.menuBar().addMenu("&View")
        for number, (name, title) in enumerate(NAVIGATION, start=1):
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(f"{title}  (Ctrl+{number})")
            self.rail.addItem(item)
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda n=name: self.show_view(n))
            action = QAction(f"{title}\tCtrl+{number}", self)  # the key shown, the shortcut's own
            action.triggered.connect(lambda _=False, n=name: self.show_view(n))
            self.view_menu.addAction(action)
        self.rail.currentRowChanged.connect(self._rail_changed)

        self.connection_dot = QLabel("●")
        self.connection_dot.setObjectName("connectionDot")
        self.connection_text = QLabel()
        self.statusBar().addPermanentWidget(self.connection_dot)
        self.statusBar().addPermanentWidget(self.connection_text)
        self.sip_text = QLabel()  # "SIP 127.0.0.1:5060" while the engine listens for SIP
        self.sip_text.setObjectName("sipAddress")
        self.statusBar().addPermanentWidget(self.sip_text)
        self._info_known = False
        self.statusBar().setSizeGripEnabled(False)
        self._healthy: bool | None = None  # None until the first health check answers
        self._health_failures = 0  # failed checks in a row
        self._events_up = False
        self._set_state("connecting")
        self.softphone = SoftphoneDock(ctx, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.softphone)
        self.softphone.hide()
        rail_layout.addWidget(self.softphone.rail_button())
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.softphone.toggleViewAction())
        self.bridge.events_connected.connect(self._events_state)
        self.bridge.event_received.connect(self._event)
        ctx.engine_changed.connect(self._engine_changed)
        self._health = QTimer(self)
        self._health.setInterval(HEALTH_INTERVAL_MS)
        self._health.timeout.connect(self.check_health)
        self._health.start()
        self.check_health()
        self.show_view("calls")

    # -- navigation ------------------------------------------------------------------------------

    def show_view(self, name: str) -> View:
        names = [n for n, _ in NAVIGATION]
        self.rail.setCurrentRow(names.index(name))
        return self.view(name)

    def view(self, name: str) -> View:
        """The named view, built the first time it is asked for."""
        view = self.views.get(name)
        if view is None:
            view = VIEW_CLASSES[name](self.ctx)
            self.views[name] = view
            self.stack.addWidget(view)
        return view

    def current_view(self) -> View:
        widget = self.stack.currentWidget()
        assert isinstance(widget, View)
        return widget

    def _rail_changed(self, row: int) -> None:
        if row < 0:
            return
        name = NAVIGATION[row][0]
        view = self.view(name)
        self.stack.setCurrentWidget(view)
        view.activate()

    # -- engine state ----------------------------------------------------------------------------

    def check_health(self) -> None:
        self.bridge.call(lambda api: api.health(), self._health_ok, self._health_failed)

    def _health_ok(self, body: dict[str, object]) -> None:
        self._health_failures = 0
        self._healthy = True
        self._set_state("connected")
        if not self._info_known:
            self.bridge.call(lambda api: api.engine_info(), self._engine_info, lambda exc: None)

    def _engine_info(self, info: dict[str, Any]) -> None:
        """What the engine listens on: its SIP address goes to the status bar."""
        self._info_known = True
        sip = info.get("sip") or {}
        self.sip_text.setText(f"·  SIP {sip.get('host')}:{sip.get('port')}  "
                              if sip.get("enabled") else "")

    def _health_failed(self, exc: Exception) -> None:
        self._health_failures += 1
        if self._health_failures < HEALTH_FAILURES_TO_DISCONNECT:
            self.check_health()  # again now, before saying anything
            return
        self._healthy = False
        self._set_state("disconnected")

    def _events_state(self, up: bool) -> None:
        """The events socket came up or went down; the engine's health decides the state (the
        socket may answer before the first health check does)."""
        self._events_up = up
        self._set_state("connecting" if self._healthy is None
                        else "connected" if self._healthy else "disconnected")

    def _event(self, event: Event) -> None:
        if isinstance(event, RecordEvent) and event.resource in RECORD_KINDS:
            self.ctx.records_changed.emit(event.resource)

    def _set_state(self, state: str) -> None:
        self.connection_state = state
        events = ""
        if state == "connected":
            events = "  ·  live events" if self._events_up else "  ·  events offline"
        mode = {"embedded": "embedded engine", "demo": "demo engine", "remote": "remote engine"}.get(
            self.ctx.engine.mode, "engine")
        preposition = "from" if state == "disconnected" else "to"
        self.connection_text.setText(
            f"{state.capitalize()} {preposition} {mode} at {self.ctx.engine.url}{events}")
        self.connection_dot.setProperty("state", state)
        self.connection_dot.style().unpolish(self.connection_dot)
        self.connection_dot.style().polish(self.connection_dot)

    def _engine_changed(self) -> None:
        self._healthy = None
        self._health_failures = 0
        self._info_known = False
        self.sip_text.clear()
        self._set_state("connecting")
        self.check_health()
        for view in self.views.values():
            if view._started:
                view.refresh()

    def show_message(self, text: str, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def quit(self) -> None:
        """File → Quit: close the window and end the console (an embedded engine stops with it)."""
        if self.close():
            QApplication.quit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._health.stop()
        self.ctx.close_phone()
        self.softphone.shutdown()
        super().closeEvent(event)
