"""The README's screenshots of the live features, taken during real calls.

A demo engine listens for SIP on loopback; sipp callers ring its three agents and speak
(espeak-ng audio, G.711 A-law RTP) so the agents answer and the transcripts fill in. The console
runs offscreen against it: the live board, one call's live panel after a warm transfer that a
sipp destination declines and a busy one refuses, the transfer dialog, and the softphone dock
ringing with a transfer offer and then in the call.

    .venv/bin/python docs/screenshots/make_live_shots.py [--out docs/screenshots]

Needs sipp (Debian package sip-tester) and espeak-ng; pulseaudio (a private daemon with a null
sink and source) for the softphone's call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness.ports import free_media_port, free_udp_port  # noqa: E402 - after the path
from tests.harness.rtp import AlawVoice, bound_media_socket  # noqa: E402
from tests.harness.sipp import BlockingSippUas  # noqa: E402

T = TypeVar("T")
SIZE = (1400, 900)

ORDERS, BILLING, APPOINTMENTS = "+14155550134", "+14155550178", "+12125550142"
MACROS = [{"label": "Refund approved", "kind": "say", "text": "Your refund was approved this morning."},
          {"label": "Offer discount", "kind": "whisper", "text": "Offer the caller a 10% discount code."},
          {"label": "Hold music", "kind": "say", "text": "Let me check that for you, one moment."}]
BRIEFING = "Caller wants a refund for order 84361, which arrived damaged."


def caller_scenario(name: str, number: str) -> str:
    """The sipp caller's scenario: it calls as "``name``" <sip:``number``@...>, answers every
    re-INVITE of the engine (sendrecv) and waits for its BYE."""
    from tests.harness.sipp_steps import dial, label, recv_request, response, scenario, sdp

    reinvite_or_bye = (recv_request("INVITE", optional=True, next_label="reinvite")
                       + recv_request("BYE", next_label="bye"))
    return scenario("caller",
                    dial(user=number, display=f'"{name}"'),
                    reinvite_or_bye,
                    label("reinvite"),
                    response("200 OK", contact=number, body=sdp(version=2, events_fmtp=False)),
                    recv_request("ACK", next_label="talk"),
                    label("talk"),
                    reinvite_or_bye,
                    label("bye"),
                    response("200 OK"))


def refuser_scenario(status: str, ring_ms: int) -> str:
    """A transfer destination's scenario: it rings for ``ring_ms``, then refuses the INVITE with
    ``status`` (603 Decline, 486 Busy Here)."""
    from tests.harness.sipp_steps import pause, recv_request, response, scenario

    return scenario("refuser",
                    recv_request("INVITE"),
                    response("180 Ringing", to_tag=True),
                    pause(ring_ms),
                    response(status, to_tag=True),
                    recv_request("ACK"))


class Caller:
    """A sipp caller ringing ``number`` that answers re-INVITEs and waits for the engine's BYE.
    Its media socket sends A-law every 20 ms: silence, or espeak-ng speech queued by ``say``."""

    def __init__(self, sip: tuple[str, int], number: str, caller_id: str, name: str, tmp: Path) -> None:
        self.number = number
        self.caller_id = caller_id
        self.media, media_port = bound_media_socket()
        self.voice = AlawVoice(self.media)
        xml = tmp / f"caller-{caller_id.lstrip('+')}.xml"
        xml.write_text(caller_scenario(name, caller_id))
        self.proc = subprocess.Popen(
            ["sipp", f"{sip[0]}:{sip[1]}", "-s", number.lstrip("+"), "-m", "1", "-i", "127.0.0.1",
             "-p", str(free_udp_port()), "-mp", str(free_media_port()), "-nostdin", "-timeout", "600s",
             "-trace_err", "-error_file", str(xml.with_suffix(".errors")), "-sf", str(xml),
             "-key", "rtp_port", str(media_port)],
            stdout=subprocess.DEVNULL, stderr=(tmp / f"caller-{caller_id.lstrip('+')}.log").open("w"))

    def say(self, text: str) -> None:
        """Queue ``text`` as espeak-ng speech, 8 kHz A-law in 20 ms frames."""
        self.voice.say(text)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.voice.stop()
        self.media.close()


class Refuser(BlockingSippUas):
    """sipp as a transfer destination that rings, then refuses with ``status``."""

    def __init__(self, status: str, tmp: Path, ring_ms: int = 1500) -> None:
        xml = tmp / f"refuser-{secrets.token_hex(4)}.xml"
        xml.write_text(refuser_scenario(status, ring_ms))
        super().__init__(xml, limit_s=300)


class Shots:
    """The console offscreen on a demo engine, with helpers to wait for real events."""

    def __init__(self, out: Path, scratch: Path) -> None:
        from PySide6.QtWidgets import QApplication

        from console import theme
        from console.context import EngineInfo
        from console.embedded import EmbeddedEngine
        from console.session import open_session

        self.out = out
        self.scratch = scratch
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        theme.apply(self.app, "light")
        self.engine = EmbeddedEngine(scratch / "data", "sb_shots_" + secrets.token_urlsafe(16), demo=True)
        self.engine.start()
        url = self.engine.wait_ready()
        if not self.engine.sip:
            raise RuntimeError("the demo engine does not listen for SIP")
        host, _, port = self.engine.sip.rpartition(":")
        self.sip = (host, int(port))
        self.url = url
        self.session = open_session(EngineInfo(url=url, mode="demo", data_dir=self.engine.data_dir),
                                    self.engine.api_key, persist_theme=False)
        self.window = self.session.window
        self.window.resize(*SIZE)
        self.window.show()
        self.window.show_view("live")  # the board follows the calls from the engine's first snapshot
        self.callers: list[Caller] = []
        self.refusers: list[Refuser] = []

    # -- waiting ---------------------------------------------------------------------------------

    def wait(self, ms: int) -> None:
        from PySide6.QtTest import QTest

        QTest.qWait(ms)

    def until(self, check: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            self.wait(100)

    def api(self, request: Callable[[Any], Awaitable[T]]) -> T:
        from engine.client import Client

        async def go() -> T:
            async with Client(self.url, self.engine.api_key) as client:
                return await request(client)

        return asyncio.run(go())

    # -- calls -----------------------------------------------------------------------------------

    def call(self, number: str, caller_id: str, name: str) -> Caller:
        caller = Caller(self.sip, number, caller_id, name, self.scratch)
        self.callers.append(caller)
        return caller

    def call_of(self, caller: Caller) -> dict[str, Any]:
        """The engine's live call from this caller."""
        def find() -> dict[str, Any] | None:
            page = self.api(lambda c: c.list_calls(status="live", limit=50))
            for call in page.items:
                if caller.caller_id in str(call.get("customer") or call.get("from_number") or call):
                    return dict(call)
            return None

        return dict(self.until(find, 30, f"the call from {caller.caller_id}"))

    def transcript(self, call_id: str) -> str:
        return str(self.api(lambda c: c.get_call(call_id)).get("transcript") or "")

    def spoken(self, call_id: str, words: str, timeout_s: float = 60) -> None:
        self.until(lambda: words.lower() in self.transcript(call_id).lower(), timeout_s,
                   f"{words!r} in the transcript")

    def greeted(self, call_id: str) -> bool:
        return len(self.transcript(call_id)) > 20

    # -- pictures --------------------------------------------------------------------------------

    def theme(self, name: str) -> None:
        from console import theme

        theme.apply(self.app, name)
        self.wait(300)

    def grab(self, name: str, dialog: Any = None) -> Path:
        """The window as a PNG; a dialog open over it is painted where it sits."""
        from PySide6.QtCore import QPoint
        from PySide6.QtGui import QColor, QPainter

        self.wait(400)
        pixmap = self.window.grab()
        if dialog is not None:
            shade = QColor(0, 0, 0, 90)
            painter = QPainter(pixmap)
            painter.fillRect(pixmap.rect(), shade)
            top_left = QPoint((pixmap.width() - dialog.width()) // 2,
                              (pixmap.height() - dialog.height()) // 2)
            painter.drawPixmap(top_left, dialog.grab())
            painter.end()
        path = self.out / name
        if not pixmap.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        print(path)
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.api(end_all)
        self.session.close()
        self.engine.stop()
        for peer in [*self.callers, *self.refusers]:
            peer.close()


async def end_all(api: Any) -> None:
    from engine.client import ApiError

    for call in (await api.list_calls(status="live", limit=100)).items:
        with contextlib.suppress(ApiError):
            await api.control(call["id"], "end_call")


def board_shots(s: Shots) -> dict[str, str]:
    """Five callers on the three demo lines, each heard and answered; the board in both themes."""
    from console.views.live import LiveView

    async def patient(api: Any) -> None:  # nobody is hung up on while the pictures are taken
        for agent in await api.agents.all():
            await api.agents.update(agent["id"], idle_timeout_seconds=600)

    s.api(patient)
    lines = [(ORDERS, "+15035550142", "Elena Park", "Where is my order?", "order number"),
             (BILLING, "+13125550187", "Tom Alvarez", "When is my payment due?", "payment"),
             (APPOINTMENTS, "+16175550123", "Grace Kim", "I would like to book a cleaning.", "appointment"),
             (ORDERS, "+12065550164", "Omar Haddad", "How do I return something?", "return"),
             (BILLING, "+17185550139", "Lucia Romero", "I was charged twice this month.", "charge")]
    callers = []
    for number, caller_id, name, *_ in lines:
        callers.append(s.call(number, caller_id, name))
        s.wait(1500)
    calls = {caller.caller_id: str(s.call_of(caller)["id"]) for caller in callers}
    s.until(lambda: all(s.greeted(call_id) for call_id in calls.values()), 60, "the greetings")
    s.wait(7000)  # the greetings are spoken to their end before the callers talk
    for caller, (*_, line, _) in zip(callers, lines, strict=True):
        caller.say(line)
    for caller, (*_, answer) in zip(callers, lines, strict=True):
        try:
            s.spoken(calls[caller.caller_id], answer, 60)
        except TimeoutError as exc:  # misheard: the call still shows, with what was said
            print(f"make_live_shots: {exc}: {s.transcript(calls[caller.caller_id])!r}", file=sys.stderr)
    board = s.window.show_view("live")
    assert isinstance(board, LiveView)
    s.until(lambda: board.model.rowCount() >= len(lines), 30, "the board's rows")
    s.grab("live_board.png")
    s.theme("dark")
    s.grab("live_board_dark.png")
    s.theme("light")
    return calls


def panel_shots(s: Shots, call_id: str, caller: Caller) -> None:
    """One call's panel after a warm transfer refused by a declining and a busy destination."""
    from console.views.live import LiveView

    call = s.api(lambda c: c.get_call(call_id))
    agent_id = str(call["agent_id"])
    agent = s.api(lambda c: c.agents.get(agent_id))
    s.api(lambda c: c.agents.update(agent_id, metadata={**(agent.get("metadata") or {}),
                                                          "macros": MACROS}))
    caller.say("8 4 3 6 1")
    s.wait(12_000)
    board = s.window.show_view("live")
    assert isinstance(board, LiveView)
    panel = board.open_call(call_id)
    s.until(lambda: panel.model.is_loaded, 20, "the panel")
    s.until(lambda: len(panel.macros.macros) == len(MACROS), 20, "the macros")
    s.until(lambda: any(t.get("voice_to_voice_ms") for t in panel.model.latency.turns), 60,
            "a turn's latency")

    declining, busy = Refuser("603 Decline", s.scratch, 2500), Refuser("486 Busy Here", s.scratch, 1500)
    s.refusers += [declining, busy]
    destinations = [{"to": declining.uri, "label": "Returns desk"}, {"to": busy.uri, "label": "Billing desk"}]
    s.api(lambda c: c.warm_transfer(call_id, destinations, summary=BRIEFING, ringing_timeout=20,
                                    fallback={"strategy": "return_to_agent",
                                              "message": "Sorry, nobody is free right now."}))
    s.until(lambda: panel.model.transfers.running is None
            and "Failed" in panel.model.transfers.titles()
            and panel.model.status == "in_progress", 60, "the transfer's end")
    s.wait(6000)  # the agent tells the caller; the transcript catches up
    panel.details.setCurrentIndex(0)
    s.grab("live_call.png")
    print("timeline:", panel.model.transfers.titles())
    board.close_call()
    s.theme("dark")
    panel = board.open_call(call_id)
    s.until(lambda: panel.model.is_loaded, 20, "the panel")
    s.until(lambda: len(panel.model.transfers.titles()) > 2, 20, "the transfer history")
    s.wait(1500)
    panel.details.setCurrentIndex(0)
    s.grab("live_call_dark.png")
    s.theme("light")
    board.close_call()


def transfer_and_softphone_shots(s: Shots, call_id: str) -> None:
    """The transfer dialog (warm: a busy desk, then a console user), then the softphone of that
    user ringing with the offer and in the call."""
    from console.views.live import LiveView
    from console.views.softphone import SoftphoneDock

    users = s.api(lambda c: c.users.all())
    marcus = next(u for u in users if u.get("display_name") == "Marcus Bell")
    dock = s.window.softphone
    assert isinstance(dock, SoftphoneDock)
    dock.show()
    s.until(lambda: dock.user_combo.findData(marcus["id"]) >= 0, 20, "the softphone's users")
    dock.user_combo.setCurrentIndex(dock.user_combo.findData(marcus["id"]))
    dock.sign_in()
    s.until(lambda: dock.model.user is not None and dock.model.presence == "available", 20, "sign in")

    board = s.window.show_view("live")
    assert isinstance(board, LiveView)
    panel = board.open_call(call_id)
    s.until(lambda: panel.model.is_loaded, 20, "the panel")
    s.until(panel.transfer_button.isEnabled, 20, "the transfer button")
    busy = Refuser("486 Busy Here", s.scratch, 1500)
    s.refusers.append(busy)
    dialog = panel.open_transfer()
    dialog.warm.setChecked(True)
    s.until(lambda: dialog.users.rowCount() >= 2, 20, "the dialog's users")
    dialog.rows[0].to.setText(busy.uri)
    dialog.rows[0].label.setText("Billing desk")
    row = dialog.add_destination()
    row.kind.setCurrentIndex(1)
    s.until(lambda: row.user.findData(marcus["id"]) >= 0, 20, "Marcus among the users")
    row.user.setCurrentIndex(row.user.findData(marcus["id"]))
    row.label.setText("Marcus")
    dialog.summary.setPlainText(BRIEFING)
    dialog.ringing_timeout.setValue(45)
    dialog.fallback.setCurrentIndex(max(0, dialog.fallback.findData("return_to_agent")))
    s.wait(500)
    s.grab("transfer_dialog.png", dialog)
    dialog.submit()
    s.until(lambda: dock.model.offer is not None, 60, "the softphone's offer")
    board.close_call()
    s.wait(2500)
    s.grab("softphone_ringing.png")
    dock.model.answer()
    s.until(lambda: dock.model.phase == "connected", 40, "the softphone's call")
    s.wait(6000)
    s.grab("softphone_call.png")
    dock.model.hang_up()
    s.wait(1500)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory (engine data, sipp logs)")
    args = parser.parse_args()
    for tool in ("sipp", "espeak-ng"):
        if shutil.which(tool) is None:
            print(f"make_live_shots: {tool} is not installed", file=sys.stderr)
            return 2
    scratch = Path(tempfile.mkdtemp(prefix="switchboard-live-shots-"))
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")  # the console's settings stay here
    pulse = None
    try:
        from tests.harness.pulse import start_pulse

        pulse = start_pulse()
        if pulse is not None:
            os.environ["PULSE_SERVER"] = pulse.server
    except (ImportError, RuntimeError, OSError) as exc:
        print(f"make_live_shots: no PulseAudio ({exc}); the softphone call may fail", file=sys.stderr)
    shots: Shots | None = None
    try:
        shots = Shots(args.out, scratch)
        calls = board_shots(shots)
        caller = shots.callers[0]
        panel_shots(shots, calls[caller.caller_id], caller)
        transfer_and_softphone_shots(shots, calls[shots.callers[1].caller_id])
    finally:
        if shots is not None:
            shots.close()
        if pulse is not None:
            pulse.stop()
        if args.keep:
            print(f"make_live_shots: scratch kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
