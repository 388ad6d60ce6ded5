"""``switchboard simulate``'s summary and its bad input (the calls themselves:
tests/integration/simulator)."""

from __future__ import annotations

import re

import pytest

from engine.simulator import CallResult, Turn
from switchboard.cli import main
from switchboard.simulate import percentile, summary


def test_the_summary_counts_calls_and_latency_percentiles() -> None:
    good = CallResult("p", "sip:1@h", sip_status=200, answered=True, goal_reached=True,
                      turns=[Turn("a", 300.0), Turn("b", 500.0), Turn("c", None)])
    missed = CallResult("p", "sip:1@h", sip_status=200, answered=True,
                        turns=[Turn("a", 400.0)])
    refused = CallResult("p", "sip:1@h", sip_status=404)
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1)
                for line in summary([good, missed, refused]).splitlines())
    assert rows["calls"] == "3" and rows["answered"] == "2" and rows["goal reached"] == "1"
    assert rows["voice-to-voice p50"] == "400 ms" and rows["voice-to-voice p95"] == "490 ms"
    assert rows["turns measured"] == "3"
    assert percentile([], 0.5) is None and percentile([7.0], 0.95) == 7.0


def test_an_unknown_persona_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--persona", "nobody", "--number", "100", "--sip",
                 "sip:127.0.0.1:5999"])
    assert code == 2
    assert "unknown persona 'nobody'; known:" in capsys.readouterr().err


def test_a_bad_sip_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--persona", "order_status", "--number", "1", "--sip",
                 "http://x/"]) == 2
    assert "is not sip:HOST[:PORT]" in capsys.readouterr().err
