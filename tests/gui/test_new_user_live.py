"""The Live view, the live call panel, the transfer dialog, the softphone's keypad and the call
detail as a new user meets them, clicked with the mouse:

- one click on a board row opens the call; the row has its caller, agent and duration;
- when the call ends every control of its panel is disabled, and an open Transfer dialog says in
  plain words that the call ended; coming back to Live shows the board, not the ended call;
- transfer texts name console users, never their ids; blind transfers say why a console user
  cannot be picked; after a transfer to a console user the whisper box writes to their screen;
- the panel's messages name commands as the user knows them;
- a test call's keypad is greyed with a plain note in its own space (nothing moves);
- a failed call's Transcript tab says why there is no conversation; an ``analysis.completed``
  event fills the open call's analysis without Refresh.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from console.models.transfer_timeline import describe
from console.views.call_detail import CallDetail
from console.views.live import LiveView
from console.views.live_call import WHISPER_TEXTS, LiveCallPanel
from console.views.softphone import WEB_CALL_KEYPAD
from console.views.transfer_dialog import BLIND_USER_HINT, CALL_ENDED, KIND_USER, TransferDialog
from engine.client import Record
from engine.events import AnalysisCompleted, CallUpdated, Snapshot, TransferCompleted
from tests.harness.callers import PlainCaller
from tests.harness.live_console import Console, end_live_calls, live_console_fixture
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import requires_sipp

NUMBER = "+14155550188"  # the live call tests' number, on an engine of this module's own
USERS = [{"id": "ff53a46f-0000-4000-8000-000000000001", "display_name": "Dana Whitfield",
          "email": "dana@example.com", "presence": "available"}]

sip_server = sip_server_fixture("live", NUMBER, idle_timeout_seconds=60)
live_console = live_console_fixture()


def click(qtbot: QtBot, widget: object) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def click_rail(console: Console, qtbot: QtBot, name: str) -> None:
    rail = console.window.rail
    row = next(r for r in range(rail.count()) if rail.item(r).text().strip().startswith(name))
    rect = rail.visualItemRect(rail.item(row))
    qtbot.mouseClick(rail.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def accept_confirmation(qtbot: QtBot) -> None:
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    yes = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.YesRole
               or box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
    click(qtbot, yes)


@requires_sipp
def test_a_live_call_opens_with_one_click_and_closes_down_when_it_ends(
        live_console: Console, sip_server: SipServer, qtbot: QtBot, tmp_path: Path) -> None:
    board = live_console.view("live")
    assert isinstance(board, LiveView)
    caller = PlainCaller(sip_server, tmp_path)
    try:
        qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=20_000)
        model = board.model
        # the new row is whole: caller, agent, a running duration
        qtbot.waitUntil(lambda: model.data(model.index(0, 1)) != ""
                        and model.data(model.index(0, 2)) != ""
                        and model.data(model.index(0, 4)) != "", timeout=15_000)

        # one click on the row opens the call
        rect = board.table.visualRect(model.index(0, 1))
        qtbot.mouseClick(board.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        panel = board.panel
        assert panel is not None and board.pages.currentWidget() is panel
        qtbot.waitUntil(lambda: panel.model.is_loaded and panel.model.live, timeout=15_000)
        qtbot.waitUntil(panel.transfer_button.isEnabled, timeout=20_000)

        # the Transfer dialog is open when the call ends (ended from the panel, confirmed)
        click(qtbot, panel.transfer_button)
        dialog = panel.transfer_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.hide()  # out of the way of the End call confirmation, still open to the panel
        click(qtbot, panel.end_button)
        accept_confirmation(qtbot)
        qtbot.waitUntil(lambda: not panel.model.live, timeout=15_000)
        for widget in (panel.say_button, panel.say_box, panel.whisper_button, panel.whisper_box,
                       panel.hold_button, panel.mute_button, panel.end_button,
                       panel.transfer_button, *panel.dtmf_buttons.values(),
                       panel.join_bar.listen_button):
            assert not widget.isEnabled(), widget
        assert not dialog.submit_button.isEnabled()
        assert dialog.error_label.text() == CALL_ENDED and "is not live" not in CALL_ENDED
        dialog.close()

        # the Live entry, after another view, shows the board, not the ended call
        click_rail(live_console, qtbot, "Calls")
        click_rail(live_console, qtbot, "Live")
        assert live_console.window.current_view() is board
        assert board.panel is None and board.pages.currentWidget() is board.board
    finally:
        end_live_calls(sip_server)
        caller.close()


def test_transfer_texts_name_console_users(console: Console, qtbot: QtBot) -> None:
    dialog = TransferDialog(console.session.bridge, "c1")
    qtbot.addWidget(dialog)
    dialog.set_users(USERS)
    dialog.show()
    row = dialog.rows[0]
    # blind (the default): the console user entry is greyed, and the dialog says why
    assert dialog.kind == "blind"
    assert row.blind_hint.isVisible() and row.blind_hint.text() == BLIND_USER_HINT
    kinds = row.kind.model()
    assert not kinds.item(KIND_USER).isEnabled() and kinds.item(KIND_USER).toolTip()
    # warm: the user picked is the destination, named by their name
    click(qtbot, dialog.warm)
    assert not row.blind_hint.isVisible()
    row.kind.setCurrentIndex(KIND_USER)
    destination = row.destination()
    assert destination.to == f"user:{USERS[0]['id']}"
    assert destination.label == "Dana Whitfield"
    # the timeline names them, without their id
    title, _, _ = describe("dialing", {"to": destination.to, "label": destination.label})
    assert title == "Dialing Dana Whitfield"
    title, _, _ = describe("offered", {"to": destination.to})
    assert "ff53" not in title and title == "Offered to a console user"
    dialog.close()


def live_panel(console: Console, qtbot: QtBot, call: Record) -> LiveCallPanel:
    """A panel fed the engine's own events for a call (no stream: the events are given)."""
    panel = LiveCallPanel(console.session.bridge, str(call["id"]))
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    panel.model.apply_event(Snapshot(organization_id="o", call_id=str(call["id"]), call=call))
    return panel


