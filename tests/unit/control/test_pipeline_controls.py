"""A supervisor's say and the hold pause, in the agent pipeline, in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from engine.agents.scripted import ScriptedBrain
from engine.speech.fakes import FakeSttEngine, FakeTTS
from engine.speech.pipeline import HANGUP_SUPERVISOR, Pipeline, PipelineConfig
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import AGENT_VOICE, SILENT, Recorder, caller, fake_vad

LONG = "This is a very long greeting that goes on and on. " * 4
Action = Callable[[Pipeline], None]


async def drive(greeting: str, frames: Sequence[bytes], texts: Sequence[str],
                actions: dict[float, Action], seconds: float) -> tuple[Pipeline, Recorder, list[bool]]:
    """Plays ``frames`` as the caller; runs each action at its time (seconds)."""
    observer = Recorder()
    script = {"greeting": greeting, "intents": [{"name": "hours", "keywords": ["hours"],
                                                 "actions": [{"say": "We open at nine."}]}]}
    pipeline = Pipeline(ScriptedBrain(script), FakeSttEngine(list(texts), decode_s=0.1),
                        FakeTTS(0.01, 0.5, AGENT_VOICE), observer, PipelineConfig(idle_timeout_s=60),
                        vad=fake_vad)
    observer.pipeline = pipeline
    await pipeline.start()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    out: list[bool] = []
    pending = dict(actions)
    for tick in range(round(seconds / 0.02)):
        await asyncio.sleep(max(0.0, t0 + tick * 0.02 - loop.time()))
        for at in [a for a in pending if a <= tick * 0.02]:
            pending.pop(at)(pipeline)
        pcm = pipeline.audio.source()
        out.append(pcm is not None and pcm == AGENT_VOICE)
        pipeline.audio.sink(frames[tick] if tick < len(frames) else SILENT)
        await asyncio.sleep(0)
    await pipeline.close()
    return pipeline, observer, out


def test_an_interrupting_say_cuts_the_agent_and_is_written_as_supervisor() -> None:
    _, obs, _ = run_virtual(drive(LONG, [], [], {1.0: lambda p: p.say("Please hold on.",
                                                                      interrupt=True)}, 4.0))
    greeting, said = obs.lines
    assert greeting.source == "agent" and greeting.interrupted
    assert said.source == "supervisor" and said.text == "Please hold on." and not said.interrupted
    assert said.kind == "say"


def test_a_queued_say_follows_the_current_speech() -> None:
    _, obs, _ = run_virtual(drive("Hello there.", [], [], {0.1: lambda p: p.say(
        "One more thing.", interrupt=False)}, 3.0))
    assert [(line.source, line.interrupted) for line in obs.lines] == [
        ("agent", False), ("supervisor", False)]


def test_uninterruptible_speech_ignores_barge_in_and_end_after_hangs_up() -> None:
    frames = caller(("silence", 0.6), ("speech", 0.8), ("silence", 3.0))
    pipeline, obs, _ = run_virtual(drive("Hi.", frames, ["what are your hours"], {
        0.3: lambda p: p.say(LONG[:120], interrupt=True, interruptible=False, end_after=True)},
        9.0))
    said = [line for line in obs.lines if line.source == "supervisor"]
    assert len(said) == 1 and not said[0].interrupted
    assert pipeline.barge_ins == 0
    assert obs.hangups == [HANGUP_SUPERVISOR]
    assert "We open at nine." not in obs.said()  # ending: no new replies


def test_a_paused_pipeline_neither_hears_nor_speaks_until_resumed() -> None:
    frames = caller(("silence", 1.0), ("speech", 0.8), ("silence", 1.2), ("speech", 0.8),
                    ("silence", 2.0))
    pipeline, obs, out = run_virtual(drive(LONG, frames, ["what are your hours"], {
        0.5: lambda p: p.pause(), 2.5: lambda p: p.resume()}, 7.0))
    greeting = obs.lines[0]
    assert greeting.interrupted  # cut by the hold
    assert not any(out[30:125])  # silent while held
    users = [line for line in obs.lines if line.source == "user"]
    assert len(users) == 1 and users[0].started_at is not None and users[0].started_at > 2.5
    assert obs.said()[-1] == "We open at nine."
    assert not pipeline.paused
