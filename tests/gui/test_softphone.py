"""The softphone dock against a real engine process with SIP on loopback: a human agent signs in
(presence ``available`` in the engine), a sipp caller's call is warm-transferred to them through
the API, the dock rings with the briefing, Answer joins the call over WebRTC with audio both ways
and the transfer completes; a declined offer is recorded with its reason; the agent editor's Test
call places a web call that ends on Hang up."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from console.models.softphone import SETTINGS_USER_KEY
from console.views.agents import AgentsView
from console.views.softphone import SoftphoneDock
from engine.client import Client, Record
from tests.harness.callers import SippCaller
from tests.harness.engine_host import run_api
from tests.harness.live_console import Console, live_console_fixture
from tests.harness.pulse import Session
from tests.harness.sip_server import SipServer, sip_server_fixture
from tests.harness.sipp import requires_sipp
from tests.harness.sipp_steps import answer_reinvite

pytestmark = requires_sipp

NUMBER = "+14155550199"
SUMMARY = "Caller wants a refund for order 4417, which arrived damaged."
LIVE = ("queued", "ringing", "in_progress", "on_hold", "transferring")
FRAMES_BOTH_WAYS = 50  # one second of 20 ms frames each way
MARCUS = {"email": "marcus@example.com", "display_name": "Marcus Bell", "role": "agent"}


def forget_signed_in_user() -> None:
    QSettings("switchboard", "console").remove(SETTINGS_USER_KEY)


# an engine with a human agent (a console user) to transfer calls to, and its console
sip_server = sip_server_fixture("softphone", NUMBER, idle_timeout_seconds=120, user=MARCUS)
phone_console = live_console_fixture(after=forget_signed_in_user)


class Caller(SippCaller):
    """A sipp caller on its own thread that waits for the engine's BYE. Its RTP port is a socket
    nobody reads."""

    bye_within_ms = 90_000
    limit_s = 100.0
    join_s = 120.0


def api(server: SipServer, request: Callable[[Client], Any]) -> Any:
    return run_api(server.engine, request)


def poll(qtbot: QtBot, check: Callable[[], Any], timeout_s: float, every_ms: int = 300) -> Any:
    """Run ``check`` (an API look-up) every ``every_ms`` until it is truthy; the Qt loop runs
    in between."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for the engine"
        qtbot.wait(every_ms)


def answered_call(server: SipServer, qtbot: QtBot) -> str:
    """The caller's call once the engine answered it."""
    def live() -> str | None:
        page = api(server, lambda c: c.list_calls(status="in_progress", limit=10))
        calls = [c for c in page.items if c.get("type") == "phone_call"]
        return str(calls[0]["id"]) if calls else None

    return str(poll(qtbot, live, 30))


def presence(server: SipServer) -> str:
    return str(api(server, lambda c: c.users.get(server.user_id))["presence"])


def open_dock(console: Console) -> SoftphoneDock:
    dock = console.window.softphone
    assert isinstance(dock, SoftphoneDock)
    return dock


def sign_in(dock: SoftphoneDock, server: SipServer, qtbot: QtBot) -> None:
    if dock.isHidden():
        qtbot.keyClick(dock.main_window, Qt.Key.Key_F9)
    assert dock.isVisible()
    qtbot.waitUntil(lambda: dock.user_combo.findData(server.user_id) >= 0, timeout=15_000)
    dock.user_combo.setCurrentIndex(dock.user_combo.findData(server.user_id))
    assert dock.sign_in_button.isEnabled()
    qtbot.mouseClick(dock.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.model.user is not None and dock.model.presence == "available",
                    timeout=15_000)


def warm_to_user(server: SipServer, call_id: str, **fields: Any) -> Record:
    destination = {"to": f"user:{server.user_id}", "label": "Billing desk"}
    return api(server, lambda c: c.warm_transfer(call_id, [destination], summary=SUMMARY,
                                                 ringing_timeout=60, **fields))


