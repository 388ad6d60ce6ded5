"""``switchboard shot``: every view renders to a PNG with real content, in both themes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from console.shot import grab, run_shot, wait_connection
from tests.harness.engine_host import RunningEngine, run_api
from tests.harness.live_console import Console

VIEWS = ("live", "calls", "agents", "campaigns", "numbers", "usage", "settings")


def distinct_colours(path: Path) -> int:
    image = QImage(str(path))
    assert not image.isNull()
    step = 7
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def test_grab_every_view(demo_console: Console, tmp_path: Path) -> None:
    for name in VIEWS:
        demo_console.view(name)
        out = grab(demo_console.window, tmp_path / f"{name}.png")
        image = QImage(str(out))
        assert (image.width(), image.height()) == (1400, 900)
        assert distinct_colours(out) > 12, f"{name} looks empty"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_shot_of_a_call(demo_server: RunningEngine, tmp_path: Path, theme: str) -> None:
    call_id = run_api(demo_server, lambda api: api.list_calls(limit=1)).items[0]["id"]
    out = tmp_path / f"call-{theme}.png"
    code = run_shot(f"call:{call_id}", out, size=(1200, 800), theme=theme, engine_url=demo_server.url,
                    api_key=demo_server.api_key)
    assert code == 0
    assert QImage(str(out)).width() == 1200
    assert distinct_colours(out) > 20


def test_run_shot_rejects_an_unknown_view(demo_server: RunningEngine, tmp_path: Path) -> None:
    code = run_shot("nowhere", tmp_path / "x.png", engine_url=demo_server.url, api_key=demo_server.api_key)
    assert code == 2


def test_a_shot_waits_for_the_engine_to_answer(demo_console: Console) -> None:
    """The status bar is in the picture: not "Connecting" when the engine is up."""
    window = demo_console.window
    window._engine_changed()  # health unknown again, as in a console that just opened
    assert window.connection_state == "connecting"
    wait_connection(window)
    assert window.connection_state == "connected"
