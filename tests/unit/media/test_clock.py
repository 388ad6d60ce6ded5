"""The media clock in virtual time: absolute deadlines, late-tick accounting, catch-up."""

from __future__ import annotations

from engine.media.clock import LATE_S, TICK_S, MediaClock


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.stalls: dict[int, float] = {}  # tick index -> extra seconds the loop oversleeps
        self.sleeps = 0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.stalls.get(self.sleeps, 0.0)
        self.sleeps += 1


async def test_ticks_on_schedule_without_drift() -> None:
    fake = FakeTime()
    clock = MediaClock(now=fake.time, sleep=fake.sleep)
    seen: list[float] = []
    clock.add(lambda: seen.append(fake.now))
    await clock.run(ticks=500)
    assert len(seen) == 500 and clock.late_ticks == 0
    assert abs(seen[-1] - (100.0 + 500 * TICK_S)) < 1e-6


async def test_late_ticks_are_counted_and_missed_ones_replayed() -> None:
    fake = FakeTime()
    fake.stalls = {10: LATE_S + 0.005, 20: 0.045}  # one late tick; one stall of two slots
    clock = MediaClock(now=fake.time, sleep=fake.sleep)
    ticks: list[float] = []
    clock.add(lambda: ticks.append(fake.now))
    await clock.run(ticks=100)
    assert clock.late_ticks >= 2 and clock.skipped_ticks == 0
    assert abs(ticks[-1] - (100.0 + 100 * TICK_S)) < 0.03  # caught up: no drift


async def test_long_stall_resyncs_instead_of_bursting() -> None:
    fake = FakeTime()
    fake.stalls = {5: 1.0}
    clock = MediaClock(now=fake.time, sleep=fake.sleep)
    await clock.run(ticks=20)
    assert clock.skipped_ticks >= 45


async def test_frames_of_skipped_ticks_count_as_late() -> None:
    """A stall the clock resyncs over loses the frames of every tick it skips: the lateness
    figures count them, as many per tick as the last tick sent."""
    fake = FakeTime()
    fake.stalls = {5: 1.0}
    clock = MediaClock(now=fake.time, sleep=fake.sleep)
    clock.add(lambda: clock.frame_sent(3))  # three legs, each sending its frame on the slot
    await clock.run(ticks=20)
    assert clock.skipped_ticks >= 45
    assert clock.frames.count == 3 * (20 + clock.skipped_ticks)
    assert clock.frames.late == 3 * clock.skipped_ticks  # the tick after them is on its slot
    assert clock.frames.max_s > 1.0 - TICK_S
