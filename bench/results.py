"""Headline figures of the benchmarks, and the one table ``python -m bench`` ends with.

A benchmark script reports each headline figure with :func:`report`: it prints the figure and,
when ``python -m bench`` runs it, appends it as one JSON line to the file named by the
``SWITCHBOARD_BENCH_RESULTS`` environment variable. Once every script has run, ``bench/__main__``
reads that file back (:func:`read_figures`) and prints :func:`table`, headed by the machine's
core count and CPU model (:func:`machine`).

    report("voice_latency", "voice to voice p95, 1 call", 512.0, "ms", at_most=600)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_ENV = "SWITCHBOARD_BENCH_RESULTS"
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Figure:
    """One headline figure of one benchmark, with its target where it has one."""

    bench: str
    name: str
    value: float | None  # None: not measured (the bench says why in its own output)
    unit: str = ""
    at_most: float | None = None
    at_least: float | None = None

    @property
    def target(self) -> str:
        if self.at_most is not None:
            return f"<= {_number(self.at_most)} {self.unit}".rstrip()
        if self.at_least is not None:
            return f">= {_number(self.at_least)} {self.unit}".rstrip()
        return ""

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None without a target."""
        if self.at_most is None and self.at_least is None:
            return None
        if self.value is None or math.isnan(self.value):
            return False
        if self.at_most is not None and self.value > self.at_most:
            return False
        return not (self.at_least is not None and self.value < self.at_least)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Figure:
        data: dict[str, Any] = json.loads(line)
        value = data.get("value")
        return cls(bench=str(data["bench"]), name=str(data["name"]),
                   value=None if value is None else float(value), unit=str(data.get("unit", "")),
                   at_most=_optional(data.get("at_most")), at_least=_optional(data.get("at_least")))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _number(value: float) -> str:
    """A figure as people read it: no trailing zeros, thousands apart."""
    if math.isnan(value):
        return "nan"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def report(bench: str, name: str, value: float | None, unit: str = "", *,
           at_most: float | None = None, at_least: float | None = None) -> Figure:
    """Print a headline figure and, under ``python -m bench``, keep it for the final table."""
    figure = Figure(bench, name, None if value is None else float(value), unit, at_most, at_least)
    shown = "-" if figure.value is None else f"{_number(figure.value)} {unit}".rstrip()
    verdict = {True: "pass", False: "FAIL", None: ""}[figure.passed]
    print(f"  headline: {name}: {shown}"
          + (f" (target {figure.target}: {verdict})" if figure.target else ""), flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(figure.to_json() + "\n")
    return figure


def read_figures(path: Path) -> list[Figure]:
    """The figures in a results file, in the order reported; unreadable lines are skipped."""
    if not path.exists():
        return []
    figures = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            figures.append(Figure.from_json(line))
        except (ValueError, KeyError, TypeError):
            continue
    return figures


def machine(cpuinfo: str | None = None, cores: int | None = None) -> str:
    """``N cores, <CPU model>`` from ``/proc/cpuinfo`` (the model unknown where it cannot be read)."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.split(":", 1)[0].strip() in ("model name", "Model", "cpu model")
                  and ":" in line), "unknown CPU model")
    count = cores if cores is not None else (os.cpu_count() or 0)
    return f"{count} core{'s' if count != 1 else ''}, {model}"


def table(figures: Sequence[Figure], machine_line: str,
          missing: Iterable[str] = ()) -> str:
    """Every figure in one table: bench, figure, value, target, pass/fail; then the benchmarks
    that reported nothing (``missing``)."""
    header = ("bench", "figure", "value", "target", "result")
    rows = [header]
    for f in figures:
        value = "-" if f.value is None else f"{_number(f.value)} {f.unit}".rstrip()
        rows.append((f.bench, f.name, value, f.target,
                     {True: "pass", False: "FAIL", None: ""}[f.passed]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Benchmarks on {machine_line}"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if j < 2 or j == 3 else cell.rjust(w) if j == 2
                               else cell for j, (cell, w) in enumerate(zip(row, widths,
                                                                           strict=True))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    checked = [f.passed for f in figures if f.passed is not None]
    lines.append(f"{sum(checked)} of {len(checked)} targets met")
    missing = list(missing)
    if missing:
        lines.append(f"no figures from: {', '.join(missing)}")
    return "\n".join(lines)


__all__ = ["RESULTS_ENV", "Figure", "machine", "read_figures", "report", "table"]
