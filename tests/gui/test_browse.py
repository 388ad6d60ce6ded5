"""Browsing demo data: every view, a call's detail, filters and sorting through the API."""

from __future__ import annotations

from PySide6.QtGui import QShortcut
from pytestqt.qtbot import QtBot

from console.views import VIEW_CLASSES
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console
from tests.harness.stores import listed_calls


def test_every_view_loads(demo_console: Console) -> None:
    for name in VIEW_CLASSES:
        page = demo_console.view(name)
        assert demo_console.window.current_view() is page


def test_navigation_shortcuts_switch_views(demo_console: Console) -> None:
    window = demo_console.window
    shortcuts = {s.key().toString(): s for s in window.findChildren(QShortcut)}
    for number, name in enumerate(("live", "calls", "agents", "campaigns", "numbers", "usage", "settings"),
                                  start=1):
        shortcuts[f"Ctrl+{number}"].activated.emit()
        assert window.current_view() is window.views[name]


def test_calls_open_with_the_first_call_and_its_transcript(demo_console: Console, qtbot: QtBot,
                                                           demo_server: RunningEngine) -> None:
    calls = demo_console.view("calls")
    assert calls.model.total == listed_calls(demo_server.data_dir)
    assert calls.model.rowCount() == 100  # one page, fetched on demand
    detail = calls.detail
    assert detail.call is not None and detail.call["id"] == calls.model.records[0]["id"]
    assert detail.events_model.rowCount() > 0
    assert detail.tabs.count() == 5
    # the newest call may have gone unanswered (the demo history is laid out back from now):
    # the newest answered one shows both sides of its conversation
    row = next(i for i, r in enumerate(calls.model.records) if r.get("status") == "completed")
    if row != 0:  # (the one shown already when it is the newest)
        with qtbot.waitSignal(detail.loaded, timeout=10_000):
            calls.table.selectRow(row)
    assert detail.call is not None and detail.call["id"] == calls.model.records[row]["id"]
    assert detail.transcript.transcript().rowCount() > 0
    sources = {e.get("source") for e in detail.transcript.transcript().entries}
    assert {"agent", "user"} <= sources


def test_scrolling_fetches_the_next_page(demo_console: Console, qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    calls.table.scrollToBottom()
    qtbot.waitUntil(lambda: calls.model.rowCount() >= 200, timeout=10_000)
    ids = [r["id"] for r in calls.model.records]
    assert len(ids) == len(set(ids))


def test_filter_by_status_and_direction(demo_console: Console, qtbot: QtBot,
                                        demo_server: RunningEngine) -> None:
    calls = demo_console.view("calls")
    listed = listed_calls(demo_server.data_dir)
    calls.status.setCurrentIndex(calls.status.findData("failed"))
    qtbot.waitUntil(lambda: calls.model.query.status == "failed" and calls.model.pages_fetched > 0,
                    timeout=10_000)
    assert 0 < calls.model.total < listed
    assert {r["status"] for r in calls.model.records} == {"failed"}
    calls.clear_filters()
    qtbot.waitUntil(lambda: calls.model.total == listed, timeout=10_000)


def test_search_is_debounced_and_filters(demo_console: Console, qtbot: QtBot,
                                         demo_server: RunningEngine) -> None:
    calls = demo_console.view("calls")
    listed = listed_calls(demo_server.data_dir)
    with qtbot.waitSignal(calls.model.loaded, timeout=10_000):
        qtbot.keyClicks(calls.search, "refund")
    assert calls.model.query.q == "refund"
    assert 0 < calls.model.total < listed


def test_sort_by_duration_through_the_api(demo_console: Console, qtbot: QtBot) -> None:
    calls = demo_console.view("calls")
    duration = next(i for i, c in enumerate(calls.model.columns) if c.sort_key == "duration_seconds")
    with qtbot.waitSignal(calls.model.loaded, timeout=10_000):
        calls.sort_by_column(duration)
    assert (calls.model.query.sort_by, calls.model.query.sort_order) == ("duration_seconds", "desc")
    values = [r.get("duration_seconds") or 0 for r in calls.model.records]
    assert values == sorted(values, reverse=True)
    with qtbot.waitSignal(calls.model.loaded, timeout=10_000):
        calls.sort_by_column(duration)
    values = [r.get("duration_seconds") or 0 for r in calls.model.records]
    assert values == sorted(values)
    # a column the API cannot sort by keeps the current order
    calls.sort_by_column(3)  # To
    assert calls.model.query.sort_by == "duration_seconds"


def test_call_id_spec_opens_that_call(demo_console: Console, demo_server: RunningEngine) -> None:
    page = run_api(demo_server, lambda api: api.list_calls(limit=5, sort_by="duration_seconds"))
    call_id = page.items[-1]["id"]
    calls = demo_console.view(f"call:{call_id}")
    assert calls.detail.call_id == call_id
    assert calls.detail.call is not None and calls.detail.call["id"] == call_id


def test_agents_and_campaigns_show_demo_records(demo_console: Console) -> None:
    agents = demo_console.view("agents")
    assert agents.editor.model.rowCount() == 3
    assert agents.editor.voice.count() > 1  # the engine's voices
    campaigns = demo_console.view("campaigns")
    assert campaigns.editor.model.rowCount() == 2
    assert campaigns.leads.rowCount() > 0
    numbers = demo_console.view("numbers")
    assert numbers.numbers.model.rowCount() == 5  # with the test-dialling number
    assert numbers.trunks.model.rowCount() == 2  # the carrier and the simulated people
    usage = demo_console.view("usage")
    assert usage.usage.total > 0 and usage.table_model.rowCount() > 0
