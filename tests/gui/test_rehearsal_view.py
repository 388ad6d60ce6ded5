"""The agent editor's Rehearse dialog against a real engine process with SIP on loopback and the
demo agents: the personas (from GET /v1/personas) to check, a stored rehearsal's report (rows
written to the engine's store: a row per persona, bars, totals, the comparison with the previous
one, the agent's earlier rehearsals, a persona's test call opened in the Calls view), and one real
rehearsal started from the dialog with one persona, its report arriving while the dialog polls;
on an engine without SIP, the dialog says why it cannot start."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from console import theme
from console.models.rehearsal import BAR_ROLE, CALL_ID_ROLE
from console.views.agents import AgentsView
from console.views.calls import CallsView
from console.views.rehearsal import RehearsalDialog
from engine.app import Engine
from engine.client import Record
from engine.settings import Settings
from engine.simulator.rehearsal import compare
from engine.store import Call, Rehearsal, session_scope, utcnow
from tests.harness.demo_agents import add_demo_agents
from tests.harness.engine_host import TEST_KEY, RunningEngine, run_api, start_engine
from tests.harness.live_console import Console, open_console
from tests.harness.ports import free_udp_port

pytestmark = pytest.mark.timeout(300)
REPORT_TIMEOUT_MS = 180_000  # a rehearsal of one persona: models warm up, then a call of ~30 s


@dataclass
class Server:
    engine: RunningEngine
    store: Engine  # the engine process's store, opened from the test
    agents: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An engine process with SIP on loopback (rehearsals need it) and the demo agents."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    data_dir = tmp_path_factory.mktemp("rehearsals")
    engine = start_engine(data_dir, extra_args=("--sip-host", "127.0.0.1",
                                                "--sip-port", str(free_udp_port())))
    store = Engine(Settings(data_dir=data_dir, api_key=TEST_KEY))
    try:
        store.setup()
        yield Server(engine, store, add_demo_agents(store))
    finally:
        store.close()
        engine.stop()


@pytest.fixture
def console(qapp: Any, server: Server) -> Iterator[Console]:
    yield from open_console(qapp, server.engine)


def persona_row(persona: str, goal: str, call_id: str, *, reached: bool, p95: float,
                wer: float | None, **figures: Any) -> Record:
    """One persona's line of a report, as the engine scores it."""
    words = 20
    return {"persona": persona, "goal": goal, "call_id": call_id, "status": "completed",
            "end_reason": "caller_hangup", "sip_status": 200, "goal_reached": reached,
            "why": [] if reached else ["never heard 'order 8 4 3 6 1'",
                                       "the call ended by the agent, not the caller"],
            "turns": figures.get("turns", 3), "voice_to_voice_ms": [p95 * 0.7, p95],
            "voice_to_voice_p50_ms": round(p95 * 0.7, 1), "voice_to_voice_p95_ms": p95,
            "barge_ins": figures.get("barge_ins", 0), "idle_prompts": figures.get("idle_prompts", 0),
            "transfers": figures.get("transfers", 0),
            "words_misheard": None if wer is None else {
                "words": words, "errors": round(wer * words), "substitutions": round(wer * words),
                "deletions": 0, "insertions": 0, "wer": wer}}


def report_of(rows: list[Record]) -> Record:
    latencies = [ms for r in rows for ms in r["voice_to_voice_ms"]]
    wers = [r["words_misheard"]["wer"] for r in rows if r["words_misheard"]]
    return {"personas": rows, "totals": {
        "personas": len(rows), "goals_reached": sum(1 for r in rows if r["goal_reached"]),
        "voice_to_voice_p50_ms": min(latencies), "voice_to_voice_p95_ms": max(latencies),
        "wer": round(sum(wers) / len(wers), 3) if wers else None}}


def finished_test_calls(server: Server, agent_id: str, personas: list[str]) -> dict[str, str]:
    """A finished test call per persona, as a rehearsal leaves them; their ids by persona."""
    ids: dict[str, str] = {}
    with session_scope(server.store.db) as session:
        for persona in personas:
            now = utcnow()
            call = Call(organization_id=server.store.organization_id, type="test_call",
                        direction="inbound", agent_id=agent_id, status="completed", is_test=True,
                        initiated_at=now, ended_at=now, created_at=now, updated_at=now,
                        disconnect_reason="caller_hangup", metadata_={"persona": persona})
            session.add(call)
            ids[persona] = call.id
    return ids