def test_sign_in_answer_a_warm_transfer_and_hang_up(phone_console: Console, sip_server: SipServer,
                                                    qtbot: QtBot, tmp_path: Path) -> None:
    dock = open_dock(phone_console)
    assert dock.isHidden()
    sign_in(dock, sip_server, qtbot)
    assert presence(sip_server) == "available"
    assert "Waiting for transfers" in dock.waiting.text()
    assert QSettings("switchboard", "console").value(SETTINGS_USER_KEY) == sip_server.user_id

    # the human holds and resumes the transferred caller: two re-INVITEs before the BYE
    caller = Caller(sip_server, tmp_path, answer_reinvite(1, "sendonly", "recvonly"),
                    answer_reinvite(2, "sendrecv", "sendrecv"))
    try:
        call_id = answered_call(sip_server, qtbot)
        poll(qtbot, lambda: "Northwind" in str(api(sip_server, lambda c: c.get_call(call_id))
                                                .get("transcript")), 30)  # the agent greeted
        transfer = warm_to_user(sip_server, call_id)

        # the dock rings with the context card
        model = dock.model
        qtbot.waitUntil(lambda: model.offer is not None, timeout=20_000)
        assert model.offer is not None and model.offer["transfer_id"] == transfer["id"]
        assert dock.stack.currentIndex() == 1
        assert dock.ringer.ringing
        if not QSystemTrayIcon.isSystemTrayAvailable():  # offscreen: the status bar tells
            assert "Incoming transfer" in phone_console.window.statusBar().currentMessage()
        if Session.daemon is not None:  # the PulseAudio null sink: the ring tone plays on it
            assert phone_console.session.context.audio_devices.device("ringer") is not None
            qtbot.waitUntil(lambda: dock.ringer.sound_playing, timeout=10_000)
        assert "refund for order 4417" in dock.offer_card.summary.text()
        assert "Order status" in dock.offer_card.agent.text()
        assert "Billing desk" in dock.offer_card.agent.text()
        assert 0 < model.seconds_left() <= 60
        assert dock.offer_card.countdown.text().endswith(" s")
        turns = [dock.offer_card.turns.itemAt(i).widget().text()
                 for i in range(dock.offer_card.turns.count())]
        assert any("Agent:" in t and "Northwind" in t for t in turns), turns

        # Answer: the phone joins, audio flows both ways, the engine completes the transfer
        qtbot.mouseClick(dock.answer_button, Qt.MouseButton.LeftButton)
        assert model.offer is None and not dock.ringer.ringing and not dock.ringer.sound_playing
        assert dock.stack.currentIndex() == 2
        qtbot.waitUntil(lambda: model.phase == "connected", timeout=30_000)
        phone = phone_console.session.context.phone
        assert phone.call_id == call_id
        qtbot.waitUntil(lambda: phone.frames_received > FRAMES_BOTH_WAYS
                        and phone.frames_sent > FRAMES_BOTH_WAYS, timeout=20_000)
        rows = poll(qtbot, lambda: [t for t in api(sip_server, lambda c: c.call_transfers(call_id))
                                    if t["id"] == transfer["id"] and t["status"] == "completed"], 20)
        accepted = [a for a in rows[0]["routing_attempts"] if a["status"] == "accepted"]
        assert accepted and accepted[0]["to"] == f"user:{sip_server.user_id}"
        poll(qtbot, lambda: presence(sip_server) == "busy", 15)
        qtbot.waitUntil(lambda: model.presence == "busy", timeout=10_000)
        assert dock.hang_up_button.isVisible()
        qtbot.waitUntil(lambda: dock.call_timer.text() not in ("", "0:00"), timeout=5_000)
        # the dock's transcript is the call's: the agent's greeting before the transfer is in it
        live = model.live
        assert live is not None and dock.transcript.model() is live.transcript
        qtbot.waitUntil(lambda: any(e.get("source") == "agent" and "Northwind" in str(e.get("text"))
                                    for e in live.transcript.entries), timeout=20_000)

        # mute, hold and resume, a key on the keypad
        qtbot.mouseClick(dock.mute_button, Qt.MouseButton.LeftButton)
        assert phone.muted and dock.mute_button.text() == "Unmute"
        qtbot.mouseClick(dock.mute_button, Qt.MouseButton.LeftButton)
        assert not phone.muted
        # the human holds the transferred caller (music) and takes them back
        qtbot.waitUntil(lambda: dock.hold_button.isEnabled(), timeout=10_000)
        qtbot.mouseClick(dock.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: live.on_hold and dock.call_state.text() == "On hold",
                        timeout=15_000)
        qtbot.waitUntil(lambda: dock.hold_button.isEnabled(), timeout=10_000)
        qtbot.mouseClick(dock.hold_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: live.status == "in_progress"
                        and dock.call_state.text() == "Connected", timeout=15_000)
        assert not dock.error_label.isVisible(), dock.error_label.text()
        qtbot.mouseClick(dock.keypad_button, Qt.MouseButton.LeftButton)
        assert dock.keypad.isVisible()
        qtbot.mouseClick(dock.dtmf_buttons["5"], Qt.MouseButton.LeftButton)
        sent = poll(qtbot, lambda: [e for e in api(sip_server, lambda c: c.call_events(call_id))
                                    if e.get("event_type") == "control.dtmf"], 15)
        assert sent[0]["payload"]["result"], sent[0]

        # Hang up: the call ends for the caller, presence goes back to available
        qtbot.mouseClick(dock.hang_up_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: model.phase == "ended", timeout=20_000)
        assert dock.close_button.isVisible() and not dock.hang_up_button.isVisible()
        poll(qtbot, lambda: api(sip_server, lambda c: c.get_call(call_id))["status"] not in LIVE, 20)
        poll(qtbot, lambda: presence(sip_server) == "available", 15)
        qtbot.waitUntil(lambda: model.presence == "available" and not model.pending, timeout=15_000)
        assert dock.sign_out_button.isEnabled()
        qtbot.mouseClick(dock.close_button, Qt.MouseButton.LeftButton)
        assert dock.stack.currentIndex() == 0
    finally:
        caller.close()
    caller.check()

    # sign out: offline in the engine
    qtbot.mouseClick(dock.sign_out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.model.user is None, timeout=15_000)
    assert presence(sip_server) == "offline"


