"""A supervisor's whisper after a warm transfer to a human agent, against a real engine process
with SIP on loopback: a sipp caller talks to the order-status agent, the call is warm-transferred
to a console user whose softphone dock answers it, and the live call panel's Whisper box turns
into "Whisper to the human agent". What the supervisor types there appears in the dock as a
"Supervisor: …" line, and the caller's audio (every RTP packet the engine sends them) stays
silent: the whisper is text on a screen, never speech."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.views.live import LiveView
from tests.gui import test_softphone as softphone
from tests.gui.test_softphone import (
    Caller,
    answered_call,
    api,
    open_dock,
    poll,
    sign_in,
    warm_to_user,
)
from tests.harness.live_console import Console
from tests.harness.rtp import PCMA_PT, Packet, alaw_levels
from tests.harness.sip_server import SipServer
from tests.harness.sipp import requires_sipp

pytestmark = requires_sipp

WHISPER = "Offer the caller a replacement before a refund."
QUIET_LEVEL = 100.0  # RMS: A-law silence decodes to about ±8; speech is in the thousands
HEARD_PACKETS = 100  # two seconds of the caller's audio after the whisper

# the softphone tests' engine (a console user to transfer to) and console, for this module too
sip_server = softphone.sip_server
phone_console = softphone.phone_console


class ListeningCaller(Caller):
    """The softphone test's sipp caller, with every RTP packet the engine sends it kept."""

    def __init__(self, server: SipServer, tmp: Path, *steps: str) -> None:
        super().__init__(server, tmp, *steps)
        self.packets: list[Packet] = []
        self._open = True
        self.media.settimeout(0.2)
        self.reader = threading.Thread(target=self._read, name="caller-rtp", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while self._open:
            try:
                data = self.media.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            cc = data[0] & 0x0F
            (timestamp,) = struct.unpack("!I", data[4:8])
            self.packets.append(Packet(time.monotonic(), data[1] & 0x7F, bool(data[1] & 0x80),
                                       timestamp, data[12 + 4 * cc:]))

    def since(self, start: float) -> list[Packet]:
        return [p for p in list(self.packets) if p.at >= start and p.pt == PCMA_PT]

    def close(self) -> None:
        self._open = False
        self.reader.join(timeout=5)
        super().close()


def events_of(server: SipServer, call_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in api(server, lambda c: c.call_events(call_id)) if e["event_type"] == kind]


def test_panel_whisper_reaches_the_human_agents_dock(phone_console: Console,
                                                      sip_server: SipServer, qtbot: QtBot,
                                                      tmp_path: Path) -> None:
    console = phone_console
    dock = open_dock(console)
    sign_in(dock, sip_server, qtbot)
    caller = ListeningCaller(sip_server, tmp_path)
    try:
        call_id = answered_call(sip_server, qtbot)
        poll(qtbot, lambda: "Northwind" in str(api(sip_server, lambda c: c.get_call(call_id))
                                                .get("transcript")), 30)  # the agent greeted
        qtbot.waitUntil(lambda: any(level > 1000 for level in alaw_levels(caller.since(0.0))),
                        timeout=15_000)  # the caller hears the greeting: the audio is theirs

        # the supervisor's panel: while the AI has the call, the whisper is the AI's
        board = console.view("live")
        assert isinstance(board, LiveView)
        panel = board.open_call(call_id)
        qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=15_000)
        assert panel.whisper_title.text() == "Whisper"
        assert not panel.whisper_reply.isHidden()
        assert not panel.join_bar.whisper_button.isEnabled()  # nobody to whisper to by voice

        # a warm transfer to the console user, answered in the dock
        transfer = warm_to_user(sip_server, call_id)
        qtbot.waitUntil(lambda: dock.model.offer is not None, timeout=20_000)
        qtbot.mouseClick(dock.answer_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dock.model.phase == "connected", timeout=30_000)
        poll(qtbot, lambda: [t for t in api(sip_server, lambda c: c.call_transfers(call_id))
                             if t["id"] == transfer["id"] and t["status"] == "completed"], 20)

        # the panel now whispers to the human agent; "reply now" has nobody to ask
        qtbot.waitUntil(lambda: panel.whisper_title.text() == "Whisper to the human agent",
                        timeout=15_000)
        assert panel.whisper_reply.isHidden()
        assert "human agent" in panel.whisper_box.placeholderText()
        assert panel.join_bar.whisper_button.isEnabled()
        assert dock.whisper_banner.isHidden()

        qtbot.keyClicks(panel.whisper_box, WHISPER)
        whispered_at = time.monotonic()
        qtbot.keyClick(panel.whisper_box, Qt.Key.Key_Return)
        assert panel.whisper_box.toPlainText() == ""

        # the dock shows it as the supervisor's line
        qtbot.waitUntil(lambda: dock.whisper_banner.isVisible(), timeout=15_000)
        assert "Supervisor:" in dock.whisper_banner.text()
        assert WHISPER in dock.whisper_banner.text()
        assert [w["content"] for w in dock.model.whispers] == [WHISPER]
        assert not panel.error_label.isVisible(), panel.error_label.text()

        # the caller hears nothing of it: their audio after the whisper is silence
        qtbot.waitUntil(lambda: len(caller.since(whispered_at)) >= HEARD_PACKETS, timeout=15_000)
        levels = alaw_levels(caller.since(whispered_at))
        assert max(levels) < QUIET_LEVEL, max(levels)

        [recorded] = poll(qtbot, lambda: events_of(sip_server, call_id, "supervisor.whisper"), 15)
        assert recorded["payload"] == {"content": WHISPER, "to": "human_agent"}
        [control] = events_of(sip_server, call_id, "control.inject_context")
        assert control["payload"]["result"] == "whispered_to_human"
        entries = api(sip_server, lambda c: c.get_call(call_id))["transcript"]["entries"]
        assert not any(WHISPER in str(e.get("text")) for e in entries), entries

        qtbot.mouseClick(dock.hang_up_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dock.model.phase == "ended", timeout=20_000)
        board.close_call()
    finally:
        caller.close()
    caller.check()
