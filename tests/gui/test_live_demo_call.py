"""The console follows a simulated call live: an engine process with SIP on loopback and the
demo's order-status agent, a simulated caller (the order_status persona, espeak-ng speech over
real RTP, hearing the agent through whisper tiny.en) dialing it; the Live board lists the call in
progress and its panel streams the transcript (the agent's greeting, then the caller's words)
while the call is still on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from engine.simulator import CallResult, SimulatedCaller, load_persona
from engine.speech.models import SpeechModels
from tests.harness.live_console import Console, end_live_calls, live_console_fixture
from tests.harness.sip_server import SipServer, sip_server_fixture

pytestmark = pytest.mark.timeout(240)

NUMBER = "+14155550134"  # the demo's order-status number, on an engine of this module's own

sip_server = sip_server_fixture("live_demo", NUMBER, idle_timeout_seconds=30)
live_console = live_console_fixture()


class CallerThread(threading.Thread):
    """A simulated caller on an asyncio loop of its own, beside the Qt event loop."""

    def __init__(self, persona: str, uri: str, models_dir: Path) -> None:
        super().__init__(name=f"simulated-{persona}", daemon=True)
        self.persona = persona
        self.uri = uri
        self.models_dir = models_dir
        self.result: CallResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        async def call() -> CallResult:
            models = SpeechModels(self.models_dir)
            try:
                caller = SimulatedCaller(load_persona(self.persona), models.whisper())
                return await caller.call(self.uri, limit_s=120)
            finally:
                await models.aclose()

        try:
            self.result = asyncio.run(call())
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.fixture
def caller(sip_server: SipServer, tmp_path: Path) -> Iterator[CallerThread]:
    thread = CallerThread("order_status",
                          f"sip:{NUMBER.lstrip('+')}@127.0.0.1:{sip_server.sip_port}", tmp_path)
    thread.start()
    yield thread
    if thread.is_alive():  # a failed test: hang up from the engine's side
        end_live_calls(sip_server)
    thread.join(60)


def _entries(panel: Any, source: str) -> list[dict[str, Any]]:
    return [e for e in panel.model.transcript.entries
            if e.get("source") == source and not e.get("partial") and str(e.get("text")).strip()]


def test_the_live_view_streams_a_simulated_call(live_console: Console, caller: CallerThread,
                                                sip_server: SipServer, qtbot: QtBot) -> None:
    board = live_console.view("live")
    qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=60_000)
    call_id = board.model.call_id(board.model.index(0, 0))
    assert call_id
    panel = board.open_call(call_id)
    qtbot.waitUntil(lambda: panel.model.is_loaded, timeout=20_000)
    assert panel.model.live, panel.model.status

    # the agent's greeting, then the caller's first line as the agent heard it
    qtbot.waitUntil(lambda: any("northwind" in str(e["text"]).lower()
                                for e in _entries(panel, "agent")), timeout=60_000)
    qtbot.waitUntil(lambda: any("order" in str(e["text"]).lower()
                                for e in _entries(panel, "user")), timeout=90_000)
    assert caller.is_alive() and panel.model.live, panel.model.status  # still on
    greeting = next(i for i, e in enumerate(panel.model.transcript.entries)
                    if e.get("source") == "agent")
    first_words = next(i for i, e in enumerate(panel.model.transcript.entries)
                       if e.get("source") == "user" and not e.get("partial"))
    assert greeting < first_words
    assert board.model.rowCount() == 1

    # the supervisor's end (the API's end_call) hangs up on the caller; the panel sees it end
    end_live_calls(sip_server)
    qtbot.waitUntil(lambda: not caller.is_alive(), timeout=60_000)
    assert caller.error is None, caller.error
    assert caller.result is not None and caller.result.answered, caller.result
    assert caller.result.ended_by == "agent", caller.result
    qtbot.waitUntil(lambda: not panel.model.live, timeout=30_000)
    board.close_call()
