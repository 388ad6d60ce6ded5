"""The console's phone against a real engine process and a real call (a sipp caller ringing
the order-status agent), with its audio on a private PulseAudio daemon (null sink and source):
Listen hears the call, Barge is heard by the engine, Take over pauses the AI and Hand back
resumes it, DTMF goes through the control API, and the call's end hangs the phone up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from console.phone import AudioDevices, Phone
from console.phone.audio import AudioIO
from console.views.live import LiveView
from tests.harness.callers import SippCaller
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console, live_console_fixture
from tests.harness.pulse import SINK, SOURCE
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import SippResult, requires_sipp

pytestmark = [requires_sipp, pytest.mark.timeout(300)]

NUMBER = "+14155550199"
SAID = "Your order is on its way."
WAIT_MS = 30_000  # generous: two shared cores, an engine, sipp and aiortc on both ends

sip_server = sip_server_fixture("phone", NUMBER, idle_timeout_seconds=240)
live_console = live_console_fixture(requires=("pulse",))


class Caller(SippCaller):
    """A silent sipp caller on its own thread that stays on the line until the engine's BYE."""

    bye_within_ms = 200_000
    limit_s = 220.0


def participants(engine: RunningEngine, call_id: str) -> list[dict[str, Any]]:
    return run_api(engine, lambda api: api.call_participants(call_id))


def event_types(engine: RunningEngine, call_id: str) -> list[str]:
    return [str(e.get("event_type")) for e in run_api(engine, lambda api: api.call_events(call_id))]


