"""Opening the console on an engine: the bridge, the shared context and the main window."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from console import theme
from console.bridge import ApiBridge
from console.context import ConsoleContext, EngineInfo
from console.embedded import EmbeddedEngine
from console.views.base import View
from console.views.widgets import guard_wheel
from console.window import MainWindow

VIEW_NAMES = ("calls", "agents", "campaigns", "numbers", "usage", "settings", "live")
SINGULAR = {"call": "calls", "agent": "agents", "campaign": "campaigns"}


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Put everything allocated so far (modules, classes, the Qt bindings) out of the garbage
    collector's sight, once per process: a full collection then scans only what the console made
    since. Measured at the first calls page: full collections of 96-190 ms without this, which
    hold the GIL and so stall the GUI thread."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


def saved_theme() -> str:
    value = QSettings("switchboard", "console").value("theme", "light")
    return value if value in theme.THEMES else "light"


def remember_theme(name: str) -> None:
    QSettings("switchboard", "console").setValue("theme", name)


@dataclass
class ConsoleSession:
    """A window attached to an engine; ``close()`` releases all of it (and stops an embedded engine)."""

    window: MainWindow
    bridge: ApiBridge
    context: ConsoleContext
    embedded: EmbeddedEngine | None = None

    def close(self) -> None:
        self.window.close()
        self.bridge.close()
        self.window.deleteLater()
        self.bridge.deleteLater()
        self.context.deleteLater()
        if self.embedded is not None:
            self.embedded.stop()


def open_session(engine: EngineInfo, api_key: str, *, embedded: EmbeddedEngine | None = None,
                 persist_theme: bool = True, events: bool = True) -> ConsoleSession:
    app = QApplication.instance()
    assert isinstance(app, QApplication)

    def set_theme(name: str) -> None:
        theme.apply(app, name)
        if persist_theme:
            remember_theme(name)

    guard_wheel(app)  # before any form is built: their fields' focus policy is set as they polish
    freeze_startup_objects()
    bridge = ApiBridge(engine.url, api_key)
    context = ConsoleContext(bridge, engine, set_theme)
    window = MainWindow(context)
    if events:
        bridge.start_events()
    return ConsoleSession(window, bridge, context, embedded)


def open_view(window: MainWindow, spec: str) -> View:
    """Show the view a ``shot`` spec names: ``calls``, ``call:ID``, ``agent:ID``, ``campaign:ID``..."""
    name, _, ident = spec.partition(":")
    if ident:
        if name not in SINGULAR:
            raise ValueError(f"{spec!r}: only call:, agent: and campaign: take an id")
        view = window.show_view(SINGULAR[name])
        if name == "call":
            view.open_call_when_loaded(ident)  # type: ignore[attr-defined]
        else:
            view.select(ident)  # type: ignore[attr-defined]
        return view
    if name not in VIEW_NAMES:
        raise ValueError(f"unknown view {spec!r}; one of {', '.join(VIEW_NAMES)}, call:ID, agent:ID, "
                         "campaign:ID")
    return window.show_view(name)


def wait_loaded(view: View, timeout_ms: int = 60_000) -> bool:
    """Run the event loop until the view says its data is in (or the timeout passes)."""
    if view.is_loaded:
        return True
    loop = QEventLoop()
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    view.loaded.connect(loop.quit)
    timer.start(timeout_ms)
    loop.exec()
    view.loaded.disconnect(loop.quit)
    return view.is_loaded
