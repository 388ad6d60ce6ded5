"""The live call panel against a real engine with SIP on loopback and a sipp caller: macros saved
on the agent and run with Ctrl+n send a real say; the "new messages" marker appears when the
reader has scrolled up and a line arrives; a late join shows the history and the call's events
with their SIP codes; the latency waterfall draws a turn as the engine publishes it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortp.codecs.g711 import PcmaCodec
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QSizePolicy
from pytestqt.qtbot import QtBot

from console.models.live_call import turn_segments, turn_total
from console.models.macros import Macro
from console.views.latency import stage_colors
from console.views.live import LiveView
from console.views.live_call import LiveCallPanel
from engine.client import ApiError, Client
from engine.media.polyphase import resample
from engine.speech.sipcaller import CallerLine, render_lines
from tests.gui.conftest import Console, _console, run_api
from tests.gui.test_live_call import NUMBER, SipServer, sip_server  # noqa: F401 - a fixture
from tests.integration.control.callers import PCMA_PT, recv_bye, write_scenario
from tests.integration.sip.conftest import (
    SippResult,
    free_media_port,
    free_udp_port,
    requires_sipp,
    run_sipp,
)

pytestmark = requires_sipp

SILENCE = b"\xd5" * 160  # 20 ms of A-law silence
MACRO_SAY = "Your refund was approved this morning."
MACRO_WHISPER = "Offer the caller a discount code."
# a ``metrics.turn`` event as the engine publishes it (engine/calls/agent_leg.py, AgentLeg.turn)
RECORDED_TURN = {"type": "metrics.turn", "call_id": "x", "at": "2026-01-01T10:00:03Z",
                 "organization_id": "o",
                 "data": {"call_id": "x", "index": 41, "turn": 3, "eou_ms": 300, "stt_ms": 212,
                          "brain_ms": 35, "tts_ttfb_ms": 4, "voice_to_voice_ms": 640}}


class PlainCaller:
    """A sipp caller on its own thread that talks to the number's agent and waits for the engine's
    BYE. Its media socket answers the engine's RTP with A-law silence every 20 ms (an answered
    call without RTP times out), or with espeak-ng speech queued by ``say``."""

    def __init__(self, server: SipServer, tmp: Path, bye_within_ms: int = 100_000) -> None:
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        media_port = free_media_port()
        self.media.bind(("127.0.0.1", media_port))
        self.media.setblocking(False)
        self.frames: deque[bytes] = deque()
        self.peer: tuple[str, int] | None = None
        self.stopped = threading.Event()
        self.rtp = threading.Thread(target=self._rtp, name="caller-rtp", daemon=True)
        self.rtp.start()
        xml = write_scenario(tmp / "plain_caller.xml", recv_bye(bye_within_ms))
        self.result: SippResult | BaseException | None = None

        def run() -> None:
            try:
                self.result = asyncio.run(run_sipp(xml, server.sip_port, NUMBER.lstrip("+"),
                                                   limit_s=bye_within_ms / 1000 + 5,
                                                   extra=["-key", "rtp_port", str(media_port)]))
            except BaseException as exc:  # handed to the test
                self.result = exc

        self.thread = threading.Thread(target=run, name="sipp-caller", daemon=True)
        self.thread.start()

    def _rtp(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while not self.stopped.is_set():
            try:
                while True:
                    _, self.peer = self.media.recvfrom(4096)
            except (BlockingIOError, OSError):
                pass
            now = time.monotonic()
            if self.peer is not None and now >= next_at:
                payload = self.frames.popleft() if self.frames else SILENCE
                header = struct.pack("!BBHII", 0x80, PCMA_PT, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                                     0x0CA11E55)
                with contextlib.suppress(OSError):
                    self.media.sendto(header + payload, self.peer)
                seq += 1
                next_at = max(next_at + 0.02, now - 0.1)
            self.stopped.wait(0.004)

    def say(self, text: str) -> None:
        """Queue ``text`` as espeak-ng speech, 8 kHz A-law in 20 ms frames."""
        audio = render_lines([CallerLine(0.2, text)], 1.0)
        pcm = resample(audio.pcm, 16000, 8000)
        codec = PcmaCodec()
        self.frames.extend(codec.encode(pcm[i:i + 320]) for i in range(0, len(pcm) - 320 + 1, 320))

    def close(self) -> None:
        self.thread.join(timeout=120)
        self.stopped.set()
        self.rtp.join(timeout=5)
        self.media.close()

    def check(self) -> None:
        assert isinstance(self.result, SippResult), self.result
        assert self.result.returncode == 0, self.result.stderr


class SippUas:
    """sipp as a transfer's recipient on a free loopback port, for one call."""

    def __init__(self, scenario: Path) -> None:
        self.port = free_udp_port()
        self.uri = f"sip:desk@127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["sipp", "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_media_port()),
             "-m", "1", "-nostdin", "-timeout", "80s", "-timeout_error", "-sf", str(scenario),
             "-key", "rtp_port", str(free_media_port())],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait(self, timeout: float = 30.0) -> int:
        _, err = self.proc.communicate(timeout=timeout)
        self.stderr = err
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def live_console(qapp: QApplication, sip_server: SipServer) -> Iterator[Console]:  # noqa: F811
    yield from _console(qapp, sip_server.engine)