def test_devices_are_the_pulse_null_devices(qapp: QApplication, pulse: None, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    devices = AudioDevices(QSettings(str(tmp_path / "audio.ini"), QSettings.Format.IniFormat))
    assert (SOURCE, "Null Input") in devices.inputs() or SOURCE in dict(devices.inputs())
    assert SINK in dict(devices.outputs())
    assert devices.message() is None
    assert devices.input_id == SOURCE and devices.output_id == SINK


def test_listen_barge_takeover_hand_back(live_console: Console, sip_server: SipServer,
                                         qtbot: QtBot, tmp_path: Path) -> None:
    engine = sip_server.engine
    board = live_console.view("live")
    assert isinstance(board, LiveView)
    caller = Caller(sip_server, tmp_path)
    null_phone: Phone | None = None
    try:
        qtbot.waitUntil(lambda: board.model.rowCount() == 1
                        and board.model.data(board.model.index(0, 3)) == "In progress",
                        timeout=WAIT_MS)
        call_id = board.model.call_id(board.model.index(0, 0))
        assert call_id
        panel = board.open_call(call_id)
        bar = panel.join_bar
        qtbot.waitUntil(lambda: panel.model.is_loaded and bar.listen_button.isEnabled(), timeout=WAIT_MS)
        assert not bar.leave_button.isVisible() and not bar.meters.isVisible()
        assert live_console.session.context.phone_if_made is None  # made on the first join

        # -- Listen: the phone hears the call (the agent's voice reaches the speaker)
        qtbot.mouseClick(bar.listen_button, Qt.MouseButton.LeftButton)
        phone = live_console.session.context.phone_if_made
        assert isinstance(phone, Phone)
        levels: list[tuple[float, float]] = []
        phone.levels.connect(lambda mic, speaker: levels.append((mic, speaker)))
        qtbot.waitUntil(lambda: phone.state == "connected" and phone.participant_id is not None,
                        timeout=WAIT_MS)
        assert phone.call_id == call_id and phone.role == "listen"
        assert bar.state_label.text() == "Listening…"
        assert bar.leave_button.isVisible() and bar.leave_button.text() == "Leave"
        assert not bar.listen_button.isEnabled()
        qtbot.waitUntil(lambda: phone.frames_received > 50, timeout=WAIT_MS)
        assert phone.frames_sent == 0  # a listener sends nothing
        assert [p["role"] for p in participants(engine, call_id)] == ["listen"]
        assert not phone.audio.output_null and phone.audio.input_null  # the mic stays closed
        qtbot.waitUntil(lambda: phone.audio.bytes_played > 48_000, timeout=WAIT_MS)  # 0.5 s out
        panel.model.say(SAID)  # the agent speaks: the listener's speaker meter moves
        qtbot.waitUntil(lambda: any(speaker > 0.01 for _, speaker in levels), timeout=WAIT_MS)
        assert bar.speaker_meter.value() > 0 or any(s > 0.01 for _, s in levels)

        # a second phone with no audio device at all listens too: silence in, frames discarded
        null_phone = Phone(live_console.session.bridge, AudioDevices(use_devices=False))
        null_phone.join(call_id, "listen")
        qtbot.waitUntil(lambda: null_phone is not None and null_phone.frames_received > 50,
                        timeout=WAIT_MS)
        assert null_phone.audio.output_null and null_phone.audio.input_null
        assert null_phone.devices.message() is not None
        qtbot.waitUntil(lambda: null_phone is not None and null_phone.audio.bytes_discarded > 0,
                        timeout=WAIT_MS)
        null_phone.hang_up()
        qtbot.waitUntil(lambda: null_phone is not None and null_phone.state == "ended", timeout=WAIT_MS)

        # -- Barge: the phone's microphone (the null source) reaches the engine
        listen_id = phone.participant_id
        qtbot.mouseClick(bar.barge_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: phone.state == "connected" and phone.role == "barge"
                        and phone.participant_id not in (None, listen_id), timeout=WAIT_MS)
        assert bar.state_label.text() == "Barged in"
        qtbot.waitUntil(lambda: phone.frames_sent > 50 and phone.frames_received > 50, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: phone.audio.bytes_captured > 9600, timeout=WAIT_MS)  # 100 ms of mic
        barge_id = phone.participant_id

        def engine_hears_barge() -> bool:
            joined = participants(engine, call_id)
            return [p["role"] for p in joined] == ["barge"] and joined[0]["frames_received"] > 20

        qtbot.waitUntil(engine_hears_barge, timeout=WAIT_MS)
        assert "participant.left" in event_types(engine, call_id)  # the listener left first

        # -- DTMF into the call through the control API
        phone.send_dtmf("5")
        qtbot.waitUntil(lambda: "control.dtmf" in event_types(engine, call_id), timeout=WAIT_MS)

        # -- Take over: the AI agent is paused while the phone has the call
        qtbot.mouseClick(bar.takeover_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: phone.state == "connected" and phone.role == "takeover"
                        and phone.participant_id not in (None, barge_id), timeout=WAIT_MS)
        assert bar.state_label.text() == "You have the call"
        assert bar.leave_button.text() == "Hand back"
        qtbot.waitUntil(lambda: "agent.taken_over" in event_types(engine, call_id), timeout=WAIT_MS)
        assert [p["role"] for p in participants(engine, call_id)] == ["takeover"]

        # -- Hand back: the AI agent resumes and the phone is off the call
        qtbot.mouseClick(bar.leave_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: phone.state == "ended", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "agent.handed_back" in event_types(engine, call_id), timeout=WAIT_MS)
        assert participants(engine, call_id) == []
        assert not bar.leave_button.isVisible() and bar.listen_button.isEnabled()
        assert levels[-1] == (0.0, 0.0)

        # -- the call ends while the phone listens: the phone hangs up by itself
        qtbot.mouseClick(bar.listen_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: phone.state == "connected", timeout=WAIT_MS)
        panel.model.end_call()
        qtbot.waitUntil(lambda: phone.state == "ended", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not bar.listen_button.isEnabled(), timeout=WAIT_MS)
    finally:
        if null_phone is not None:
            null_phone.close()
            null_phone.deleteLater()
        caller.close()
    assert isinstance(caller.result, SippResult), caller.result
    assert caller.result.returncode == 0, caller.result.stderr


def test_audio_io_moves_bytes_through_pulse(qapp: QApplication, pulse: None, qtbot: QtBot,
                                            tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from console.phone.ring import FRAME_BYTES, RingBuffer

    devices = AudioDevices(QSettings(str(tmp_path / "audio.ini"), QSettings.Format.IniFormat))
    mic, speaker = RingBuffer(FRAME_BYTES * 10), RingBuffer(FRAME_BYTES * 50)
    audio = AudioIO(devices, mic, speaker)
    audio.start()
    try:
        assert not audio.input_null and not audio.output_null
        speaker.write(bytes(FRAME_BYTES * 25))  # half a second to play
        qtbot.waitUntil(lambda: audio.bytes_captured > FRAME_BYTES * 10, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: audio.bytes_played >= FRAME_BYTES * 25, timeout=WAIT_MS)
        assert len(mic) <= FRAME_BYTES * 10  # bounded: the oldest went
    finally:
        audio.stop()
        audio.deleteLater()
