"""The audio devices: choices remembered by device id and followed as devices come and go (on
the session's PulseAudio daemon), and the console with no audio device at all (a process with
no PulseAudio): the phone's null devices and the Settings view's message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console.phone import AudioDevices
from console.phone.audio import NO_DEVICES, AudioIO
from console.phone.ring import FRAME_BYTES, RingBuffer
from tests.harness.pulse import SINK, Session

WAIT_MS = 15_000
SPARE = "vspare"  # a sink the test plugs in and out


def test_choices_are_remembered_and_followed_when_the_device_appears(
        qapp: QApplication, pulse: None, qtbot: QtBot, tmp_path: Path) -> None:
    daemon = Session.daemon
    assert daemon is not None
    settings = QSettings(str(tmp_path / "audio.ini"), QSettings.Format.IniFormat)
    devices = AudioDevices(settings)
    assert devices.output_id == SINK
    audio = AudioIO(devices, RingBuffer(FRAME_BYTES * 10), RingBuffer(FRAME_BYTES * 10))
    audio.start()
    module = ""
    try:
        assert audio.sink is not None and audio._output_id == SINK
        # chosen while absent: remembered, and the default plays meanwhile
        with qtbot.waitSignal(devices.changed, timeout=WAIT_MS):
            devices.output_id = SPARE
        assert devices.chosen("output") == SPARE and devices.output_id == SINK
        # it is plugged in: in use at once, the running stream moves to it
        module = daemon.pactl("load-module", "module-null-sink", f"sink_name={SPARE}").strip()
        qtbot.waitUntil(lambda: devices.output_id == SPARE, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: audio._output_id == SPARE and audio.sink is not None, timeout=WAIT_MS)
        # a new console remembers the choice by device id
        again = AudioDevices(QSettings(str(tmp_path / "audio.ini"), QSettings.Format.IniFormat))
        assert again.output_id == SPARE
        # back to the system default
        devices.output_id = ""
        qtbot.waitUntil(lambda: audio._output_id == SINK, timeout=WAIT_MS)
    finally:
        audio.stop()
        audio.deleteLater()
        if module:
            daemon.pactl("unload-module", module)


NO_DEVICE_SCRIPT = r"""
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from console.bridge import ApiBridge
from console.context import ConsoleContext, EngineInfo
from console.phone import Phone
from console.phone.ring import FRAME_BYTES
from console.views.settings import SettingsView

bridge = ApiBridge("http://127.0.0.1:9", "no-key")
ctx = ConsoleContext(bridge, EngineInfo("http://127.0.0.1:9", "remote"))
view = SettingsView(ctx)
view.resize(1200, 800)
view.show()
app.processEvents()
phone = ctx.phone
phone.audio.start()
phone.speaker.write(bytes(FRAME_BYTES * 5))
deadline = __import__("time").monotonic() + 10
while phone.audio.bytes_discarded == 0 and __import__("time").monotonic() < deadline:
    app.processEvents()
result = {
    "inputs": ctx.audio_devices.inputs(), "outputs": ctx.audio_devices.outputs(),
    "message": ctx.audio_devices.message(),
    "shown": view.audio_message.text() if view.audio_message.isVisible() else None,
    "input_combo": [view.input_combo.isEnabled(), view.input_combo.currentText()],
    "test_speaker": view.test_speaker_button.isEnabled(),
    "input_null": phone.audio.input_null, "output_null": phone.audio.output_null,
    "discarded": phone.audio.bytes_discarded, "tone": phone.test_speaker(),
}
phone.close()
view.close()
bridge.close()
print("RESULT " + json.dumps(result))
"""


def test_no_audio_device_runs_null_devices_and_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PULSE_SERVER": f"unix:{tmp_path / 'no-such-socket'}",
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.run([sys.executable, "-c", NO_DEVICE_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["inputs"] == [] and result["outputs"] == []
    assert result["message"] == NO_DEVICES
    assert result["shown"] == NO_DEVICES  # the Settings view says it
    assert result["input_combo"] == [False, "No device"]
    assert result["test_speaker"] is False and result["tone"] is False
    assert result["input_null"] and result["output_null"]
    assert result["discarded"] > 0  # what arrives for the speaker goes, at the pace it comes
