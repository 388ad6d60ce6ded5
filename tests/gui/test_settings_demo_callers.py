"""Settings: the "Demo callers" switch calls ``PUT /v1/engine/demo-callers``; an engine without
SIP leaves it off and says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from engine.client import Client, Record
from tests.harness.engine_host import RunningEngine, run_api, start_engine
from tests.harness.live_console import Console, open_console


@pytest.fixture
def sip_console(qapp: QApplication, tmp_path: Path) -> Iterator[tuple[Console, RunningEngine]]:
    engine = start_engine(tmp_path / "data", extra_env={"HF_HUB_OFFLINE": "1"},
                          extra_args=("--sip-host", "127.0.0.1", "--sip-port", "0"))
    try:
        for console in open_console(qapp, engine):
            yield console, engine
    finally:
        engine.stop()


def _state(engine: RunningEngine) -> Record:
    async def get(api: Client) -> Record:
        return await api.demo_callers()

    return run_api(engine, get)


def test_without_sip_the_switch_is_off_and_says_why(console: Console, qtbot: QtBot) -> None:
    settings = console.view("settings")
    settings.refresh()
    qtbot.waitUntil(lambda: "SIP" in settings.demo_callers_state.text(), timeout=10_000)
    assert not settings.demo_callers.isEnabled() and not settings.demo_callers.isChecked()


def test_the_switch_turns_demo_callers_on_and_off(
        sip_console: tuple[Console, RunningEngine], qtbot: QtBot) -> None:
    console, engine = sip_console
    settings = console.view("settings")
    settings.refresh()
    qtbot.waitUntil(settings.demo_callers.isEnabled, timeout=10_000)
    assert not settings.demo_callers.isChecked()

    settings.demo_callers.click()
    qtbot.waitUntil(lambda: settings.demo_callers.isEnabled()
                    and settings.demo_callers.isChecked(), timeout=10_000)
    assert _state(engine)["enabled"] is True

    settings.demo_callers.click()
    qtbot.waitUntil(lambda: settings.demo_callers.isEnabled()
                    and not settings.demo_callers.isChecked(), timeout=10_000)
    assert _state(engine)["enabled"] is False
    assert "in progress" in settings.demo_callers_state.text()