def test_decline_with_a_reason(phone_console: Console, sip_server: SipServer, qtbot: QtBot,
                               tmp_path: Path) -> None:
    dock = open_dock(phone_console)
    sign_in(dock, sip_server, qtbot)
    caller = Caller(sip_server, tmp_path)
    try:
        call_id = answered_call(sip_server, qtbot)
        transfer = warm_to_user(sip_server, call_id, fallback={"strategy": "return_to_agent"})
        qtbot.waitUntil(lambda: dock.model.offer is not None, timeout=20_000)
        dock.decline_reason.setEditText("Not my area")
        qtbot.mouseClick(dock.decline_button, Qt.MouseButton.LeftButton)
        assert dock.model.offer is None
        qtbot.waitUntil(lambda: dock.stack.currentIndex() == 0, timeout=5_000)

        def declined() -> list[Record]:
            rows = [t for t in api(sip_server, lambda c: c.call_transfers(call_id))
                    if t["id"] == transfer["id"]]
            attempts = (rows[0].get("routing_attempts") or []) if rows else []
            return [a for a in attempts if a.get("failure_cause") == "declined"]

        attempts = poll(qtbot, declined, 20)
        assert attempts[0]["reason"] == "Not my area"
        assert attempts[0]["to"] == f"user:{sip_server.user_id}"
        assert not dock.error_label.isVisible(), dock.error_label.text()
        assert presence(sip_server) == "available"  # declining does not change presence
        api(sip_server, lambda c: c.control(call_id, "end_call"))
    finally:
        caller.close()
    caller.check()


def test_test_call_from_the_agent_editor(phone_console: Console, sip_server: SipServer,
                                         qtbot: QtBot) -> None:
    agents = phone_console.view(f"agent:{sip_server.agent_id}")
    assert isinstance(agents, AgentsView)
    editor = agents.editor
    qtbot.waitUntil(lambda: editor.current is not None
                    and editor.current.get("id") == sip_server.agent_id, timeout=15_000)
    assert editor.test_call_button.isEnabled()
    dock = open_dock(phone_console)
    assert dock.isHidden()

    qtbot.mouseClick(editor.test_call_button, Qt.MouseButton.LeftButton)
    model = dock.model
    assert dock.isVisible() and model.call_kind == "web_call"
    assert dock.stack.currentIndex() == 2 and "Order status" in dock.call_title.text()
    qtbot.waitUntil(lambda: model.phase == "connected" and model.call_id is not None, timeout=30_000)
    call_id = model.call_id
    assert call_id is not None
    call = api(sip_server, lambda c: c.get_call(call_id))
    assert call["type"] == "web_call" and call["agent_id"] == sip_server.agent_id
    phone = phone_console.session.context.phone
    qtbot.waitUntil(lambda: phone.frames_received > FRAMES_BOTH_WAYS, timeout=20_000)
    # the dock's transcript follows this call's live events
    live = model.live
    assert live is not None and live.call_id == call_id
    qtbot.waitUntil(lambda: live.is_loaded, timeout=15_000)
    assert dock.transcript.model() is live.transcript
    assert live.call.get("type") == "web_call"

    # hold and resume: the agent's call is held in the engine
    qtbot.waitUntil(lambda: dock.hold_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(dock.hold_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.on_hold and dock.call_state.text() == "On hold", timeout=15_000)
    qtbot.waitUntil(lambda: dock.hold_button.isEnabled(), timeout=10_000)
    assert dock.hold_button.text() == "Resume"
    qtbot.mouseClick(dock.hold_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.status == "in_progress" and dock.call_state.text() == "Connected",
                    timeout=15_000)
    assert not dock.error_label.isVisible(), dock.error_label.text()

    qtbot.mouseClick(dock.hang_up_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.phase == "ended", timeout=20_000)
    poll(qtbot, lambda: api(sip_server, lambda c: c.get_call(call_id))["status"] not in LIVE, 20)


def test_closing_the_window_signs_the_user_out(phone_console: Console, sip_server: SipServer,
                                               qtbot: QtBot) -> None:
    dock = open_dock(phone_console)
    sign_in(dock, sip_server, qtbot)
    assert presence(sip_server) == "available"
    phone_console.window.close()  # no transfer is offered to someone who has left
    assert presence(sip_server) == "offline"