def store_rehearsals(server: Server, agent_id: str) -> tuple[str, str]:
    """Two completed rehearsals of the agent, the second compared with the first; their ids."""
    names = ["order_status", "wants_human", "silent_caller"]
    goals = {"order_status": "Hear what the shop knows about order 8 4 3 6 1, then say goodbye.",
             "wants_human": "Be put through to a person (the agent requests a transfer).",
             "silent_caller": "The agent prompts, then ends the call itself when nobody answers."}
    first_calls = finished_test_calls(server, agent_id, names[:2])
    second_calls = finished_test_calls(server, agent_id, names)
    first = report_of([
        persona_row("order_status", goals["order_status"], first_calls["order_status"],
                    reached=True, p95=1480.0, wer=0.25, turns=3),
        persona_row("wants_human", goals["wants_human"], first_calls["wants_human"],
                    reached=True, p95=900.0, wer=0.0, transfers=1, turns=1)])
    silent = persona_row("silent_caller", goals["silent_caller"], second_calls["silent_caller"],
                         reached=True, p95=0.0, wer=None, turns=0, idle_prompts=1)
    silent.update(voice_to_voice_ms=[], voice_to_voice_p50_ms=None, voice_to_voice_p95_ms=None)
    second = report_of([
        persona_row("order_status", goals["order_status"], second_calls["order_status"],
                    reached=False, p95=1120.0, wer=0.05, turns=4),
        persona_row("wants_human", goals["wants_human"], second_calls["wants_human"],
                    reached=True, p95=1310.0, wer=0.0, transfers=1, turns=1),
        silent])
    org = server.store.organization_id
    with session_scope(server.store.db) as session:
        earlier = utcnow() - timedelta(hours=2)
        older = Rehearsal(organization_id=org, agent_id=agent_id, status="completed",
                          personas=names[:2], report=first, created_at=earlier,
                          started_at=earlier, ended_at=earlier + timedelta(minutes=1),
                          updated_at=earlier)
        session.add(older)
        session.flush()
        second["comparison"] = {"previous_id": older.id, "personas": compare(second, first)}
        now = utcnow()
        newer = Rehearsal(organization_id=org, agent_id=agent_id, status="completed",
                          personas=names, report=second, previous_id=older.id, created_at=now,
                          started_at=now, ended_at=now, updated_at=now)
        session.add(newer)
        return older.id, newer.id


def open_dialog(console: Console, qtbot: QtBot, agent_id: str) -> RehearsalDialog:
    agents = console.view("agents")
    assert isinstance(agents, AgentsView)
    agents.select(agent_id)
    qtbot.waitUntil(lambda: (agents.editor.current or {}).get("id") == agent_id, timeout=10_000)
    assert agents.editor.rehearse_button.isEnabled()
    qtbot.mouseClick(agents.editor.rehearse_button, Qt.MouseButton.LeftButton)
    dialog = agents.editor.rehearsal_dialog
    assert dialog is not None and dialog.isVisible() and dialog.agent_id == agent_id
    qtbot.waitUntil(lambda: len(dialog.persona_boxes) > 0, timeout=10_000)
    return dialog


def test_rehearse_is_for_a_saved_agent(console: Console, server: Server, qtbot: QtBot) -> None:
    editor = console.view("agents").editor
    editor.select(server.agents["orders"])
    qtbot.waitUntil(lambda: editor.current is not None, timeout=10_000)
    assert editor.rehearse_button.isEnabled()
    editor.new_record()
    assert not editor.rehearse_button.isEnabled()
    assert editor.rehearse() is None


