"""Campaign start and pause from the console change the campaign's status in the engine and on screen."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console


def test_start_and_pause_buttons_change_the_status(console: Console, qtbot: QtBot,
                                                   engine_server: RunningEngine) -> None:
    agent = run_api(engine_server, lambda api: api.agents.create(name="Pacer"))
    trunk = run_api(engine_server, lambda api: api.sip_trunks.create(name="Pacer's", host="127.0.0.1"))
    number = run_api(engine_server, lambda api: api.phone_numbers.create(
        number="+14155550124", sip_trunk_id=trunk["id"]))  # a campaign starts with a way to dial
    campaign = run_api(engine_server, lambda api: api.campaigns.create(
        name="Start and pause", agent_id=agent["id"], phone_number_id=number["id"]))
    run_api(engine_server, lambda api: api.leads(campaign["id"]).create(phone_number="+14155550123"))
    campaigns = console.view("campaigns")
    campaigns.select(campaign["id"])
    qtbot.waitUntil(lambda: (campaigns.editor.current or {}).get("id") == campaign["id"], timeout=10_000)
    assert campaigns.editor.current["status"] == "draft"
    assert campaigns.start_button.isEnabled() and not campaigns.pause_button.isEnabled()

    def shown_status() -> str:
        row = campaigns.editor.model.row_of(campaign["id"])
        status = next(i for i, c in enumerate(campaigns.editor.model.columns) if c.title == "Status")
        return str(campaigns.editor.model.data(campaigns.editor.model.index(row, status)))

    campaigns.start_button.click()
    qtbot.waitUntil(lambda: (campaigns.editor.current or {}).get("status") == "running", timeout=10_000)
    assert shown_status() == "Running"
    assert not campaigns.start_button.isEnabled() and campaigns.pause_button.isEnabled()
    assert run_api(engine_server, lambda api: api.campaigns.get(campaign["id"]))["status"] == "running"

    campaigns.pause_button.click()
    qtbot.waitUntil(lambda: (campaigns.editor.current or {}).get("status") == "paused", timeout=10_000)
    assert shown_status() == "Paused"
    assert not campaigns.start_button.isEnabled() and not campaigns.pause_button.isEnabled()
    assert campaigns.resume_button.isEnabled()
    assert run_api(engine_server, lambda api: api.campaigns.get(campaign["id"]))["status"] == "paused"
