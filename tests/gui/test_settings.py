"""Settings: API keys created (shown once) and revoked, attaching to another engine by URL + key."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from engine.client import ApiError, Client, Record
from tests.harness.engine_host import RunningEngine
from tests.harness.live_console import Console
from tests.harness.stores import listed_calls


def organization_with_key(engine: RunningEngine, key: str) -> Record:
    async def go() -> Record:
        async with Client(engine.url, key) as api:
            return await api.organization()

    return asyncio.run(go())


def test_a_new_key_is_shown_once_and_stops_working_when_revoked(console: Console, qtbot: QtBot,
                                                               engine_server: RunningEngine) -> None:
    settings = console.view("settings")
    settings.key_name.setText("CRM sync")
    settings.create_key()
    qtbot.waitUntil(lambda: getattr(settings, "new_key_dialog", None) is not None
                    and settings.new_key_dialog.isVisible(), timeout=10_000)
    dialog = settings.new_key_dialog
    key = dialog.key.text()
    assert len(key) >= 20 and dialog.key.isReadOnly()
    assert organization_with_key(engine_server, key)["id"]  # the key works

    qtbot.waitUntil(lambda: any(r.get("name") == "CRM sync" for r in settings.keys.records), timeout=10_000)
    listed = next(r for r in settings.keys.records if r.get("name") == "CRM sync")
    assert key not in str(listed)  # the list never carries the key itself
    assert key.startswith(str(listed["prefix"]))
    dialog.close()  # deletes itself

    row = settings.keys.row_of(str(listed["id"]))
    settings.keys_table.selectRow(row)
    settings.ask_revoke()
    box = settings.confirmation
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() == "Revoke").click()
    state = settings.keys.columns.index(next(c for c in settings.keys.columns if c.title == "State"))
    qtbot.waitUntil(lambda: settings.keys.row_of(str(listed["id"])) >= 0 and settings.keys.data(
        settings.keys.index(settings.keys.row_of(str(listed["id"])), state)) == "Revoked", timeout=10_000)
    with pytest.raises(ApiError) as refused:
        organization_with_key(engine_server, key)
    assert refused.value.status == 401


def test_status_bar_names_the_remote_engine(console: Console) -> None:
    text = console.window.connection_text.text()
    assert f"remote engine at {console.window.ctx.engine.url}" in text


def test_attach_to_another_engine_by_url_and_key(console: Console, qtbot: QtBot,
                                                 demo_server: RunningEngine) -> None:
    window = console.window
    calls = console.view("calls")
    settings = console.view("settings")

    settings.remote_url.setText(demo_server.url)
    settings.remote_key.setText("sb_not_a_key_of_that_engine_0000000000")
    settings.attach()
    qtbot.waitUntil(lambda: settings.attach_state.text().startswith("Cannot attach"), timeout=10_000)
    assert window.ctx.engine.url != demo_server.url  # still on the first engine

    settings.remote_key.setText(demo_server.api_key)
    with qtbot.waitSignal(window.ctx.engine_changed, timeout=10_000):
        settings.attach()
    assert window.ctx.engine.url == demo_server.url and window.ctx.engine.mode == "remote"
    assert settings.remote_key.text() == ""  # the key is not left on screen
    qtbot.waitUntil(lambda: window.connection_state == "connected", timeout=10_000)
    assert f"remote engine at {demo_server.url}" in window.connection_text.text()
    listed = listed_calls(demo_server.data_dir)  # the demo engine's calls
    qtbot.waitUntil(lambda: calls.model.total == listed, timeout=10_000)
    agents = console.view("agents")
    assert agents.editor.model.rowCount() == 3



def test_the_events_socket_answering_first_does_not_say_disconnected(console: Console,
                                                                      qtbot: QtBot) -> None:
    """Attaching: the events socket may come up before the first health check answers."""
    window = console.window
    window._engine_changed()  # as after attaching: health unknown again
    window._events_state(True)
    assert window.connection_state == "connecting"
    qtbot.waitUntil(lambda: window.connection_state == "connected", timeout=10_000)
    assert "live events" in window.connection_text.text()
