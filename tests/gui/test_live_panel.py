"""The live call panel against a real engine with SIP on loopback and a sipp caller: macros saved
on the agent and run with Ctrl+n send a real say; the "new messages" marker appears when the
reader has scrolled up and a line arrives; a late join shows the history and the call's events
with their SIP codes; the latency waterfall draws a turn as the engine publishes it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QSizePolicy
from pytestqt.qtbot import QtBot

from console.models.live_call import turn_segments, turn_total
from console.models.macros import Macro
from console.views.latency import stage_colors
from console.views.live_call import LiveCallPanel
from tests.harness.callers import PlainCaller
from tests.harness.engine_host import run_api
from tests.harness.live_console import Console, end_live_calls, live_console_fixture, open_panel
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import requires_sipp

pytestmark = requires_sipp

NUMBER = "+14155550188"  # the live call tests' number, on an engine of this module's own
MACRO_SAY = "Your refund was approved this morning."
MACRO_WHISPER = "Offer the caller a discount code."
# a ``metrics.turn`` event as the engine publishes it (engine/calls/agent_leg.py, AgentLeg.turn)
RECORDED_TURN = {"type": "metrics.turn", "call_id": "x", "at": "2026-01-01T10:00:03Z",
                 "organization_id": "o",
                 "data": {"call_id": "x", "index": 41, "turn": 3, "eou_ms": 300, "stt_ms": 212,
                          "brain_ms": 35, "tts_ttfb_ms": 4, "voice_to_voice_ms": 640}}

sip_server = sip_server_fixture("live", NUMBER, idle_timeout_seconds=60)
live_console = live_console_fixture()


def supervisor_lines(panel: LiveCallPanel, text: str) -> int:
    return sum(1 for e in panel.model.transcript.entries if e.get("source") == "supervisor"
               and text in str(e.get("text")) and not e.get("partial"))


def test_macros_marker_history_and_waterfall(live_console: Console, sip_server: SipServer,
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
