"""What every view shares: the API bridge, the engine connection and the theme switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from console.bridge import ApiBridge

if TYPE_CHECKING:
    from console.phone import AudioDevices, Phone


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
        self._audio_devices: AudioDevices | None = None
        self._phone: Phone | None = None

    @property
    def audio_devices(self) -> AudioDevices:
        """The audio devices (made the first time they are asked for: QtMultimedia loads then)."""
        if self._audio_devices is None:
            from console.phone import AudioDevices

            self._audio_devices = AudioDevices(parent=self)
        return self._audio_devices

    @property
    def phone(self) -> Phone:
        """The window's phone (one per window), made the first time it is asked for."""
        if self._phone is None:
            from console.phone import Phone

            self._phone = Phone(self.bridge, self.audio_devices, self)
        return self._phone

    @property
    def phone_if_made(self) -> Phone | None:
        return self._phone

    def close_phone(self) -> None:
        """Hangs the phone up and stops its media thread (the window is closing)."""
        if self._phone is not None:
            self._phone.close()

    def set_theme(self, name: str) -> None:
        if self._set_theme is not None:
            self._set_theme(name)
        self.theme_changed.emit(name)

    def attach(self, url: str, api_key: str) -> None:
        """Point the console at another engine by URL and key."""
        self.bridge.reconnect(url, api_key)
        self.engine = EngineInfo(url=url, mode="remote", data_dir=None)
        self.engine_changed.emit()
