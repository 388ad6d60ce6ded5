"""What ``switchboard simulate`` shows: a progress bar on stderr while the calls run (redrawn in
place on a terminal, one line per finished call otherwise) and the summary table at the end."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from engine.simulator import CallResult

BAR_WIDTH = 24  # characters of the bar itself; the whole line stays under 80 columns


@dataclass(frozen=True)
class CallRow:
    """The engine's row of a simulated call, as its API shows it."""

    id: str
    status: str
    end_reason: str | None


@dataclass(frozen=True)
class Outcome:
    """One simulated call: what the caller saw, and (with ``--engine``) the engine's row of it,
    or why there is none."""

    index: int
    result: CallResult
    row: CallRow | None = None
    row_missing: str | None = None  # with --engine and no row: why


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) of ``values``, interpolated; None when there are none."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def misses(outcome: Outcome) -> list[str]:
    """What went wrong on the call: the goal's missing parts (of a call not answered, only
    that: nothing was heard either), the caller's error, no row."""
    result = outcome.result
    out = list(result.goal_missing if result.answered else result.goal_missing[:1])
    if result.error:
        out.append(result.error)
    if outcome.row_missing:
        out.append(outcome.row_missing)
    return out


def call_line(outcome: Outcome, total: int) -> str:
    """One finished call in a line: its SIP status, the engine's row, the goal."""
    result = outcome.result
    parts = [f"call {outcome.index}/{total}: SIP {result.sip_status or '-'}"]
    if outcome.row is not None:
        parts.append(f"{outcome.row.status} ({outcome.row.end_reason or 'no end reason'})")
    if result.answered:
        parts.append(f"{len(result.said)} lines said, {len(result.heard)} heard, "
                     f"ended by {result.ended_by or '-'}")
    wrong = misses(outcome)
    parts.append("goal reached" if not wrong else f"missed: {'; '.join(wrong)}")
    return ", ".join(parts)


def bar(done: int, running: int, total: int, elapsed_s: float, width: int = BAR_WIDTH) -> str:
    """``[#####>....] 3/10 done, 2 on, 12 s``: finished calls as ``#``, those on as ``>``."""
    total = max(total, 1)
    full = done * width // total
    on = min(width - full, -(-running * width // total)) if running else 0
    cells = "#" * full + ">" * on + "." * (width - full - on)
    return f"[{cells}] {done}/{total} done, {running} on, {elapsed_s:.0f} s"


class Progress:
    """The calls' progress on ``stream``: on a terminal one bar redrawn with ``\\r`` (``tick``
    redraws it for the clock), otherwise a line per finished call."""

    def __init__(self, total: int, stream: TextIO, *, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = self.clock()
        self.done = 0
        self.running = 0
        self.failed = 0
        self._drawn = 0  # length of the bar last drawn (terminal only)

    def call_started(self) -> None:
        self.running += 1
        self._redraw()

    def call_finished(self, outcome: Outcome) -> None:
        self.running -= 1
        self.done += 1
        self.failed += bool(misses(outcome))
        if not self.tty:
            print(call_line(outcome, self.total), file=self.stream, flush=True)
        self._redraw()

    def tick(self) -> None:
        self._redraw()

    def close(self) -> None:
        """Ends the bar's line (terminal), so what follows starts on a line of its own."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0

    def _redraw(self) -> None:
        if not self.tty:
            return
        text = bar(self.done, self.running, self.total, self.clock() - self.started)
        if self.failed:
            text += f", {self.failed} missed"
        pad = max(self._drawn - len(text), 0)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._drawn = len(text)


def summary(outcomes: Sequence[Outcome], *, with_rows: bool) -> str:
    """The table printed at the end: calls, answered, completed (the engine's rows; ``-``
    without ``--engine``), goal reached, voice-to-voice p50/p95; then a row per call with its
    misses."""
    results = [o.result for o in outcomes]
    latencies = [ms for r in results for ms in r.latencies_ms]
    completed = sum(o.row is not None and o.row.status == "completed" for o in outcomes)
    totals = [("calls", str(len(results))),
              ("answered", str(sum(r.answered for r in results))),
              ("completed", str(completed) if with_rows else "-"),
              ("goal reached", str(sum(r.goal_reached for r in results))),
              ("voice-to-voice p50", _ms(percentile(latencies, 0.5))),
              ("voice-to-voice p95", _ms(percentile(latencies, 0.95))),
              ("turns measured", str(len(latencies)))]
    width = max(len(name) for name, _ in totals)
    lines = [f"{name:<{width}}  {value}" for name, value in totals]
    if not outcomes:
        return "\n".join(lines)
    header = ("call", "SIP", "status", "end reason", "v2v p50", "misses")
    rows = [header]
    for o in sorted(outcomes, key=lambda o: o.index):
        rows.append((str(o.index), str(o.result.sip_status or "-"),
                     o.row.status if o.row is not None else "-",
                     (o.row.end_reason or "-") if o.row is not None else "-",
                     _ms(percentile(o.result.latencies_ms, 0.5)),
                     "; ".join(misses(o)) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines.append("")
    for r in rows:
        lines.append("  ".join(f"{cell:<{w}}" for cell, w in zip(r, widths, strict=False))
                     + "  " + r[-1])
    return "\n".join(lines)


__all__ = ["CallRow", "Outcome", "Progress", "bar", "call_line", "misses", "percentile", "summary"]
