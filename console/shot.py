"""``switchboard shot VIEW OUT.png``: one console view rendered offscreen to a PNG."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.views.base import View

LOAD_TIMEOUT_MS = 60_000
HEALTH_TIMEOUT_S = 10.0


def grab(window: object, out: Path) -> Path:
    """Paint the window into a PNG."""
    from PySide6.QtWidgets import QApplication, QWidget

    assert isinstance(window, QWidget)
    for _ in range(3):  # let layouts and deferred deletions settle before painting
        QApplication.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        raise OSError(f"could not write {out}")
    return out


def wait_connection(window: object, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
    """Run the event loop until the engine's first health check has answered: the status bar
    is in the picture, and says "Connecting" until then."""
    import time

    from PySide6.QtWidgets import QApplication

    from console.window import MainWindow

    assert isinstance(window, MainWindow)
    deadline = time.monotonic() + timeout_s
    while window.connection_state == "connecting" and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def open_live_call(window: object, spec: str) -> View:
    """``live:CALL_ID``: the Live view with that call's live panel open."""
    from console.session import open_view
    from console.views.live import LiveView

    call_id = spec.partition(":")[2]
    page = open_view(window, "live")  # type: ignore[arg-type]
    assert isinstance(page, LiveView)
    page.open_call(call_id)
    return page


def open_softphone(window: object) -> View:
    """``softphone``: the Live view with the softphone dock open beside it, its users loaded."""
    from PySide6.QtCore import QEventLoop, QTimer

    from console.session import open_view
    from console.window import MainWindow

    assert isinstance(window, MainWindow)
    page = open_view(window, "live")
    loop = QEventLoop()
    window.softphone.model.users_loaded.connect(loop.quit)
    QTimer.singleShot(LOAD_TIMEOUT_MS, loop.quit)
    window.softphone.show()
    loop.exec()
    return page


def show_tab(page: object, title: str) -> None:
    """Select the tab titled ``title`` in the first of the page's tab widgets that has one."""
    from PySide6.QtWidgets import QTabWidget, QWidget

    assert isinstance(page, QWidget)
    for tabs in page.findChildren(QTabWidget):
        for index in range(tabs.count()):
            if tabs.tabText(index).replace("&", "").lower() == title.lower():
                tabs.setCurrentIndex(index)
                return
    raise ValueError(f"tab: no tab titled {title!r} in this view")


def run_shot(view: str, out: Path, *, size: tuple[int, int] = (1400, 900), theme: str = "light",
             engine_url: str | None = None, api_key: str | None = None, data_dir: Path | None = None,
             demo: bool = False, tab: str | None = None, dock: bool = False) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from console import theme as themes
    from console.context import EngineInfo
    from console.embedded import EmbeddedEngine
    from console.session import open_session, open_view, wait_loaded

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    themes.apply(app, theme)
    embedded: EmbeddedEngine | None = None
    scratch: Path | None = None
    try:
        if engine_url:
            info = EngineInfo(url=engine_url, mode="remote")
            key = api_key or ""
        else:
            if demo:
                scratch = Path(tempfile.mkdtemp(prefix="switchboard-shot-"))
                embedded = EmbeddedEngine(scratch / "data", demo=True)
            else:
                embedded = EmbeddedEngine(data_dir)
            embedded.start()
            info = EngineInfo(url=embedded.wait_ready(), mode="demo" if demo else "embedded",
                              data_dir=embedded.data_dir)
            key = embedded.api_key
        session = open_session(info, key, persist_theme=False)
        try:
            window = session.window
            window.resize(*size)
            window.show()
            if view.startswith("live:"):
                page = open_live_call(window, view)
            elif view == "softphone":
                page = open_softphone(window)
            else:
                page = open_view(window, view)
            if not wait_loaded(page, LOAD_TIMEOUT_MS):
                print(f"switchboard shot: {view} did not finish loading; capturing anyway", file=sys.stderr)
            if dock:
                window.softphone.show()
            if tab:
                show_tab(page, tab)
            wait_connection(window)
            grab(window, Path(out))
        finally:
            session.close()
    except (ValueError, RuntimeError, TimeoutError) as exc:
        print(f"switchboard shot: {exc}", file=sys.stderr)
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(out)
    return 0
