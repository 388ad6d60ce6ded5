"""The campaign view while a campaign dials the demo's simulated people over real SIP on
loopback: Start is clicked, the progress bar, the counters and the leads' statuses follow the
engine's ``campaign.progress`` events, Pause / Resume / Cancel are enabled as the lifecycle says,
a lead's last call opens in the Calls view, and the Live view names the campaign of its call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from console import formatting as fmt
from console.views.calls import CallsView
from console.views.campaigns import CampaignsView
from console.views.live import LiveView
from engine.app import Engine
from engine.client import Client
from engine.demo.catalog import CALLEES_NUMBER
from engine.demo.seed import seed
from engine.settings import Settings
from tests.harness.engine_host import TEST_KEY, RunningEngine, run_api, start_engine
from tests.harness.live_console import Console, open_console

pytestmark = pytest.mark.timeout(240)

LEFT = Qt.MouseButton.LeftButton
# engine.simulator.number_plan.demo_plan: who answers what
PERSON = "+12025550101"  # a person answers
BUSY = "+12025550120"  # 486 Busy Here
UNKNOWN = "+12025550250"  # outside the plan: 404, not tried again
AGENT_LIMIT_S = 8  # an answered call ends within this (the agent's max duration)
CALL_WAIT_MS = 90_000  # a campaign's three calls end within this on a loaded CI machine


def _seeded_data_dir(data_dir: Path) -> None:
    """A store with the demo's trunk to the simulated people (no demo calls or leads): the
    engine started on it points the trunk at them."""
    engine = Engine(Settings(data_dir=data_dir, api_key=TEST_KEY))
    try:
        engine.setup()
        seed(engine.db, engine.organization_id, calls=0, leads=0)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def dialler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """An engine process with SIP on loopback whose dialer reaches the simulated people."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    data_dir = tmp_path_factory.mktemp("campaign-dialling")
    _seeded_data_dir(data_dir)
    running = start_engine(data_dir, extra_args=("--sip-host", "127.0.0.1", "--sip-port", "0"),
                           timeout=120)
    yield running
    running.stop()


@pytest.fixture
def console(qapp: QApplication, dialler: RunningEngine) -> Iterator[Console]:
    yield from open_console(qapp, dialler)


def _campaign(engine: RunningEngine, name: str, leads: list[dict[str, Any]]) -> dict[str, Any]:
    async def make(api: Client) -> dict[str, Any]:
        number = next(n for n in await api.phone_numbers.all() if n["number"] == CALLEES_NUMBER)
        agent = await api.agents.create(
            name=f"{name} caller", first_message="Hello {{first_name}}, this is Northwind calling.",
            max_duration_seconds=AGENT_LIMIT_S, stt={"engine": "whisper", "model": "tiny.en"},
            tts={"engine": "espeak-ng", "voice": "en-us+f3", "rate": 190})
        campaign = await api.campaigns.create(
            name=name, agent_id=agent["id"], phone_number_id=number["id"],
            calling_hours_start="00:00", calling_hours_end="24:00", calling_days=list(range(7)),
            max_concurrent=1, calls_per_minute=120, max_attempts=3, retry_busy_minutes=60,
            retry_no_answer_minutes=90, retry_delay_minutes=30, amd="off")
        imported = await api.import_leads(campaign["id"], leads)
        assert imported["imported"] == len(leads), imported
        return campaign

    return run_api(engine, make)


def _click(qtbot: QtBot, widget: QAbstractButton) -> None:
    assert widget.isEnabled() and widget.isVisible(), (widget.text(), widget.toolTip())
    qtbot.mouseClick(widget, LEFT)


def _enabled(view: CampaignsView) -> dict[str, bool]:
    return {action: widget.isEnabled() for action, widget in view.action_buttons.items()}


def _lead_statuses(view: CampaignsView) -> dict[str, str]:
    status = next(i for i, c in enumerate(view.leads.columns) if c.title == "Status")
    return {str(r["phone_number"]): str(view.leads.data(view.leads.index(row, status)))
            for row, r in enumerate(view.leads.records)}


def stored_busy(engine: RunningEngine, campaign: dict[str, Any]) -> str:
    """The busy lead's next attempt as the engine has it."""
    leads = run_api(engine, lambda api: api.leads(campaign["id"]).all())
    return str(next(lead for lead in leads if lead["phone_number"] == BUSY)["next_attempt_at"])


def _shown(view: CampaignsView) -> str:
    return str((view.editor.current or {}).get("status"))


