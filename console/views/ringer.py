"""The ring of an offered transfer: a generated ring tone looped on the ringer device, and a
desktop notification. Both are best effort: no audio device or no tray simply means no sound or
a status-bar message instead."""

from __future__ import annotations

import atexit
import math
import shutil
import struct
import tempfile
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from console import theme

if TYPE_CHECKING:  # QtMultimedia loads with the first ring, not with the window
    from PySide6.QtMultimedia import QAudioDevice, QSoundEffect


RING_RATE = 8000  # Hz: a telephone-band tone needs no more
RING_TONES = (440.0, 480.0)  # North American ring-back pair (ITU-T E.180 lists it)
RING_ON_S = 1.0
RING_OFF_S = 2.0
RING_VOLUME = 0.35  # of full scale per tone; the pair peaks at 0.7
RING_EFFECT_VOLUME = 0.8  # QSoundEffect gain: loud enough to notice, below clipping

_tone_file: Path | None = None


def ring_tone() -> Path:
    """A WAV with one ring cycle (tone, then silence), written once per process to a temp dir."""
    global _tone_file
    if _tone_file is not None and _tone_file.exists():
        return _tone_file
    folder = Path(tempfile.mkdtemp(prefix="switchboard-ring-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "ring.wav"
    on = int(RING_RATE * RING_ON_S)
    frames = bytearray()
    for n in range(on):
        ramp = min(1.0, n / 80, (on - n) / 80)  # 10 ms fade in and out: no clicks
        value = sum(math.sin(2 * math.pi * f * n / RING_RATE) for f in RING_TONES) * RING_VOLUME * ramp
        frames += struct.pack("<h", int(value * 32767))
    frames += bytes(2 * int(RING_RATE * RING_OFF_S))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RING_RATE)
        out.writeframes(bytes(frames))
    _tone_file = path
    return path


class Ringer(QObject):
    """``start(device, title, text)`` rings and notifies; ``stop()`` ends both."""

    def __init__(self, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self._effect: QSoundEffect | None = None
        self._tray: QSystemTrayIcon | None = None
        self.ringing = False

    @property
    def sound_playing(self) -> bool:
        """The ring tone is playing on a device (it loads asynchronously after ``start``)."""
        return self._effect is not None and self._effect.isPlaying()

    def start(self, device: QAudioDevice | None, title: str, text: str) -> None:
        """Ring on ``device`` (the chosen ringer; None: no sound) and notify."""
        self.ringing = True
        if device is not None and not device.isNull():
            self._play(device)
        self._notify(title, text)

    def stop(self) -> None:
        self.ringing = False
        if self._effect is not None:
            self._effect.stop()
        if self._tray is not None:
            self._tray.hide()

    # -- sound ----------------------------------------------------------------------------------

    def _play(self, device: QAudioDevice) -> None:
        from PySide6.QtMultimedia import QSoundEffect

        effect = self._effect
        if effect is None:
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(ring_tone())))
            effect.setLoopCount(QSoundEffect.Loop.Infinite.value)
            effect.setVolume(RING_EFFECT_VOLUME)
            self._effect = effect
        effect.setAudioDevice(device)
        effect.play()  # loads and plays on Qt's audio thread; returns at once

    # -- notification ---------------------------------------------------------------------------

    def _notify(self, title: str, text: str) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(theme.app_icon(), self)
            self._tray.show()
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 10_000)
        else:
            status = getattr(self.window, "show_message", None)
            if status is not None:
                status(f"{title}: {text}", 15_000)
        QApplication.alert(self.window)
