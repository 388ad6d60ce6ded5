"""The transfer dialog and the panel's transfer timeline against a real engine with SIP on
loopback: a sipp caller talks to the order-status agent; the dialog checks what it can, shows the
API's own validation error on the destination, then blind-transfers the call (dial and bridge) to
a busy sipp UAS (the timeline ends in Failed · Busy · SIP 486 and the agent takes the call back)
and to a sipp UAS that answers (Dialing → Completed · SIP 200); a warm transfer to a sipp UAS is
screened and completed from the panel's Complete button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.views.live_call import LiveCallPanel
from console.views.transfer_dialog import TransferDialog
from engine.client import Client
from tests.harness.callers import PlainCaller
from tests.harness.engine_host import run_api
from tests.harness.live_console import Console, end_live_calls, live_console_fixture, open_panel
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import RECIPIENT, SCENARIOS, requires_sipp
from tests.harness.sipp import BlockingSippUas as SippUas

pytestmark = requires_sipp

NUMBER = "+14155550188"  # the live call tests' number, on an engine of this module's own
BUSY = SCENARIOS / "uas_busy.xml"

sip_server = sip_server_fixture("live", NUMBER, idle_timeout_seconds=60)
live_console = live_console_fixture()


def open_dialog(panel: LiveCallPanel, qtbot: QtBot) -> TransferDialog:
    qtbot.waitUntil(panel.transfer_button.isEnabled, timeout=20_000)
    qtbot.mouseClick(panel.transfer_button, Qt.MouseButton.LeftButton)
    dialog = panel.transfer_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def fill_blind(dialog: TransferDialog, qtbot: QtBot, to: str) -> None:
    dialog.rows[0].to.clear()
    qtbot.keyClicks(dialog.rows[0].to, to)
    dialog.method.setCurrentIndex(dialog.method.findData("bridge"))
    dialog.ringing_timeout.setValue(15)


def test_blind_transfer_busy_then_bridged(live_console: Console, sip_server: SipServer,
                                          qtbot: QtBot, tmp_path: Path) -> None:
    caller = PlainCaller(sip_server, tmp_path)
    uases: list[SippUas] = []
    try:
        board, panel = open_panel(live_console, qtbot)
        assert panel.model.transfers.rowCount() == 0
        assert not panel.timeline.isVisible() and not panel.transfer_actions.isVisible()

        dialog = open_dialog(panel, qtbot)
        assert dialog.kind == "blind"
        # the briefing is made from the transcript so far (shown for warm transfers)
        assert dialog.summary.toPlainText().startswith("Agent: ")
        assert "Northwind" in dialog.summary.toPlainText()
        assert not dialog.summary.isVisible()
        dialog.warm.setChecked(True)
        assert dialog.summary.isVisible() and dialog.add_button.isVisible()
        dialog.add_destination()
        assert len(dialog.rows) == 2
        dialog.blind.setChecked(True)
        assert len(dialog.rows) == 1 and not dialog.add_button.isVisible()

        # nothing typed: the dialog says so on the field without asking the engine
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        assert dialog.rows[0].to_error.isVisible()
        assert dialog.isVisible() and dialog.submit_button.isEnabled()

        # the engine's own validation shows on the destination it names
        fill_blind(dialog, qtbot, "front desk")
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.rows[0].to_error.isVisible() and dialog.submit_button.isEnabled(),
                        timeout=15_000)
        assert "E.164" in dialog.rows[0].to_error.text()
        assert dialog.rows[0].to.property("invalid") is True
        assert not dialog.error_label.isVisible()

        # a busy destination: dialing, then failed with the SIP code; the agent takes the call back
        busy = SippUas(BUSY)
        uases.append(busy)
        fill_blind(dialog, qtbot, busy.uri)
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        assert not dialog.rows[0].to_error.isVisible()
        qtbot.waitUntil(lambda: panel.transfer_dialog is None or not dialog.isVisible(), timeout=15_000)
        timeline = panel.model.transfers
        qtbot.waitUntil(lambda: "Failed" in timeline.titles(), timeout=30_000)
        titles = timeline.titles()
        assert titles[0] == "Blind transfer requested"
        assert f"Dialing {busy.uri}" in titles
        assert titles.index(f"Dialing {busy.uri}") < titles.index("Failed")
        failed = timeline.steps[titles.index("Failed")]
        assert failed.code == 486 and "Busy" in failed.detail and "SIP 486" in failed.detail
        assert panel.timeline.isVisible()
        assert busy.wait() == 0, busy.stderr
        qtbot.waitUntil(lambda: panel.model.status == "in_progress", timeout=15_000)
        qtbot.waitUntil(panel.transfer_button.isEnabled, timeout=15_000)
        assert not panel.transfer_actions.isVisible()

        # a destination that answers: dialing, then completed (bridged)
        recipient = SippUas(RECIPIENT)
        uases.append(recipient)
        dialog = open_dialog(panel, qtbot)
        fill_blind(dialog, qtbot, recipient.uri)
        dialog.play_dialtone.setChecked(True)
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        def completed() -> None:
            assert timeline.titles().count("Completed") == 1, timeline.titles()

        qtbot.waitUntil(completed, timeout=30_000)
        titles = timeline.titles()
        second = titles[titles.index("Failed") + 1:]
        assert second[0] == "Blind transfer requested"
        assert f"Dialing {recipient.uri}" in second and second[-1] == "Completed"
        completed = timeline.steps[-1]
        assert completed.code == 200 and completed.tone == "ok"
        assert timeline.running is None
        qtbot.waitUntil(lambda: not panel.transfer_actions.isVisible(), timeout=5_000)

        # the events list carries the transfer's SIP codes too
        def event_lines() -> list[str]:
            events = panel.model.events
            return [events.data(events.index(r)) for r in range(events.rowCount())]

        qtbot.waitUntil(lambda: any("transfer.failed" in line and "486" in line for line in event_lines()),
                        timeout=15_000)

        panel.model.end_call()
        qtbot.waitUntil(lambda: board.model.rowCount() == 0, timeout=20_000)
        assert recipient.wait() == 0, recipient.stderr
        board.close_call()
    finally:
        end_live_calls(sip_server)
        for uas in uases:
            uas.close()
        caller.close()
    caller.check()


def test_warm_transfer_completed_from_the_panel(live_console: Console, sip_server: SipServer,
                                                qtbot: QtBot, tmp_path: Path) -> None:
    async def users(api: Client) -> None:
        await api.users.create(email="dana@example.com", display_name="Dana", presence="available")
        await api.users.create(email="sam@example.com", display_name="Sam", presence="busy")

    run_api(sip_server.engine, users)
    caller = PlainCaller(sip_server, tmp_path)
    recipient = SippUas(RECIPIENT)
    try:
        board, panel = open_panel(live_console, qtbot)
        dialog = open_dialog(panel, qtbot)
        dialog.warm.setChecked(True)
        # console users come with their presence; only the available ones can be picked
        qtbot.waitUntil(lambda: dialog.users.rowCount() >= 2
                        and "Dana" in (dialog.users.item(0).text()), timeout=15_000)
        names = {dialog.users.item(r).text(): dialog.users.item(r).isEnabled()
                 for r in range(dialog.users.rowCount())}
        assert names["Dana  ·  Available"] is True and names["Sam  ·  Busy"] is False
        user_row = dialog.add_destination()
        user_row.kind.setCurrentIndex(1)
        assert user_row.destination().to.startswith("user:")

        # the API's error on the second destination shows on that row
        qtbot.keyClicks(dialog.rows[0].to, recipient.uri)
        qtbot.keyClicks(dialog.rows[0].label, "Front desk")
        user_row.kind.setCurrentIndex(0)
        qtbot.keyClicks(user_row.to, "12345")
        dialog.ringing_timeout.setValue(15)
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: user_row.to_error.isVisible() and dialog.submit_button.isEnabled(),
                        timeout=15_000)
        assert not dialog.rows[0].to_error.isVisible()

        # one destination: it answers and is screened; the supervisor completes the transfer
        dialog.remove_destination(user_row)
        assert len(dialog.rows) == 1
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        timeline = panel.model.transfers
        label = f"Front desk ({recipient.uri})"
        def screening() -> None:
            assert f"Screening {label}" in timeline.titles(), (timeline.titles(), panel.error_label.text())

        qtbot.waitUntil(screening, timeout=30_000)
        titles = timeline.titles()
        assert titles[:2] == ["Warm transfer requested", f"Dialing {label}"]
        qtbot.waitUntil(lambda: panel.transfer_actions.isVisible()
                        and panel.complete_transfer_button.isVisible(), timeout=10_000)
        assert "Warm" in panel.transfer_status.text()
        qtbot.mouseClick(panel.complete_transfer_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Completed" in timeline.titles(), timeout=20_000)
        titles = timeline.titles()
        assert f"Bridging caller to {label}" in titles
        assert titles.index(f"Bridging caller to {label}") < titles.index("Completed")
        qtbot.waitUntil(lambda: not panel.transfer_actions.isVisible(), timeout=10_000)
        assert not panel.error_label.isVisible(), panel.error_label.text()

        # a late join loads the finished transfer from the engine
        board.close_call()
        panel = board.open_call(panel.model.call_id)
        qtbot.waitUntil(lambda: "Completed" in panel.model.transfers.titles(), timeout=15_000)
        assert panel.model.transfers.titles()[0] == "Warm transfer requested"
        assert panel.model.transfers.running is None

        panel.model.end_call()
        qtbot.waitUntil(lambda: board.model.rowCount() == 0, timeout=20_000)
        assert recipient.wait() == 0, recipient.stderr
        board.close_call()
    finally:
        end_live_calls(sip_server)
        recipient.close()
        caller.close()
    caller.check()