def test_a_campaign_dials_live_in_its_view(console: Console, qtbot: QtBot,
                                           dialler: RunningEngine) -> None:
    campaign = _campaign(dialler, "Renewals", [
        {"phone_number": PERSON, "name": "Ann Lee"},
        {"phone_number": BUSY, "name": "Cy Moe"},
        {"phone_number": UNKNOWN, "name": "Ed Poe"}])
    live = console.view("live")  # built first: it follows the calls while the campaign view shows
    assert isinstance(live, LiveView)
    agents_seen: set[str] = set()  # the Live view's Agent cells while the calls were live

    def look() -> None:
        agents_seen.update(str(live.model.data(live.model.index(row, 2)))
                           for row in range(live.model.rowCount()))

    for signal in (live.model.changed, live.model.layoutChanged, live.model.dataChanged):
        signal.connect(look)
    view = console.view("campaigns")
    assert isinstance(view, CampaignsView)
    view.select(campaign["id"])
    qtbot.waitUntil(lambda: (view.editor.current or {}).get("id") == campaign["id"]
                    and view.leads.rowCount() == 3 and not view.leads.loading, timeout=15_000)
    assert _enabled(view) == {"start": True, "pause": False, "resume": False, "cancel": True}
    assert view.resume_button.toolTip() == \
        "The campaign is draft; only a paused campaign can resume"
    qtbot.waitUntil(lambda: view.progress_panel.figures is not None, timeout=10_000)
    assert view.progress_panel.bar.value() == 0 and view.progress_panel.bar.maximum() == 3
    assert set(_lead_statuses(view).values()) == {"Pending"}

    _click(qtbot, view.start_button)
    qtbot.waitUntil(lambda: _shown(view) == "running", timeout=10_000)
    assert _enabled(view) == {"start": False, "pause": True, "resume": False, "cancel": True}
    assert "running" in view.start_button.toolTip()

    # the dialer takes a lead; the row and the "dialling now" counter say so, with no Refresh
    qtbot.waitUntil(lambda: "Calling" in _lead_statuses(view).values()
                    and view.progress_panel.counters["calling"].text() == "1", timeout=30_000)

    _click(qtbot, view.pause_button)
    qtbot.waitUntil(lambda: _shown(view) == "paused", timeout=10_000)
    assert _enabled(view) == {"start": False, "pause": False, "resume": True, "cancel": True}
    _click(qtbot, view.resume_button)
    qtbot.waitUntil(lambda: _shown(view) == "running", timeout=10_000)

    # every lead's attempt ends: the counters and the rows say how each ended; the bar counts
    # the leads done with (the busy one waits for its retry)
    counters = view.progress_panel.counters
    qtbot.waitUntil(lambda: view.progress_panel.bar.value() == 2
                    and counters["calling"].text() == "0" and counters["completed"].text() == "1",
                    timeout=CALL_WAIT_MS)
    assert view.progress_panel.summary.text().startswith("2 of 3 leads done")
    assert "1 waiting to be tried again" in view.progress_panel.summary.text()
    assert _lead_statuses(view) == {PERSON: "Completed", BUSY: "Busy", UNKNOWN: "Failed"}
    assert {k: counters[k].text() for k in ("completed", "busy", "failed", "voicemail",
                                            "no_answer", "do_not_call")} == \
        {"completed": "1", "busy": "1", "failed": "1", "voicemail": "0", "no_answer": "0",
         "do_not_call": "0"}
    assert counters["answer_rate"].text() == "33%"
    assert view.progress_panel.slices == {"completed": 1, "busy": 1, "failed": 1}
    attempts = next(i for i, c in enumerate(view.leads.columns) if c.title == "Attempts")
    assert {view.leads.data(view.leads.index(r, attempts)) for r in range(3)} == {"1"}
    busy_row = next(r for r, lead in enumerate(view.leads.records) if lead["phone_number"] == BUSY)
    next_attempt = str(view.leads.data(view.leads.index(busy_row, 4)))
    assert next_attempt.endswith(fmt.zone_name(fmt.parse_time(stored_busy(dialler, campaign))))

    # the Live view showed the person's call with the campaign's name beside the agent
    assert "Renewals caller · Renewals" in agents_seen, agents_seen

    # a click on the answered lead's last call opens it in the Calls view
    stored = {lead["phone_number"]: lead for lead in
              run_api(dialler, lambda api: api.leads(campaign["id"]).all())}
    person_row = next(r for r, lead in enumerate(view.leads.records)
                      if lead["phone_number"] == PERSON)
    cell = view.leads.index(person_row, view.leads.LAST_CALL_COLUMN)
    assert view.leads.data(cell) == f"Call {stored[PERSON]['last_call_id'][:6]}…"
    view.leads_table.scrollTo(cell)
    qtbot.mouseClick(view.leads_table.viewport(), LEFT, pos=view.leads_table.visualRect(cell).center())
    calls = console.window.current_view()
    assert isinstance(calls, CallsView)
    qtbot.waitUntil(lambda: calls.detail.call_id == stored[PERSON]["last_call_id"], timeout=20_000)

    # the busy lead waits for its retry: the campaign still runs until it is canceled
    view = console.view("campaigns")
    assert _shown(view) == "running"
    _click(qtbot, view.cancel_button)
    box = view.confirmation
    assert isinstance(box, QMessageBox) and "Renewals" in box.text()
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Cancel campaign"), LEFT)
    qtbot.waitUntil(lambda: _shown(view) == "canceled", timeout=10_000)
    assert _enabled(view) == {"start": False, "pause": False, "resume": False, "cancel": False}
    assert view.cancel_button.toolTip().startswith("The campaign is canceled")
    for signal in (live.model.changed, live.model.layoutChanged, live.model.dataChanged):
        signal.disconnect(look)