def test_a_stored_report_its_comparison_and_the_earlier_rehearsal(
        console: Console, server: Server, qtbot: QtBot) -> None:
    agent = server.agents["billing"]
    older_id, newer_id = store_rehearsals(server, agent)
    dialog = open_dialog(console, qtbot, agent)
    try:
        # the personas, all checked, each with its goal as tooltip
        personas = run_api(server.engine, lambda api: api.personas())
        assert list(dialog.persona_boxes) == [p["name"] for p in personas]
        assert dialog.chosen() == [p["name"] for p in personas]
        goal = next(p["goal"] for p in personas if p["name"] == "quick_question")
        assert goal in dialog.persona_boxes["quick_question"].toolTip()
        dialog.none_button.click()
        assert not dialog.start_button.isEnabled()
        dialog.persona_boxes["wants_human"].setChecked(True)
        assert dialog.start_button.isEnabled() and dialog.chosen() == ["wants_human"]

        # the newest rehearsal is shown: a row per persona
        qtbot.waitUntil(lambda: (dialog.rehearsal or {}).get("id") == newer_id, timeout=10_000)
        model = dialog.report
        assert dialog.history.count() == 2
        assert [model.index(r, 0).data() for r in range(model.rowCount())] == \
            ["Order status", "Wants human", "Silent caller"]
        goal_cell = model.index(0, 1)
        assert goal_cell.data() == "✗ Missed" and model.index(1, 1).data() == "✓ Reached"
        assert "never heard 'order 8 4 3 6 1'" in goal_cell.data(Qt.ItemDataRole.ToolTipRole)
        assert goal_cell.data(Qt.ItemDataRole.ForegroundRole) == QColor(theme.colors().danger)
        assert [model.index(0, c).data() for c in range(2, 9)] == \
            ["4", "784 ms", "1,120 ms", "0", "0", "0", "5.0 %"]
        assert model.index(2, 4).data() == "—" and model.index(2, 8).data() == "—"
        assert model.index(2, 6).data() == "1"  # silent_caller's idle prompt
        # bars: p95 against 2 s, WER against 50 %; none where there is no figure
        assert model.index(1, 4).data(BAR_ROLE) == pytest.approx(1310 / 2000)
        assert model.index(0, 8).data(BAR_ROLE) == pytest.approx(0.1)
        assert model.index(2, 4).data(BAR_ROLE) is None
        # the totals
        assert dialog.total_cards["goals"].text() == "2 of 3"
        assert dialog.total_cards["p95"].text() == "1,310 ms"
        assert dialog.total_cards["p50"].text() == "784 ms"
        # what changed: order_status got faster (green) but missed its goal (red); wants_human
        # got slower; silent_caller is new
        p95 = model.index(0, 4)
        assert p95.data(Qt.ItemDataRole.ForegroundRole) == QColor(theme.colors().success)
        assert "1,480 ms → 1,120 ms (better)" in p95.data(Qt.ItemDataRole.ToolTipRole)
        assert model.index(1, 4).data(Qt.ItemDataRole.ForegroundRole) == \
            QColor(theme.colors().danger)
        lines = {(line.persona, line.figure): line for line in dialog.comparison.lines}
        assert lines[("Order status", "Goal reached")].verdict == "worse"
        assert lines[("Order status", "Goal reached")].before == "yes"
        assert lines[("Order status", "Voice-to-voice p95")].after == "1,120 ms"
        assert lines[("Wants human", "Voice-to-voice p95")].verdict == "worse"
        assert lines[("Silent caller", "")].verdict == "new"
        # order_status: p50, p95 and WER better, goal worse; wants_human: p50 and p95 worse
        assert "3 better, 3 worse" in dialog.compare_caption.text()

        # the persona's detail says why, and its call opens in the Calls view
        dialog.table.selectRow(0)
        assert "the call ended by the agent" in dialog.detail.text()
        call_id = model.index(0, 0).data(CALL_ID_ROLE)
        with qtbot.waitSignal(dialog.open_call_requested, timeout=5_000) as opened:
            dialog.open_button.click()
        assert opened.args == [call_id]
        calls = console.window.current_view()
        assert isinstance(calls, CallsView)
        qtbot.waitUntil(lambda: (calls.detail.call or {}).get("id") == call_id, timeout=20_000)
        assert calls.detail.call is not None and calls.detail.call["is_test"] is True

        # the previous rehearsal, from the comparison or the list
        dialog.previous_button.click()
        assert (dialog.rehearsal or {}).get("id") == older_id
        assert dialog.report.rowCount() == 2 and dialog.comparison.rowCount() == 0
        assert not dialog.previous_button.isVisible()
        assert dialog.total_cards["goals"].text() == "2 of 2"
        dialog.history.setCurrentIndex(0)
        dialog.history.activated.emit(0)
        assert (dialog.rehearsal or {}).get("id") == newer_id
    finally:
        dialog.close()


def test_start_runs_a_rehearsal_and_its_report_arrives(console: Console, server: Server,
                                                       qtbot: QtBot) -> None:
    agent = server.agents["orders"]
    dialog = open_dialog(console, qtbot, agent)
    try:
        qtbot.waitUntil(lambda: "Not rehearsed yet" in dialog.status.text(), timeout=10_000)
        dialog.none_button.click()
        dialog.persona_boxes["quick_question"].setChecked(True)
        with qtbot.waitSignal(dialog.report_shown, timeout=REPORT_TIMEOUT_MS) as shown:
            qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: dialog.running_id is not None, timeout=10_000)
            assert not dialog.start_button.isEnabled() and dialog.progress.isVisible()
        rehearsal = shown.args[0]
        assert rehearsal["status"] == "completed", rehearsal
        assert rehearsal["id"] == dialog.history.itemData(0)["id"]
        assert dialog.running_id is None and dialog.start_button.isEnabled()
        assert dialog.status.text().startswith("Completed")
        [row] = rehearsal["report"]["personas"]
        assert row["persona"] == "quick_question" and row["call_id"], row
        assert dialog.report.rowCount() == 1
        assert dialog.report.index(0, 0).data(CALL_ID_ROLE) == row["call_id"]
        assert dialog.report.index(0, 1).data() == ("✓ Reached" if row["goal_reached"]
                                                    else "✗ Missed")
        assert dialog.report.index(0, 2).data() == str(row["turns"])
        stored = run_api(server.engine, lambda api: api.get_call(row["call_id"]))
        assert stored["is_test"] is True and stored["metadata"]["persona"] == "quick_question"
    finally:
        dialog.close()


def test_without_sip_the_dialog_says_why_it_cannot_start(qapp: Any, engine_server: RunningEngine,
                                                         qtbot: QtBot) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="No SIP here"))
    with contextlib.closing(open_console(qapp, engine_server)) as consoles:
        dialog = open_dialog(next(consoles), qtbot, str(agent["id"]))
        try:
            dialog.start_button.click()
            qtbot.waitUntil(dialog.start_error.isVisible, timeout=10_000)
            assert "SIP" in dialog.start_error.text()
            assert dialog.start_button.isEnabled() and dialog.running_id is None
            assert dialog.history.count() == 0
        finally:
            dialog.close()
