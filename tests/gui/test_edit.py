"""Editing through the console against a real engine: agents, validation, CSV import of leads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console


def test_create_edit_duplicate_and_delete_an_agent(console: Console, qtbot: QtBot,
                                                   engine_server: RunningEngine) -> None:
    agents = console.view("agents")
    editor = agents.editor
    editor.new_record()
    editor.form.widget("name").setText("Console Ava")
    editor.form.widget("first_message").setPlainText("Hello from the console")
    editor.form.widget("tts.rate").setValue(190)
    with qtbot.waitSignal(editor.saved, timeout=10_000) as saved:
        editor.save()
    created = saved.args[0]
    assert created["name"] == "Console Ava" and created["tts"]["rate"] == 190
    stored = run_api(engine_server, lambda api: api.agents.get(created["id"]))
    assert stored["first_message"] == "Hello from the console"

    editor.form.widget("system_prompt").setPlainText("Be brief.")
    with qtbot.waitSignal(editor.saved, timeout=10_000):
        editor.save()
    assert run_api(engine_server, lambda api: api.agents.get(created["id"]))["system_prompt"] == "Be brief."

    with qtbot.waitSignal(editor.saved, timeout=10_000) as copied:
        editor.duplicate()
    copy = copied.args[0]
    assert copy["name"] == "Console Ava (copy)" and copy["id"] != created["id"]

    editor.ask_delete()
    box = editor.confirmation
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(editor.removed, timeout=10_000):
        next(b for b in box.buttons() if b.text() == "Delete").click()
    remaining = {a["id"] for a in run_api(engine_server, lambda api: api.agents.all())}
    assert copy["id"] not in remaining and created["id"] in remaining


def test_api_validation_error_shows_on_its_field(console: Console, qtbot: QtBot) -> None:
    editor = console.view("agents").editor
    editor.new_record()
    editor.form.widget("name").setText("Needs a URL")
    kind = editor.form.widget("brain.kind")
    kind.setCurrentIndex(kind.findData("llm"))
    editor.form.widget("brain.base_url").setText("")
    editor.save()
    qtbot.waitUntil(lambda: bool(editor.form.errors.message("brain.base_url")), timeout=10_000)
    assert "base_url" in editor.form.errors.message("brain.base_url")
    assert editor.form.widget("brain.base_url").property("invalid") is True
    assert editor.current is None  # nothing was created


def test_bad_script_json_is_caught_before_the_api(console: Console) -> None:
    editor = console.view("agents").editor
    editor.new_record()
    editor.form.widget("name").setText("Broken script")
    editor.form.widget("script").setPlainText("{not json")
    editor.save()
    assert "JSON" in editor.form.errors.message("script")


def test_csv_import_reports_bad_lines_and_imports_good_rows(console: Console, qtbot: QtBot,
                                                            engine_server: RunningEngine,
                                                            tmp_path: Path) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Dialer"))
    campaign = run_api(engine_server, lambda api: api.campaigns.create(name="CSV import",
                                                                      agent_id=agent["id"]))
    campaigns = console.view("campaigns")
    campaigns.select(campaign["id"])
    qtbot.waitUntil(lambda: (campaigns.editor.current or {}).get("id") == campaign["id"]
                    and not campaigns.leads.loading, timeout=10_000)
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "phone_number,name,plan\n"
        "+14155550101,Ada,gold\n"      # line 2
        "not a number,Bob,silver\n"    # line 3: bad
        "(415) 555-0102,Cy,gold\n"     # line 4: national, default region US
        "\n"
        "+1 555,Dee,gold\n"            # line 6: bad (too short)
        "+442079460958,Eve,bronze\n",  # line 7
        encoding="utf-8",
    )
    report = campaigns.import_csv(csv)
    assert report is not None
    problems = report.problems.toPlainText()
    assert "Line 3" in problems and "Line 6" in problems and "Line 2" not in problems
    assert report.import_button.text() == "Import 3 leads"
    with qtbot.waitSignal(campaigns.import_finished, timeout=20_000) as finished:
        report.import_button.click()
    assert finished.args == [3, 0]
    leads = run_api(engine_server, lambda api: api.leads(campaign["id"]).all())
    assert sorted(lead["phone_number"] for lead in leads) == ["+14155550101", "+14155550102",
                                                               "+442079460958"]
    assert {lead["name"]: lead["variables"] for lead in leads}["Ada"] == {"plan": "gold"}
    qtbot.waitUntil(lambda: campaigns.leads.rowCount() == 3, timeout=10_000)


def test_call_notes_are_saved(console: Console, qtbot: QtBot, engine_server: RunningEngine) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Notes"))
    call = run_api(engine_server, lambda api: api.create_call(agent_id=agent["id"], to_number="+14155550111",
                                                             from_number="+14155550100", is_test=True))
    calls = console.view(f"call:{call['id']}")
    calls.detail.notes.setPlainText("Call back tomorrow")
    with qtbot.waitSignal(calls.detail.call_updated, timeout=10_000):
        calls.detail.save_notes()
    assert run_api(engine_server, lambda api: api.get_call(call["id"]))["notes"] == "Call back tomorrow"