def test_an_illegal_move_reads_plainly(console: Console, qtbot: QtBot,
                                       dialler: RunningEngine) -> None:
    """A move the campaign's state does not allow (Resume of a draft, as from a console that
    missed a change) reaches the engine anyway: its 409 is shown in plain words; the buttons
    follow the campaign as another window moves it."""
    campaign = _campaign(dialler, "Twice started", [{"phone_number": UNKNOWN, "name": "Ed Poe"}])
    view = console.view("campaigns")
    assert isinstance(view, CampaignsView)
    view.select(campaign["id"])
    qtbot.waitUntil(lambda: _shown(view) == "draft" and not view.leads.loading, timeout=15_000)
    view.resume()  # as if the button were clicked in a console that missed the change
    qtbot.waitUntil(lambda: isinstance(view.confirmation, QMessageBox)
                    and view.confirmation.isVisible(), timeout=10_000)
    box = view.confirmation
    assert isinstance(box, QMessageBox)
    assert box.text() == "The campaign is draft; only a paused campaign can resume."
    box.close()
    run_api(dialler, lambda api: api.cancel_campaign(campaign["id"]))
    qtbot.waitUntil(lambda: _shown(view) == "canceled", timeout=10_000)
    assert _enabled(view) == {"start": False, "pause": False, "resume": False, "cancel": False}


def test_the_do_not_call_list(console: Console, qtbot: QtBot, dialler: RunningEngine,
                              tmp_path: Path) -> None:
    view = console.view("campaigns")
    assert isinstance(view, CampaignsView)
    view.tabs.setCurrentWidget(view.do_not_call)
    panel = view.do_not_call
    assert not view.start_button.isVisible()
    qtbot.keyClicks(panel.number, "+14155550177")
    qtbot.keyClicks(panel.reason, "Asked on the phone")
    _click(qtbot, panel.add_button)
    qtbot.waitUntil(lambda: any(r["number"] == "+14155550177" for r in panel.model.records),
                    timeout=10_000)
    assert panel.number.text() == "" and "+14155550177 added" in panel.message.text()

    qtbot.keyClicks(panel.number, "555")
    _click(qtbot, panel.add_button)
    qtbot.waitUntil(lambda: "number" in panel.message.text().lower()
                    and "added" not in panel.message.text(), timeout=10_000)

    csv_file = tmp_path / "dnc.csv"
    csv_file.write_text("number,reason\n+14155550178,complaint\nnot a number,x\n"
                        "+14155550177,again\n", encoding="utf-8")
    panel.import_csv(csv_file)
    qtbot.waitUntil(lambda: any(r["number"] == "+14155550178" for r in panel.model.records),
                    timeout=10_000)
    assert "1 number added" in panel.message.text() and "1 already listed" in panel.message.text()
    assert "1 row skipped" in panel.message.text()
    report = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, QMessageBox) and w.isVisible() and "Row 3" in w.text())
    report.close()

    row = next(r for r, e in enumerate(panel.model.records) if e["number"] == "+14155550178")
    index = panel.model.index(row, 0)
    qtbot.mouseClick(panel.table.viewport(), LEFT, pos=panel.table.visualRect(index).center())
    _click(qtbot, panel.delete_button)
    box = panel.confirmation
    assert isinstance(box, QMessageBox) and "+14155550178" in box.text()
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Remove"), LEFT)
    qtbot.waitUntil(lambda: all(r["number"] != "+14155550178" for r in panel.model.records),
                    timeout=10_000)
    listed = run_api(dialler, lambda api: api.do_not_call(limit=100)).items
    assert sorted(e["number"] for e in listed) == ["+14155550177"]
