"""``switchboard``: the console window, on an embedded engine or attached to a remote one."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QVBoxLayout, QWidget

from console import theme
from console.context import EngineInfo
from console.embedded import EmbeddedEngine
from console.session import ConsoleSession, open_session, saved_theme
from console.views.widgets import guard_wheel

log = logging.getLogger(__name__)


class Launcher(QObject):
    """Waits for the embedded engine without blocking, then opens the window."""

    def __init__(self, embedded: EmbeddedEngine, mode: str, *,
                 exit_after: float | None = None) -> None:
        super().__init__()
        self.embedded = embedded
        self.mode = mode
        self.exit_after = exit_after  # seconds from the engine's ready line, then quit
        self.failed = False
        self.session: ConsoleSession | None = None
        self.splash = QWidget()
        self.splash.setWindowTitle("Switchboard")
        self.splash.setWindowIcon(theme.app_icon())
        layout = QVBoxLayout(self.splash)
        layout.setContentsMargins(40, 30, 40, 30)
        text = "Preparing the demo data…" if mode == "demo" else "Starting the engine…"
        label = QLabel(f"<b>Switchboard</b><br>{text}")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
        self.splash.resize(360, 140)
        embedded.ready.connect(self.on_ready)
        embedded.failed.connect(self.on_failed)

    @Slot(str)
    def on_ready(self, url: str) -> None:
        info = EngineInfo(url=url, mode=self.mode, data_dir=self.embedded.data_dir)
        self.session = open_session(info, self.embedded.api_key, embedded=self.embedded)
        self.session.window.show()
        self.splash.close()
        if self.exit_after is not None:
            QTimer.singleShot(round(self.exit_after * 1000), QApplication.quit)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.failed = True
        self.splash.close()
        if self.exit_after is not None:  # unattended: say it, no dialog
            log.error("the engine could not start: %s", message)
            QApplication.quit()
            return
        QMessageBox.critical(None, "Switchboard", f"The engine could not start: {message}")
        QApplication.quit()


def run_console(engine_url: str | None = None, api_key: str | None = None, data_dir: Path | None = None,
                demo: bool = False, exit_after: float | None = None) -> int:
    """Open the console: on a remote engine (URL + key) or on an embedded child engine."""
    logging.basicConfig(level=logging.WARNING)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Switchboard")
    app.setOrganizationName("switchboard")
    app.setWindowIcon(theme.app_icon())
    theme.apply(app, saved_theme())
    guard_wheel(app)

    if engine_url:
        session = open_session(EngineInfo(url=engine_url, mode="remote"), api_key or "")
        session.window.show()
        app.aboutToQuit.connect(session.close)
        return app.exec()

    embedded = EmbeddedEngine(data_dir, demo=demo)
    launcher = Launcher(embedded, "demo" if demo else "embedded", exit_after=exit_after)

    def shutdown() -> None:
        if launcher.session is not None:
            launcher.session.close()
        else:
            embedded.stop()

    app.aboutToQuit.connect(shutdown)
    embedded.start()
    launcher.splash.show()
    code = app.exec()
    return 1 if launcher.failed else code