def test_whisper_after_a_transfer_to_a_console_user_goes_to_their_screen(
        console: Console, qtbot: QtBot) -> None:
    call = {"id": "c2", "status": "in_progress", "direction": "inbound", "from_number": "+1415"}
    panel = live_panel(console, qtbot, call)
    assert panel.whisper_box.placeholderText() == WHISPER_TEXTS["ai"][1]
    panel.model.transfers.update_transfer({"id": "t1", "call_id": "c2", "kind": "warm",
                                           "status": "completed",
                                           "transfer_to": f"user:{USERS[0]['id']}"})
    panel.model.apply_event(TransferCompleted(organization_id="o", call_id="c2", transfer_id="t1"))
    qtbot.waitUntil(lambda: panel.whisper_box.placeholderText() == WHISPER_TEXTS["human"][1],
                    timeout=5_000)
    assert "phone" not in panel.whisper_box.placeholderText()
    assert panel.whisper_box.isEnabled()


def test_panel_messages_use_the_users_words(console: Console, qtbot: QtBot) -> None:
    panel = live_panel(console, qtbot, {"id": "c3", "status": "in_progress"})
    shown: list[str] = []
    panel._notify = shown.append  # type: ignore[method-assign]
    panel.model.sent.emit("inject_context")
    panel.model.sent.emit("dtmf")
    assert shown == ["Whisper sent", "Keypad tones sent"]
    # a call that ended: its controls are off at once
    panel.model.apply_event(CallUpdated(organization_id="o", call_id="c3",
                                        call={"id": "c3", "status": "completed"}))
    assert not panel.say_box.isEnabled() and not panel.end_button.isEnabled()


def test_a_test_calls_keypad_is_greyed_in_place(console: Console, qtbot: QtBot) -> None:
    dock = console.window.softphone
    model = dock.model
    model._start_call("web_call", "c4", {"agent_id": "a1", "agent_name": "Billing"})
    model.phase = "connected"
    dock.show()
    dock.show_state()
    click(qtbot, dock.keypad_button)
    assert dock.keypad.isVisible()
    two = dock.dtmf_buttons["2"]
    hang_up = dock.hang_up_button.mapTo(dock, QPoint(0, 0))
    at = two.mapTo(dock, QPoint(0, 0))
    assert not two.isEnabled()
    assert dock.keypad_note.isVisible() and dock.keypad_note.text() == WEB_CALL_KEYPAD
    click(qtbot, two)  # a greyed key does nothing and shows no error
    assert not dock.error_label.isVisible()
    assert two.mapTo(dock, QPoint(0, 0)) == at and dock.hang_up_button.mapTo(dock, QPoint(0, 0)) \
        == hang_up
    model.phase = "ended"
    model.call_kind = ""
    dock.show_state()


def test_the_call_detail_explains_an_empty_transcript_and_follows_the_analysis(
        console: Console, qtbot: QtBot) -> None:
    detail = CallDetail(console.session.bridge)
    qtbot.addWidget(detail)
    detail.resize(900, 600)
    detail.show()
    failed = {"id": "c5", "status": "failed", "disconnect_reason": "sip_503",
              "transcript": {"entries": []}, "analysis": {"status": "pending"}}
    detail.call_id = "c5"
    detail._got_call(detail._generation, failed)
    assert detail.transcript.transcript().rowCount() == 0
    text = detail.transcript.empty_text()
    assert text.startswith("There is no conversation: the call failed")
    image = detail.transcript.viewport().grab().toImage()
    muted = {image.pixelColor(x, y).name() for x in range(0, image.width(), 4)
             for y in range(0, image.height(), 4)}
    assert len(muted) > 1  # the explanation is drawn, the tab is not blank

    asked: list[str] = []
    detail.refresh_analysis = asked.append  # type: ignore[method-assign]
    console.session.bridge.event_received.emit(
        AnalysisCompleted(organization_id="o", call_id="other", status="heuristic"))
    console.session.bridge.event_received.emit(
        AnalysisCompleted(organization_id="o", call_id="c5", status="heuristic",
                          summary="No conversation took place."))
    assert asked == ["c5"]
    detail._got_analysis(detail._generation, {**failed, "analysis": {
        "status": "heuristic", "summary": "No conversation took place.", "success": False}})
    assert detail.summary.text() == "No conversation took place."
    assert detail.analysis_status.text() == "Heuristic"