def open_panel(console: Console, qtbot: QtBot) -> tuple[LiveView, LiveCallPanel]:
    """The board's only live call opened in the panel, once the agent greeted and listens."""
    board = console.view("live")
    assert isinstance(board, LiveView)
    qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=20_000)
    call_id = board.model.call_id(board.model.index(0, 0))
    assert call_id
    panel = board.open_call(call_id)
    qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=15_000)
    qtbot.waitUntil(lambda: any(e.get("source") == "agent" and not e.get("partial")
                                and "Northwind" in str(e.get("text"))
                                for e in panel.model.transcript.entries), timeout=30_000)
    qtbot.waitUntil(lambda: panel.model.agent_state == "listening", timeout=30_000)
    return board, panel


def end_live_calls(server: SipServer) -> None:
    """After a failed test: hang up what is still live, so the sipp peers finish."""
    async def end(api: Client) -> None:
        for call in (await api.list_calls(status="live")).items:
            with contextlib.suppress(ApiError):
                await api.control(call["id"], "end_call")

    run_api(server.engine, end)


def supervisor_lines(panel: LiveCallPanel, text: str) -> int:
    return sum(1 for e in panel.model.transcript.entries if e.get("source") == "supervisor"
               and text in str(e.get("text")) and not e.get("partial"))


