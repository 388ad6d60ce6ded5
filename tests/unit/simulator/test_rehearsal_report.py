"""A rehearsal's report: percentiles, totals, transfers counted, and the comparison with the
previous rehearsal (noise is no change)."""

from __future__ import annotations

from typing import Any

from engine.simulator.rehearsal import compare, percentile, totals, transfers


def _row(persona: str, *, goal: bool = True, p95: float | None = 400.0, wer: float | None = 0.1,
         barge_ins: int = 0) -> dict[str, Any]:
    return {"persona": persona, "goal_reached": goal, "voice_to_voice_ms": [300.0, p95 or 0.0],
            "voice_to_voice_p50_ms": 300.0, "voice_to_voice_p95_ms": p95, "barge_ins": barge_ins,
            "idle_prompts": 0, "transfers": 0, "turns": 2,
            "words_misheard": None if wer is None else {"words": 20, "errors": round(wer * 20),
                                                        "wer": wer}}


def test_percentiles_by_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([500.0], 95) == 500.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0


def test_totals_count_goals_and_pool_words() -> None:
    rows = [_row("a"), _row("b", goal=False, wer=0.3), _row("c", wer=None)]
    total = totals(rows)
    assert total["personas"] == 3 and total["goals_reached"] == 2
    assert total["wer"] == round((2 + 6) / 40, 3)


def test_transfers_are_rows_or_requests() -> None:
    row: dict[str, Any] = {"transfers": []}
    requested = [{"event_type": "transfer.requested", "payload": {}}]
    assert transfers(row, []) == 0
    assert transfers(row, requested) == 1
    assert transfers({"transfers": [{}, {}]}, requested) == 2


def test_the_comparison_says_better_worse_and_new_beyond_noise() -> None:
    before = {"personas": [_row("a", p95=900.0), _row("b", goal=True), _row("c", p95=400.0)]}
    after = {"personas": [_row("a", p95=450.0), _row("b", goal=False, barge_ins=2),
                          _row("c", p95=430.0), _row("d")]}
    by = {c["persona"]: c for c in compare(after, before)}
    assert by["a"]["changes"] == [{"figure": "voice_to_voice_p95_ms", "before": 900.0,
                                   "after": 450.0, "verdict": "better"}]
    verdicts = {c["figure"]: c["verdict"] for c in by["b"]["changes"]}
    assert verdicts == {"goal_reached": "worse", "barge_ins": "changed"}
    assert by["c"]["changes"] == []  # 30 ms is noise
    assert by["d"]["new"] is True
