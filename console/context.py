"""What every view shares: the API bridge, the engine connection and the theme switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.bridge import ApiBridge


@dataclass
class EngineInfo:
    """Where the engine is and who runs it: ``embedded``, ``demo`` or ``remote``."""

    url: str
    mode: str
    data_dir: Path | None = None


class ConsoleContext(QObject):
    """Shared services. ``records_changed(kind)`` tells views that agents, campaigns... changed."""

    records_changed = Signal(str)
    theme_changed = Signal(str)
    engine_changed = Signal()

    def __init__(self, bridge: ApiBridge, engine: EngineInfo,
                 set_theme: Callable[[str], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.engine = engine
        self._set_theme = set_theme

    def set_theme(self, name: str) -> None:
        if self._set_theme is not None:
            self._set_theme(name)
        self.theme_changed.emit(name)

    def attach(self, url: str, api_key: str) -> None:
        """Point the console at another engine by URL and key."""
        self.bridge.reconnect(url, api_key)
        self.engine = EngineInfo(url=url, mode="remote", data_dir=None)
        self.engine_changed.emit()
