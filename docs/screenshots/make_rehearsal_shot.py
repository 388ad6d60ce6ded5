"""The README's screenshot of a rehearsal report, from real rehearsals.

An engine listens for SIP on loopback with the demo's order-status and billing agents; four
personas rehearse the order-status agent, then five (the second report is compared with the
first); the console runs offscreen and the agent editor's rehearsal dialog is painted to a PNG,
one persona's row selected.

    .venv/bin/python docs/screenshots/make_rehearsal_shot.py [--out docs/screenshots] [--row 3]

Needs espeak-ng and whisper tiny.en (the personas and the agent talk over real RTP); a few
minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine.app import Engine  # noqa: E402 - after the path
from engine.client import Client  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tests.harness.demo_agents import add_demo_agents  # noqa: E402
from tests.harness.engine_host import TEST_KEY, run_api, start_engine  # noqa: E402
from tests.harness.ports import free_udp_port  # noqa: E402

SIZE = (1400, 900)
FIRST = ["order_status", "wants_human", "quick_question", "silent_caller"]
SECOND = [*FIRST, "interrupter"]
LOAD_S = 20.0


async def rehearse(api: Client, agent_id: str, personas: list[str]) -> dict[str, Any]:
    rehearsal = await api.rehearse(agent_id, personas)
    while rehearsal["status"] in ("queued", "running"):
        await asyncio.sleep(1)
        rehearsal = await api.rehearsal(rehearsal["id"])
    if rehearsal["status"] != "completed":
        raise RuntimeError(f"the rehearsal failed: {rehearsal['error']}")
    return rehearsal


def settle(until: Any, timeout_s: float = LOAD_S) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not until() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    for _ in range(10):
        QApplication.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--row", type=int, default=3, help="the persona row selected")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from console import theme
    from console.context import EngineInfo
    from console.session import open_session, open_view, wait_loaded
    from console.views.agents import AgentsView

    app = QApplication(sys.argv[:1])
    theme.apply(app, "light")
    data_dir = Path(tempfile.mkdtemp(prefix="switchboard-rehearsal-shot-"))
    engine = start_engine(data_dir, extra_args=("--sip-host", "127.0.0.1",
                                                "--sip-port", str(free_udp_port())))
    store = Engine(Settings(data_dir=data_dir, api_key=TEST_KEY))
    try:
        store.setup()
        agent_id = add_demo_agents(store)["orders"]
        for personas in (FIRST, SECOND):
            run_api(engine, lambda api, p=personas: rehearse(api, agent_id, p))
        session = open_session(EngineInfo(engine.url, "remote"), engine.api_key,
                               persist_theme=False)
        try:
            session.window.resize(*SIZE)
            session.window.show()
            view = open_view(session.window, "agents")
            assert isinstance(view, AgentsView)
            wait_loaded(view)
            view.select(agent_id)
            settle(lambda: (view.editor.current or {}).get("id") == agent_id)
            dialog = view.editor.rehearse()
            assert dialog is not None
            settle(lambda: dialog.rehearsal is not None and bool(dialog.persona_boxes))
            dialog.table.selectRow(args.row)
            settle(lambda: True)
            out = args.out / "rehearsal_report.png"
            if not dialog.grab().save(str(out), "PNG"):
                raise OSError(f"could not write {out}")
            print(out)
            dialog.close()
        finally:
            session.close()
    finally:
        store.close()
        engine.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
