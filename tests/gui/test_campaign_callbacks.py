"""The Callbacks tab of the Campaigns view: the shown campaign's scheduled callbacks (due time
in this computer's zone, number, lead, status, instructions, the call it came from), following
the engine's ``callback.changed`` events with no Refresh (a new callback, one canceled
elsewhere), and Cancel for a scheduled one (``DELETE /v1/callbacks/{id}``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from console import formatting as fmt
from console.views.calls import CallsView
from console.views.campaigns import CampaignsView
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console

pytestmark = pytest.mark.timeout(120)

LEFT = Qt.MouseButton.LeftButton
LEAD = "+12025550171"


def _cells(view: CampaignsView) -> list[dict[str, str]]:
    model = view.callbacks.model
    return [{column.title: str(model.data(model.index(row, index)))
             for index, column in enumerate(model.columns)} for row in range(model.rowCount())]


def _status_of(view: CampaignsView, callback_id: str) -> str:
    model = view.callbacks.model
    row = model.row_of(callback_id)
    status = next(i for i, c in enumerate(model.columns) if c.title == "Status")
    return str(model.data(model.index(row, status))) if row >= 0 else ""


def _at(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def test_a_campaigns_callbacks_live_in_their_tab(console: Console, qtbot: QtBot,
                                                 engine_server: RunningEngine) -> None:
    async def make(api: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]],
                                      dict[str, Any]]:
        agent = await api.agents.create(name="Callbacks caller")
        quiet = await api.campaigns.create(name="No callbacks", agent_id=agent["id"])
        campaign = await api.campaigns.create(name="Callbacks tab", agent_id=agent["id"])
        lead = await api.leads(campaign["id"]).create(phone_number=LEAD, name="Ada Byron")
        call = await api.create_call(agent_id=agent["id"], from_number="+14155550100",
                                     to_number=LEAD, campaign_id=campaign["id"], lead_id=lead["id"])
        made = [await api.schedule_callback(call["id"], _at(26), reason="Driving",
                                            instructions="Offer a morning slot"),
                await api.schedule_callback(call["id"], _at(50), reason="Ask the partner")]
        return campaign, call, made, quiet

    campaign, call, (first, second), quiet = run_api(engine_server, make)
    view = console.view("campaigns")
    assert isinstance(view, CampaignsView)
    panel = view.callbacks
    # a campaign with none says how one comes about, above its empty table
    view.select(quiet["id"])
    qtbot.waitUntil(lambda: panel.campaign_id == quiet["id"] and not panel.model.loading
                    and panel.empty.text() != "", timeout=15_000)
    assert "Call back" in panel.empty.text() and panel.title.text() == "Callbacks · 0"
    view.select(campaign["id"])
    qtbot.waitUntil(lambda: (view.editor.current or {}).get("id") == campaign["id"], timeout=15_000)
    view.tabs.setCurrentWidget(view.callbacks)
    assert view.tabs.tabText(view.tabs.currentIndex()) == "Callbacks"
    assert [view.tabs.tabText(i) for i in range(view.tabs.count())] == [
        "Campaigns", "Callbacks", "Do not call"]
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2 and not panel.model.loading, timeout=15_000)
    assert panel.title.text() == "Callbacks · 2" and panel.empty.text() == ""
    assert panel.model.columns[0].title == fmt.with_zone("Due")
    rows = _cells(view)
    assert rows[0] == {fmt.with_zone("Due"): fmt.local_time(first["dial_at"], zone=True),
                       "Number": LEAD, "Lead": "Ada Byron", "Status": "Scheduled",
                       "Reason": "Driving", "Instructions": "Offer a morning slot",
                       "From call": f"Call {call['id'][:6]}…"}
    assert rows[1]["Reason"] == "Ask the partner"  # soonest first
    assert not panel.cancel_button.isEnabled()  # nothing chosen yet

    # a callback made elsewhere (an agent's tool, another console) arrives with no Refresh
    third = run_api(engine_server, lambda api: api.schedule_callback(
        call["id"], _at(3), reason="Call after the meeting"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=15_000)
    assert panel.model.records[0]["id"] == third["id"]
    assert _cells(view)[0]["Lead"] == "Ada Byron"

    # one canceled elsewhere changes its row from the event alone
    run_api(engine_server, lambda api: api.cancel_callback(second["id"]))
    qtbot.waitUntil(lambda: _status_of(view, second["id"]) == "Canceled", timeout=15_000)
    panel.table.selectRow(panel.model.row_of(second["id"]))
    assert not panel.cancel_button.isEnabled()
    assert "canceled" in panel.cancel_button.toolTip()

    # Cancel on a scheduled one asks, then cancels it in the engine
    panel.table.selectRow(panel.model.row_of(first["id"]))
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, LEFT)
    box = panel.confirmation
    assert isinstance(box, QMessageBox) and "Ada Byron" in box.text() and LEAD in box.text()
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Cancel callback"), LEFT)
    qtbot.waitUntil(lambda: _status_of(view, first["id"]) == "Canceled"  # the event or the answer
                    and panel.message.text() == "The callback was canceled.", timeout=15_000)
    assert panel.message.isVisible() and not panel.cancel_button.isEnabled()
    stored = run_api(engine_server, lambda api: api.get_callback(first["id"]))
    assert stored["status"] == "canceled"
    assert _status_of(view, third["id"]) == "Scheduled"

    # the call it came from opens in the Calls view
    cell = panel.model.index(panel.model.row_of(third["id"]), panel.model.FROM_CALL_COLUMN)
    panel.table.scrollTo(cell)
    qtbot.mouseClick(panel.table.viewport(), LEFT, pos=panel.table.visualRect(cell).center())
    calls = console.window.current_view()
    assert isinstance(calls, CallsView)
    qtbot.waitUntil(lambda: calls.detail.call_id == call["id"], timeout=20_000)
