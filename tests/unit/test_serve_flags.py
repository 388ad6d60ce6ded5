"""`switchboard serve` turns its flags into the engine's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import engine.app
from engine.settings import Settings
from switchboard.cli import main


@pytest.mark.parametrize(("flags", "realtime"), [([], True), (["--no-realtime"], False)])
def test_realtime_scheduling_is_asked_for_unless_turned_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], realtime: bool) -> None:
    seen: list[Settings] = []

    def run(settings: Settings, **_: Any) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr(engine.app, "run", run)
    assert main(["serve", "--data-dir", str(tmp_path), "--sip-port", "0", *flags]) == 0
    assert seen[0].media_realtime is realtime and seen[0].sip_enabled
