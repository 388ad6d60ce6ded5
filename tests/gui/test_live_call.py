"""The live board and the live call panel against a real engine process with SIP on loopback: a
sipp caller rings the order-status agent; the board shows the call, the panel streams the agent's
greeting, Say round-trips as a supervisor line, Hold and Resume switch the status, End hangs up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.views.live import LiveView
from engine.client import Client
from tests.harness.callers import SippCaller
from tests.harness.engine_host import run_api
from tests.harness.live_console import Console, live_console_fixture
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import SippResult, requires_sipp
from tests.harness.sipp_steps import answer_reinvite

pytestmark = requires_sipp

NUMBER = "+14155550188"
SAID = "A supervisor says your refund is approved."

sip_server = sip_server_fixture("live", NUMBER, idle_timeout_seconds=60)
live_console = live_console_fixture()


class Caller(SippCaller):
    """A sipp caller on its own thread: it accepts the engine's hold and resume re-INVITEs and
    waits for the engine's BYE. Its RTP port is a socket nobody reads."""

    steps = (answer_reinvite(1, "sendonly", "recvonly"), answer_reinvite(2, "sendrecv", "sendrecv"))
    bye_within_ms = 40_000


def test_board_panel_greeting_say_and_hold(live_console: Console, sip_server: SipServer,
                                           qtbot: QtBot, tmp_path: Path) -> None:
    board = live_console.view("live")
    assert isinstance(board, LiveView)
    assert board.model.rowCount() == 0
    caller = Caller(sip_server, tmp_path)
    try:
        # the board shows the call, with the caller and the agent filled in
        qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=15_000)
        qtbot.waitUntil(lambda: board.model.data(board.model.index(0, 3)) == "In progress"
                        and board.model.data(board.model.index(0, 2)) == "Order status",
                        timeout=15_000)
        assert board.model.data(board.model.index(0, 1)) == "caller"
        call_id = board.model.call_id(board.model.index(0, 0))
        assert call_id

        # Enter opens the panel, which streams the greeting as a final agent line
        board.table.setFocus()
        board.table.setCurrentIndex(board.model.index(0, 0))
        qtbot.keyClick(board.table, Qt.Key.Key_Return)
        panel = board.panel
        assert panel is not None and panel.model.call_id == call_id
        qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=10_000)
        entries = panel.model.transcript.entries
        qtbot.waitUntil(lambda: any(e.get("source") == "agent" and not e.get("partial")
                                    and "Northwind" in str(e.get("text")) for e in entries),
                        timeout=20_000)
        qtbot.waitUntil(lambda: panel.model.agent_state == "listening", timeout=20_000)
        assert "Listening" in panel.state_badge.text()

        # Say: Enter sends, the line comes back as the supervisor's
        qtbot.keyClicks(panel.say_box, SAID)
        qtbot.keyClick(panel.say_box, Qt.Key.Key_Return)
        assert panel.say_box.toPlainText() == ""
        qtbot.waitUntil(lambda: any(e.get("source") == "supervisor" and SAID in str(e.get("text"))
                                    and not e.get("partial") for e in entries), timeout=15_000)
        assert not panel.error_label.isVisible()

        # Hold, then Resume (the same button)
        qtbot.mouseClick(panel.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.model.status == "on_hold", timeout=15_000)
        assert panel.hold_button.text() == "Resume"
        qtbot.waitUntil(lambda: board.model.data(board.model.index(0, 3)) == "On hold", timeout=5_000)
        qtbot.waitUntil(lambda: panel.hold_button.isEnabled(), timeout=5_000)
        qtbot.mouseClick(panel.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.model.status == "in_progress", timeout=15_000)
        assert panel.hold_button.text() == "Hold"

        # End call: the engine hangs up, the board lets the row go, the panel's controls close
        panel.model.end_call()
        qtbot.waitUntil(lambda: board.model.rowCount() == 0, timeout=15_000)
        qtbot.waitUntil(lambda: not panel.say_button.isEnabled(), timeout=10_000)
        board.close_call()
        assert board.panel is None
    finally:
        caller.close()
    assert isinstance(caller.result, SippResult), caller.result
    assert caller.result.returncode == 0, caller.result.stderr


def test_board_opened_late_shows_calls_already_live(live_console: Console, sip_server: SipServer,
                                                    qtbot: QtBot, tmp_path: Path) -> None:
    """The board is built after the events socket's first snapshot went by: it asks for a fresh
    one and shows the call that was already live."""
    bridge = live_console.session.context.bridge
    qtbot.waitUntil(lambda: bridge.snapshots >= 1, timeout=15_000)
    caller = Caller(sip_server, tmp_path)
    try:
        def live_ids(api: Client) -> Any:
            return api.list_calls(status="in_progress")

        deadline = time.monotonic() + 30
        calls: list[dict[str, Any]] = []
        while not calls and time.monotonic() < deadline:
            calls = run_api(sip_server.engine, live_ids).items
            qtbot.wait(200)
        assert len(calls) == 1, "the call was not answered"
        board = live_console.view("live")
        assert isinstance(board, LiveView)
        qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=15_000)
        assert board.model.call_id(board.model.index(0, 0)) == calls[0]["id"]
        run_api(sip_server.engine, lambda api: api.control(calls[0]["id"], "end_call"))
    finally:
        caller.close()
