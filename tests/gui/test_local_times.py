"""A call's detail says when it started in the user's zone, naming the zone; its events' times
name the zone in their column's title."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console import formatting as fmt
from tests.harness.live_console import Console

ZONE_TITLE = re.compile(r"^Time \(([A-Z]{2,5}|UTC[+-]\d\d:\d\d)\)$")


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.timeout(180)
def test_the_call_detail_names_the_zone(demo_console: Console, qtbot: QtBot, paris: None) -> None:
    calls = demo_console.view("calls")
    detail = calls.detail
    with qtbot.waitSignal(detail.loaded, timeout=20_000):
        calls.table.selectRow(1)
    call = detail.call
    assert call is not None
    started = fmt.local_time(call["initiated_at"], zone=True)
    assert re.search(r" CES?T$", started), started
    assert f"Started {started}" in detail.meta.text()
    header = detail.events_model.headerData(0, Qt.Orientation.Horizontal)
    assert ZONE_TITLE.match(str(header)), header
    calls_header = calls.model.headerData(0, Qt.Orientation.Horizontal)
    assert ZONE_TITLE.match(str(calls_header)), calls_header
