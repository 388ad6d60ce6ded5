"""The benchmarks' headline-figure protocol and final table (bench.results): pure functions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import HELPERS, scripts
from bench.results import RESULTS_ENV, Figure, machine, read_figures, report, table

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz
processor\t: 1
model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz
"""


def test_a_figure_passes_or_fails_against_its_target() -> None:
    assert Figure("b", "p95", 500.0, "ms", at_most=600).passed is True
    assert Figure("b", "p95", 600.0, "ms", at_most=600).passed is True
    assert Figure("b", "p95", 601.0, "ms", at_most=600).passed is False
    assert Figure("b", "calls", 12, "calls", at_least=10).passed is True
    assert Figure("b", "calls", 8, "calls", at_least=10).passed is False
    assert Figure("b", "WER", 9.5, "%").passed is None
    assert Figure("b", "p95", None, "ms", at_most=600).passed is False
    assert Figure("b", "p95", math.nan, "ms", at_most=600).passed is False


def test_targets_read_as_people_write_them() -> None:
    assert Figure("b", "p95", 1.0, "ms", at_most=600).target == "<= 600 ms"
    assert Figure("b", "calls", 1.0, "calls", at_least=10).target == ">= 10 calls"
    assert Figure("b", "late", 0.01, "%", at_most=0.1).target == "<= 0.1 %"
    assert Figure("b", "WER", 1.0).target == ""


def test_report_appends_a_json_line_that_reads_back(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "figures.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(results))
    first = report("voice_latency", "whisper p95, 1 call", 512.4, "ms", at_most=600)
    second = report("stt_wer", "WER", None, "%")
    assert read_figures(results) == [first, second]
    out = capsys.readouterr().out
    assert "whisper p95, 1 call: 512 ms (target <= 600 ms: pass)" in out
    assert "WER: -" in out


def test_report_without_the_environment_variable_writes_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    report("b", "x", 1.0)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_lines_are_skipped(tmp_path: Path) -> None:
    results = tmp_path / "figures.jsonl"
    good = Figure("capacity", "calls", 12.0, "calls", at_least=10)
    results.write_text("not json\n" + good.to_json() + "\n{\"name\": \"no bench\"}\n")
    assert read_figures(results) == [good]
    assert read_figures(tmp_path / "missing.jsonl") == []


def test_machine_names_cores_and_cpu_model() -> None:
    assert machine(CPUINFO, cores=2) == "2 cores, Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert machine("processor : 0\n", cores=1) == "1 core, unknown CPU model"
    assert machine("Model\t\t: Raspberry Pi 4 Model B\n", cores=4) == \
        "4 cores, Raspberry Pi 4 Model B"


def test_the_table_lists_every_figure_with_its_verdict() -> None:
    figures = [Figure("capacity", "concurrent calls", 12.0, "calls", at_least=10),
               Figure("voice_latency", "whisper p95, 1 call", 712.0, "ms", at_most=600),
               Figure("stt_wer", "WER", 9.84, "%")]
    text = table(figures, "2 cores, Test CPU", missing=["console_live"])
    lines = text.splitlines()
    assert lines[0] == "Benchmarks on 2 cores, Test CPU"
    assert lines[1].split() == ["bench", "figure", "value", "target", "result"]
    assert set(lines[2]) <= {"-", " "}
    capacity, latency, wer = lines[3:6]
    assert capacity.split()[0] == "capacity" and capacity.endswith("pass")
    assert "12 calls" in capacity and ">= 10 calls" in capacity
    assert latency.endswith("FAIL") and "712 ms" in latency and "<= 600 ms" in latency
    assert "9.84 %" in wer and not wer.endswith(("pass", "FAIL"))
    assert lines[6] == "1 of 2 targets met"
    assert lines[7] == "no figures from: console_live"


def test_the_table_columns_line_up() -> None:
    figures = [Figure("a", "short", 1.0, "ms", at_most=2),
               Figure("a_longer_bench", "a much longer figure name", 12345.0, "ms", at_most=2)]
    lines = table(figures, "1 core, X").splitlines()[1:5]
    value_ends = {line.index(" ms") for line in lines[2:]}
    assert len(value_ends) == 1  # values right-aligned
    assert lines[2].index("<=") == lines[3].index("<=")


def test_helper_modules_are_not_run_as_benchmarks() -> None:
    assert {"results", "engine_child", "voice_calls"} <= HELPERS
    names = scripts()
    assert "capacity" in names and "voice_latency" in names
    assert not HELPERS & set(names)