def test_macros_marker_history_and_waterfall(live_console: Console, sip_server: SipServer,  # noqa: F811
                                             qtbot: QtBot, tmp_path: Path) -> None:
    agent_id = sip_server.agent_id
    run_api(sip_server.engine, lambda api: api.agents.update(agent_id, metadata={"team": "north"}))
    caller = PlainCaller(sip_server, tmp_path)
    try:
        board, panel = open_panel(live_console, qtbot)
        call_id = panel.model.call_id

        # the caller speaks: the agent answers, and the engine's turn latency lands in the waterfall
        caller.say("Where is my order?")
        qtbot.waitUntil(lambda: any(t.get("voice_to_voice_ms") for t in panel.model.latency.turns),
                        timeout=90_000)
        real = next(t for t in panel.model.latency.turns if t.get("voice_to_voice_ms"))
        assert real["voice_to_voice_ms"] > 0 and real.get("stt_ms") is not None
        assert turn_total(real) >= real["voice_to_voice_ms"]
        assert any(e.get("source") == "user" and "order" in str(e.get("text")).lower()
                   for e in panel.model.transcript.entries)
        qtbot.waitUntil(lambda: panel.model.agent_state == "listening", timeout=30_000)

        # the events list shows the call's SIP exchange with its codes
        qtbot.waitUntil(lambda: panel.model.events.rowCount() > 0, timeout=10_000)
        lines = [panel.model.events.data(panel.model.events.index(r))
                 for r in range(panel.model.events.rowCount())]
        assert any("response_sent" in line and "100 Trying" in line for line in lines), lines

        # macros: written in the editor, saved on the agent next to its other metadata
        qtbot.waitUntil(lambda: panel.macro_edit_button.isEnabled(), timeout=10_000)
        editor = panel.edit_macros()
        assert editor is not None
        first = editor.rows[0]
        qtbot.keyClicks(first.label, "Refund")
        qtbot.keyClicks(first.text, MACRO_SAY)
        second = editor.add_row(Macro("", "whisper", ""))
        second.label.setText("Discount")
        editor.save()
        assert second.error.isVisible() and "empty" in second.error.text()  # no text yet
        second.text.setText(MACRO_WHISPER)
        editor.save()
        qtbot.waitUntil(lambda: len(panel.macros.macros) == 2 and panel.macro_editor is None,
                        timeout=15_000)
        stored = run_api(sip_server.engine, lambda api: api.agents.get(agent_id))["metadata"]
        assert stored["team"] == "north"
        assert stored["macros"] == [
            {"label": "Refund", "kind": "say", "text": MACRO_SAY},
            {"label": "Discount", "kind": "whisper", "text": MACRO_WHISPER}]
        assert [b.text() for b in panel.macro_bar.buttons] == ["1  Refund", "2  Discount"]

        # Ctrl+1 in the panel says the first macro: the engine speaks it as the supervisor's line
        live_console.window.activateWindow()
        qtbot.waitUntil(live_console.window.isActiveWindow, timeout=5_000)
        panel.say_box.setFocus()
        qtbot.waitUntil(panel.say_box.hasFocus, timeout=5_000)
        qtbot.keyClick(panel.say_box, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: supervisor_lines(panel, MACRO_SAY) == 1, timeout=20_000)
        assert panel.say_box.toPlainText() == ""  # the key did not type into the box
        assert panel.window().current_view() is board  # and did not switch views
        events = run_api(sip_server.engine, lambda api: api.call_events(call_id))
        says = [e for e in events if e["event_type"] == "control.say"]
        assert says and says[-1]["payload"]["content"] == MACRO_SAY
        # Ctrl+2 whispers the second one: a hidden instruction, not a transcript line
        qtbot.keyClick(panel.say_box, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: any(
            e["event_type"] == "control.inject_context" and e["payload"]["content"] == MACRO_WHISPER
            for e in run_api(sip_server.engine, lambda api: api.call_events(call_id))), timeout=15_000)
        assert supervisor_lines(panel, MACRO_WHISPER) == 0
        # outside the panel Ctrl+2 is the window's again: it opens the Calls view
        board.close_call()
        qtbot.keyClick(board.table, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        assert live_console.window.current_view() is not board
        live_console.window.show_view("live")

        # a late join: the panel opened again shows the history first
        panel = board.open_call(call_id)
        qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=15_000)
        assert supervisor_lines(panel, MACRO_SAY) == 1
        assert panel.model.transcript.entries[0]["source"] == "agent"
        qtbot.waitUntil(lambda: len(panel.macros.macros) == 2, timeout=10_000)

        # scrolled up, a new line raises the marker; clicking it goes to the end
        transcript = panel.transcript
        transcript.setFixedHeight(90)
        bar = transcript.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)
        qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5_000)
        assert not transcript.new_messages.isVisible()
        bar.setValue(0)
        panel.say_box.setFocus()
        rows = panel.model.transcript.rowCount()
        qtbot.keyClick(panel.say_box, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: panel.model.transcript.rowCount() > rows, timeout=20_000)
        qtbot.waitUntil(transcript.new_messages.isVisible, timeout=5_000)
        assert bar.value() == 0  # the reader's place is kept
        marker = transcript.new_messages.geometry()
        assert transcript.viewport().rect().contains(marker), marker
        qtbot.mouseClick(transcript.new_messages, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5_000)
        assert not transcript.new_messages.isVisible()
        # at the end, a new line is followed without a marker
        rows = panel.model.transcript.rowCount()
        qtbot.keyClick(panel.say_box, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: panel.model.transcript.rowCount() > rows, timeout=20_000)
        qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5_000)
        assert not transcript.new_messages.isVisible()
        transcript.setMinimumHeight(0)
        transcript.setMaximumHeight(16_777_215)
        transcript.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        # barge-ins are counted from the agent's recorded interruptions (as the engine writes them)
        panel.model._history(([], [*panel.model.events.events, {
            "id": "i1", "event_type": "agent.interrupted", "provider": "engine",
            "occurred_at": "2026-01-01T10:00:04Z", "payload": {"reason": "barge_in", "count": 2}}]))
        assert panel.model.barge_in_count == 2 and "2 barge-ins" in panel.facts.text()

        # the waterfall: a turn as the engine publishes it
        before = len(panel.model.latency.turns)
        panel.model.apply_event(RECORDED_TURN)
        assert len(panel.model.latency.turns) == before + 1
        turn = panel.model.latency.turns[-1]
        assert [s[0] for s in turn_segments(turn)] == ["eou_ms", "stt_ms", "brain_ms", "tts_ttfb_ms",
                                                       "out_ms"]
        assert turn_total(turn) == 640
        panel.details.setCurrentIndex(0)
        qtbot.waitUntil(panel.waterfall.isVisible, timeout=5_000)
        image = panel.waterfall.grab().toImage()
        assert has_colour(image, stage_colors()["stt_ms"]), "no STT segment drawn"
        assert has_colour(image, stage_colors()["brain_ms"]), "no brain segment drawn"
        out = tmp_path / "panel.png"
        assert live_console.window.grab().save(str(out))

        panel.model.end_call()
        qtbot.waitUntil(lambda: board.model.rowCount() == 0, timeout=20_000)
        board.close_call()
    finally:
        end_live_calls(sip_server)
        caller.close()
    caller.check()


def has_colour(image: QImage, colour: QColor) -> bool:
    target = colour.rgb()
    return any(image.pixel(x, y) == target for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2))
