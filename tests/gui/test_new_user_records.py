"""The record views as a new user meets them, clicked with the mouse against a real engine: an
agent needs a name and a script, counts follow every change, unsaved edits are not dropped,
a new campaign is empty until saved, duplicate leads and lead deletion."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QTableView
from pytestqt.qtbot import QtBot

from console.leads_csv import parse_leads
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console

pytestmark = pytest.mark.timeout(120)
LEFT = Qt.MouseButton.LeftButton
SCRIPT = {"greeting": "Hello there."}


def click(qtbot: QtBot, widget: QAbstractButton) -> None:
    assert widget.isEnabled() and widget.isVisible(), widget.text()
    qtbot.mouseClick(widget, LEFT)


def click_row(qtbot: QtBot, table: QTableView, row: int) -> None:
    index = table.model().index(row, 0)
    table.scrollTo(index)
    qtbot.mouseClick(table.viewport(), LEFT, pos=table.visualRect(index).center())


def answer(qtbot: QtBot, box: object, which: QMessageBox.StandardButton) -> None:
    assert isinstance(box, QMessageBox) and box.isVisible()
    qtbot.mouseClick(box.button(which), LEFT)


def test_an_agent_needs_a_name_and_a_script(console: Console, qtbot: QtBot,
                                            engine_server: RunningEngine) -> None:
    editor = console.view("agents").editor
    before = len(run_api(engine_server, lambda api: api.agents.all()))
    click(qtbot, editor.new_button)
    assert editor.form.widget("script").toPlainText().strip() not in ("", "{}")  # a script to start from
    click(qtbot, editor.save_button)
    assert "name" in editor.form.errors.message("name")
    editor.form.widget("name").setText("Scriptless")
    editor.form.widget("script").setPlainText("{}")
    click(qtbot, editor.save_button)
    assert "greeting" in editor.form.errors.message("script")
    assert editor.current is None
    assert len(run_api(engine_server, lambda api: api.agents.all())) == before


def test_the_llm_fields_say_they_are_required_and_wait_for_an_llm(console: Console, qtbot: QtBot) -> None:
    editor = console.view("agents").editor
    click(qtbot, editor.new_button)
    base_url = editor.form.widget("brain.base_url")
    assert base_url.placeholderText().startswith("Required") and not base_url.isEnabled()
    kind = editor.form.widget("brain.kind")
    kind.setCurrentIndex(kind.findData("llm"))
    assert base_url.isEnabled() and editor.form.widget("brain.model").isEnabled()


def test_header_counts_follow_saves_deletions_and_other_clients(console: Console, qtbot: QtBot,
                                                                engine_server: RunningEngine) -> None:
    view = console.view("agents")
    editor = view.editor

    def shown() -> int:
        return int(view.subtitle.text().split()[0])

    count = len(run_api(engine_server, lambda api: api.agents.all()))
    assert shown() == count
    click(qtbot, editor.new_button)
    editor.form.widget("name").setText("Counted")
    with qtbot.waitSignal(editor.saved, timeout=10_000):
        click(qtbot, editor.save_button)
    assert shown() == count + 1

    click(qtbot, editor.delete_button)
    box = editor.confirmation
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(editor.removed, timeout=10_000):
        qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Delete"), LEFT)
    assert shown() == count

    elsewhere = run_api(engine_server, lambda api: api.agents.create(name="Made elsewhere"))
    qtbot.waitUntil(lambda: shown() == count + 1, timeout=10_000)
    assert editor.model.row_of(elsewhere["id"]) >= 0
    run_api(engine_server, lambda api: api.agents.delete(elsewhere["id"]))
    qtbot.waitUntil(lambda: shown() == count and editor.model.row_of(elsewhere["id"]) < 0, timeout=10_000)


def test_unsaved_agent_edits_ask_before_another_row_is_shown(console: Console, qtbot: QtBot,
                                                             engine_server: RunningEngine) -> None:
    first = run_api(engine_server, lambda api: api.agents.create(name="Edited first", script=SCRIPT))
    second = run_api(engine_server, lambda api: api.agents.create(name="Edited second", script=SCRIPT))
    view = console.view("agents")
    editor = view.editor
    qtbot.waitUntil(lambda: editor.model.row_of(second["id"]) >= 0, timeout=10_000)
    click_row(qtbot, editor.table, editor.model.row_of(first["id"]))
    assert editor.current is not None and editor.current["id"] == first["id"]
    editor.form.widget("description").setText("not saved yet")

    click_row(qtbot, editor.table, editor.model.row_of(second["id"]))  # Cancel: keep editing
    answer(qtbot, editor.confirmation, QMessageBox.StandardButton.Cancel)
    assert editor.current["id"] == first["id"]
    assert editor.form.widget("description").text() == "not saved yet"
    qtbot.waitUntil(lambda: editor.table.selectionModel().isRowSelected(editor.model.row_of(first["id"])),
                    timeout=5_000)
    assert not editor.table.selectionModel().isRowSelected(editor.model.row_of(second["id"]))

    click_row(qtbot, editor.table, editor.model.row_of(second["id"]))  # Save: stored, then moves on
    with qtbot.waitSignal(editor.saved, timeout=10_000):
        answer(qtbot, editor.confirmation, QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: editor.current is not None and editor.current["id"] == second["id"],
                    timeout=10_000)
    assert run_api(engine_server, lambda api: api.agents.get(first["id"]))["description"] == "not saved yet"
    assert editor.table.selectionModel().isRowSelected(editor.model.row_of(second["id"]))

    editor.form.widget("description").setText("thrown away")  # Discard: gone, nothing stored
    click_row(qtbot, editor.table, editor.model.row_of(first["id"]))
    answer(qtbot, editor.confirmation, QMessageBox.StandardButton.Discard)
    assert editor.current["id"] == first["id"]
    assert run_api(engine_server, lambda api: api.agents.get(second["id"]))["description"] == ""

    editor.form.widget("description").setText("before a test call")  # Test call asks too
    click(qtbot, editor.test_call_button)
    answer(qtbot, editor.confirmation, QMessageBox.StandardButton.Cancel)
    assert not console.window.softphone.isVisible()
    assert editor.form.widget("description").text() == "before a test call"
    editor.form.widget("description").setText("not saved yet")  # as saved: nothing to ask about
    assert not editor.is_dirty()


def test_a_new_campaign_shows_no_leads_and_cannot_import_or_start(console: Console, qtbot: QtBot,
                                                                  engine_server: RunningEngine) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Caller", script=SCRIPT))
    campaign = run_api(engine_server, lambda api: api.campaigns.create(name="Has leads",
                                                                      agent_id=agent["id"]))
    run_api(engine_server, lambda api: api.import_leads(campaign["id"], [
        {"phone_number": "+14155550131"}, {"phone_number": "+14155550132"}]))
    view = console.view("campaigns")
    view.select(campaign["id"])
    qtbot.waitUntil(lambda: view.leads.rowCount() == 2 and not view.leads.loading, timeout=10_000)
    assert view.start_button.isEnabled() and view.import_button.isEnabled()

    click(qtbot, view.editor.new_button)
    assert view.leads.rowCount() == 0 and view.leads_title.text() == "Leads"
    assert not view.import_button.isEnabled() and not view.start_button.isEnabled()
    assert view.start_hint.text() == "Save the campaign first"
    assert view.start_button.toolTip() == "Save the campaign first"

    empty = run_api(engine_server, lambda api: api.campaigns.create(name="No leads yet",
                                                                   agent_id=agent["id"]))
    view.select(empty["id"])
    qtbot.waitUntil(lambda: (view.editor.current or {}).get("id") == empty["id"]
                    and not view.leads.loading, timeout=10_000)
    assert not view.start_button.isEnabled() and view.start_hint.text() == "Import leads first"
    assert view.import_button.isEnabled()


def test_a_lead_can_be_deleted(console: Console, qtbot: QtBot, engine_server: RunningEngine) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Caller", script=SCRIPT))
    campaign = run_api(engine_server, lambda api: api.campaigns.create(name="Pruned", agent_id=agent["id"]))
    run_api(engine_server, lambda api: api.import_leads(campaign["id"], [
        {"phone_number": "+14155550141", "name": "Keep"}, {"phone_number": "+14155550142", "name": "Drop"}]))
    view = console.view("campaigns")
    view.select(campaign["id"])
    qtbot.waitUntil(lambda: view.leads.rowCount() == 2 and not view.leads.loading, timeout=10_000)
    assert not view.delete_lead_button.isEnabled()
    drop = next(row for row in range(2) if view.leads.record(row)["name"] == "Drop")
    click_row(qtbot, view.leads_table, drop)
    click(qtbot, view.delete_lead_button)
    box = view.confirmation
    assert isinstance(box, QMessageBox) and "Drop" in box.text()
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Delete"), LEFT)
    qtbot.waitUntil(lambda: view.leads.rowCount() == 1, timeout=10_000)
    assert view.leads_title.text() == "Leads · 1"
    stored = run_api(engine_server, lambda api: api.leads(campaign["id"]).all())
    assert [lead["name"] for lead in stored] == ["Keep"]


def test_a_csv_number_twice_is_a_bad_row_and_bad_numbers_read_plainly(tmp_path: Path) -> None:
    parsed = parse_leads("phone_number,name\n+14155550151,Ann\n(415) 555-0151,Ann again\n"
                         "call me,Bob\n+14155550152,Cy\n")
    assert [lead["name"] for lead in parsed.leads] == ["Ann", "Cy"]
    assert [(row.line, row.reason) for row in parsed.bad] == [
        (3, "+14155550151 is already on line 2"), (4, "“call me” is not a phone number")]


def test_the_agents_form_holds_at_1100_by_700(console: Console, qtbot: QtBot) -> None:
    console.window.resize(1100, 700)
    view = console.view("agents")
    qtbot.waitUntil(lambda: view.width() < 1000, timeout=5_000)
    for widget in (view.editor.save_button, view.editor.new_button):
        corner = widget.mapTo(view, QPoint(widget.width(), widget.height()))
        assert view.rect().contains(corner - QPoint(1, 1)), widget.text()


def test_the_calls_list_follows_the_events_and_keeps_unsaved_notes(console: Console, qtbot: QtBot,
                                                                   engine_server: RunningEngine) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Listed", script=SCRIPT))
    calls = console.view("calls")
    first = run_api(engine_server, lambda api: api.create_call(agent_id=agent["id"], to_number="+14155550161",
                                                               from_number="+14155550100"))
    qtbot.waitUntil(lambda: calls.model.row_of(first["id"]) == 0, timeout=15_000)  # no Refresh
    second = run_api(engine_server, lambda api: api.create_call(
        agent_id=agent["id"], to_number="+14155550162", from_number="+14155550100"))
    qtbot.waitUntil(lambda: calls.model.row_of(second["id"]) == 0, timeout=15_000)

    click_row(qtbot, calls.table, calls.model.row_of(first["id"]))
    qtbot.waitUntil(lambda: calls.detail.call is not None and calls.detail.call["id"] == first["id"],
                    timeout=10_000)
    calls.detail.notes.setPlainText("Call back on Monday")
    click_row(qtbot, calls.table, calls.model.row_of(second["id"]))
    answer(qtbot, calls.unsaved_box, QMessageBox.StandardButton.Cancel)
    qtbot.waitUntil(lambda: calls.table.selectionModel().isRowSelected(calls.model.row_of(first["id"])),
                    timeout=5_000)
    assert calls.detail.call_id == first["id"]
    assert calls.detail.notes.toPlainText() == "Call back on Monday"

    click_row(qtbot, calls.table, calls.model.row_of(second["id"]))
    answer(qtbot, calls.unsaved_box, QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: run_api(engine_server, lambda api: api.get_call(first["id"]))["notes"]
                    == "Call back on Monday", timeout=10_000)
    qtbot.waitUntil(lambda: calls.detail.call is not None and calls.detail.call["id"] == second["id"],
                    timeout=10_000)

    refresh = next(b for b in calls.findChildren(QAbstractButton) if b.text() == "Refresh")
    click(qtbot, refresh)
    qtbot.waitUntil(lambda: calls.model.pages_fetched > 0 and calls.model.row_of(second["id"]) is not None,
                    timeout=10_000)
    assert calls.table.selectionModel().isRowSelected(calls.model.row_of(second["id"]))
