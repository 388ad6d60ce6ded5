"""Demo callers' pacing in virtual time, with a fake call that lasts what it is told."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

import pytest

from engine.simulator.caller import needs_hearing
from engine.simulator.demo_callers import DEMO_ROUTES, DemoCallers
from engine.simulator.personas import load_persona, persona_names
from engine.speech.virtual_time import run_virtual
from switchboard.cli import main


class FakeCalls:
    """Calls that last ``duration_s`` of loop time; ``fail`` names personas that raise."""

    def __init__(self, duration_s: float = 30.0, fail: frozenset[str] = frozenset()) -> None:
        self.duration_s = duration_s
        self.fail = fail
        self.started: list[tuple[float, str, str]] = []
        self.finished = 0
        self.peak = 0
        self.live = 0

    async def __call__(self, persona: str, number: str) -> object:
        self.started.append((asyncio.get_running_loop().time(), persona, number))
        self.live += 1
        self.peak = max(self.peak, self.live)
        try:
            if persona in self.fail:
                raise RuntimeError("no answer")
            await asyncio.sleep(self.duration_s)
            self.finished += 1
        finally:
            self.live -= 1
        return None


def test_calls_start_a_few_seconds_apart_until_the_target_is_in_progress() -> None:
    fake = FakeCalls(duration_s=30.0)

    async def scenario() -> tuple[int, int]:
        callers = DemoCallers(fake, target=3, seed=1)
        callers.start()
        await asyncio.sleep(25)  # three gaps of 2-6 s: all three are on
        during = callers.in_progress
        await asyncio.sleep(95)
        await callers.stop(grace_s=0)
        return during, callers.in_progress

    during, after = run_virtual(scenario())
    assert during == 3
    assert after == 0
    assert fake.peak == 3  # never more than the target
    times = [t for t, _, _ in fake.started]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert 2.0 <= times[0] <= 6.0
    assert all(g >= 2.0 for g in gaps), gaps
    assert fake.finished >= 3  # calls ran to their end and were replaced
    assert len(fake.started) > 3


def test_each_call_is_a_persona_on_the_number_it_was_written_for() -> None:
    fake = FakeCalls(duration_s=1.0)

    async def scenario() -> None:
        callers = DemoCallers(fake, target=3, seed=7)
        callers.start()
        await asyncio.sleep(300)
        await callers.stop()

    run_virtual(scenario())
    assert {(p, n) for _, p, n in fake.started} <= set(DEMO_ROUTES)
    assert len({p for _, p, _ in fake.started}) > 1  # a random persona each time
    assert {p for p, _ in DEMO_ROUTES} <= set(persona_names())


def test_disabled_no_new_call_starts_and_those_in_progress_finish() -> None:
    fake = FakeCalls(duration_s=20.0)

    async def scenario() -> tuple[int, int]:
        callers = DemoCallers(fake, target=3, seed=3)
        callers.start()
        await asyncio.sleep(20)
        callers.enabled = False
        count = len(fake.started)
        await asyncio.sleep(60)
        idle = callers.in_progress
        assert len(fake.started) == count
        callers.enabled = True
        await asyncio.sleep(10)
        resumed = len(fake.started) - count
        await callers.stop(grace_s=0)
        return idle, resumed

    idle, resumed = run_virtual(scenario())
    assert idle == 0
    assert resumed >= 1
    assert fake.finished >= 3


def test_a_failing_call_is_logged_and_the_service_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeCalls(duration_s=5.0, fail=frozenset({"order_status", "interrupter"}))

    async def scenario() -> int:
        callers = DemoCallers(fake, target=2, seed=5)
        callers.start()
        await asyncio.sleep(120)
        await callers.stop()
        return callers.failed

    with caplog.at_level(logging.ERROR, logger="engine.simulator.demo_callers"):
        failed = run_virtual(scenario())
    assert failed >= 1
    assert "failed" in caplog.text
    assert fake.finished >= 1  # others ran after the failures


def test_stop_gives_calls_in_progress_a_grace_then_cancels_them() -> None:
    fake = FakeCalls(duration_s=1000.0)

    async def scenario() -> tuple[float, int, list[asyncio.Task[object]]]:
        callers = DemoCallers(fake, target=3, seed=2)
        callers.start()
        await asyncio.sleep(30)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await callers.stop(grace_s=5)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return loop.time() - began, callers.in_progress, others

    took, left, others = run_virtual(scenario())
    assert 5.0 <= took < 6.0
    assert left == 0 and others == []
    assert fake.live == 0


def test_target_must_be_positive() -> None:
    with pytest.raises(ValueError, match="target"):
        DemoCallers(FakeCalls(), target=0)


@pytest.mark.parametrize("args", [["--demo-callers", "3"],
                                  ["--sip-port", "0", "--demo-callers", "-1"]])
def test_serve_refuses_demo_callers_without_sip_or_below_zero(
        args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), *args]) == 2
    assert "--demo-callers" in capsys.readouterr().err


def test_only_personas_that_react_to_words_need_the_recogniser() -> None:
    hearing = {name: needs_hearing(load_persona(name)) for name, _ in DEMO_ROUTES}
    assert hearing == {"order_status": True, "interrupter": False, "wants_human": False,
                       "ivr_presser": True, "appointment_booking": True,
                       "billing_dispute": True, "wrong_number": True}
