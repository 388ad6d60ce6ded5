"""The console's Calls view over a big store: time to first paint and the worst GUI stall.

Starts a real engine on the cached store of bench.bigstore (1,000,000 calls by default), opens
the console offscreen and measures:

- first paint: from opening the window on the Calls view to the first paint of the table with
  rows in it (DESIGN §8 target: <= 1 s);
- the cost of one full repaint of the table's rows (the work of every scroll step that moves
  the view by a screenful);
- GUI stalls while scrolling at 60 steps a second through many pages (fetched as the view reaches
  the end of what it has), then while sorting, filtering and searching: a 2 ms heartbeat timer
  on the GUI thread records every gap; a stall is a gap beyond the heartbeat (target <= 50 ms).

It prints figures and never fails on time.

    .venv/bin/python -m bench.console_calls [--calls 1000000] [--seconds 8] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication, QTableView

from bench.bigstore import big_store
from bench.results import report
from tests.harness.engine_host import start_engine

TARGET_FIRST_PAINT_MS = 1000.0  # DESIGN §8
TARGET_STALL_MS = 50.0  # DESIGN §8
HEARTBEAT_MS = 2
SCROLL_STEP_MS = 16  # one wheel step per frame at 60 Hz
SCROLL_ROWS_PER_STEP = 12


class Heartbeat(QObject):
    """Ticks on the GUI thread; the gaps between ticks are how long the loop was busy."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = QElapsedTimer()
        self.last = 0.0
        self.gaps: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self.last = 0.0
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return list(self.gaps)

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.gaps.append(now - self.last)
        self.last = now


class FirstPaint(QObject):
    """Notes the moment the table's viewport paints with rows in it."""

    def __init__(self, has_rows: Callable[[], bool]) -> None:
        super().__init__()
        self.has_rows = has_rows
        self.at: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.at is None and self.has_rows():
            self.at = time.perf_counter()
        return False


def run_loop(seconds: float, until: Callable[[], bool] | None = None) -> None:
    loop = QEventLoop()
    deadline = time.perf_counter() + seconds
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: loop.quit() if (until and until()) or time.perf_counter() > deadline
                         else None)
    poll.start()
    loop.exec()
    poll.stop()


def stalls(gaps: list[float]) -> dict[str, float]:
    over = [max(0.0, g - HEARTBEAT_MS) for g in gaps]
    ordered = sorted(over)
    return {"ticks": len(over), "worst_ms": ordered[-1] if ordered else 0.0,
            "p99_ms": ordered[int(len(ordered) * 0.99)] if ordered else 0.0,
            "median_ms": statistics.median(ordered) if ordered else 0.0,
            "over_target": sum(1 for g in over if g > TARGET_STALL_MS)}


def repaint_costs(table: QTableView, frames: int = 60) -> dict[str, float]:
    """Milliseconds to repaint the whole viewport, a screenful further down each time."""
    bar = table.verticalScrollBar()
    bar.setValue(0)
    costs = []
    screen = table.viewport().height()
    for frame in range(frames):
        bar.setValue(bar.value() + (screen if frame % 2 == 0 else -screen // 2))
        started = time.perf_counter()
        table.viewport().repaint()
        costs.append((time.perf_counter() - started) * 1000)
    costs.sort()
    return {"median_ms": statistics.median(costs), "worst_ms": costs[-1]}


def measure(url: str, api_key: str, seconds: float) -> dict[str, Any]:
    from console import theme
    from console.context import EngineInfo
    from console.session import open_session, wait_loaded

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    theme.apply(app, "light")
    results: dict[str, Any] = {}

    started = time.perf_counter()
    session = open_session(EngineInfo(url, "remote"), api_key, persist_theme=False)
    window = session.window
    calls = window.views["calls"]
    painter = FirstPaint(lambda: calls.model.rowCount() > 0)
    calls.table.viewport().installEventFilter(painter)
    window.resize(1400, 900)
    window.show()
    run_loop(30, lambda: painter.at is not None)
    results["first_paint_ms"] = ((painter.at or time.perf_counter()) - started) * 1000
    wait_loaded(calls, 30_000)
    results["total_calls"] = calls.model.total

    heartbeat = Heartbeat()
    table = calls.table
    bar = table.verticalScrollBar()
    step = QTimer()
    step.setInterval(SCROLL_STEP_MS)
    step.timeout.connect(lambda: bar.setValue(bar.value() + SCROLL_ROWS_PER_STEP * 30))
    heartbeat.start()
    step.start()
    run_loop(seconds)
    step.stop()
    results["scroll"] = stalls(heartbeat.stop())
    results["rows_fetched"] = calls.model.rowCount()
    results["pages_fetched"] = calls.model.pages_fetched

    results["repaint"] = repaint_costs(table)

    heartbeat.start()
    for action in (
        lambda: calls.sort_by_column(6),  # duration, through the API
        lambda: calls.sort_by_column(0),  # back to time
        lambda: calls.status.setCurrentIndex(calls.status.findData("failed")),
        lambda: calls.status.setCurrentIndex(0),
        lambda: calls.search.setText("refund"),
        lambda: calls.search.clear(),
    ):
        action()
        run_loop(3, lambda: calls.model.pages_fetched > 0 and not calls.model.loading)
        run_loop(0.3)
    results["sort_filter"] = stalls(heartbeat.stop())
    session.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="how long to keep scrolling")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    store = big_store(args.calls, rebuild=args.rebuild)
    running = start_engine(store.data_dir, api_key=store.api_key, timeout=120)
    try:
        results = measure(running.url, running.api_key, args.seconds)
    finally:
        running.stop()
    scroll, sort_filter = results["scroll"], results["sort_filter"]
    print(f"console calls view over {results['total_calls']:,} calls")
    print(f"  first paint          {results['first_paint_ms']:8.1f} ms   "
          f"(target <= {TARGET_FIRST_PAINT_MS:.0f})")
    print(f"  scrolling            {args.seconds:.0f} s, {results['rows_fetched']:,} rows in "
          f"{results['pages_fetched']} pages")
    repaint = results["repaint"]
    print(f"  table repaint        median {repaint['median_ms']:5.1f} ms, "
          f"worst {repaint['worst_ms']:5.1f} ms (one full viewport of rows)")
    for name, figures in (("scroll", scroll), ("sort/filter/search", sort_filter)):
        print(f"  {name:20} worst stall {figures['worst_ms']:6.1f} ms, p99 {figures['p99_ms']:5.1f} ms, "
              f"median {figures['median_ms']:4.1f} ms, {figures['over_target']} gaps > "
              f"{TARGET_STALL_MS:.0f} ms of {figures['ticks']} (target worst <= {TARGET_STALL_MS:.0f})")
    calls = f"{results['total_calls']:,} calls"
    report("console_calls", f"Calls view first paint, {calls}", results["first_paint_ms"], "ms",
           at_most=TARGET_FIRST_PAINT_MS)
    report("console_calls", "worst GUI stall scrolling", scroll["worst_ms"], "ms",
           at_most=TARGET_STALL_MS)
    report("console_calls", "worst GUI stall sorting/filtering", sort_filter["worst_ms"], "ms",
           at_most=TARGET_STALL_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
