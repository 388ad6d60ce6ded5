"""The speaker in virtual time: replies played out in order, cut at once, written down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.speech.agent_audio import AgentAudio
from engine.speech.fakes import FakeTTS
from engine.speech.pipeline import HANGUP_SUPERVISOR, LISTENING, SPEAKING, THINKING, PipelineConfig
from engine.speech.pipeline.records import CallState, Transcript, Usage
from engine.speech.pipeline.speaker import Speaker
from engine.speech.pipeline.timers import Timers
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import AGENT_VOICE, Recorder


class Observer(Recorder):
    def barge_in(self, count: int) -> None:
        self.barge_ins.append((count, 0.0))


class Stage:
    """A speaker on a fake mixer that takes a frame every 20 ms of virtual time."""

    def __init__(self) -> None:
        self.observer = Observer()
        self.audio = AgentAudio()
        self.call = CallState()
        self.timers = Timers(PipelineConfig())
        self.speaker = Speaker(self.audio, FakeTTS(0.01, 0.5, AGENT_VOICE), Transcript(self.observer),
                               self.observer, Usage(), self.call, self.timers, PipelineConfig())
        self.out: list[bool] = []

    async def ticks(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for n in range(round(seconds / 0.02)):
            await asyncio.sleep(max(0.0, t0 + n * 0.02 - loop.time()))
            self.out.append(self.audio.source() is not None)
            while self.audio.finished:
                self.speaker.played(self.audio.finished.popleft())


def staged(script: Callable[[Stage], Awaitable[None]]) -> Stage:
    async def main() -> Stage:
        stage = Stage()
        runner = asyncio.get_running_loop().create_task(stage.speaker.run())
        await script(stage)
        stage.speaker.close()
        await runner
        return stage

    return run_virtual(main())


def test_a_reply_is_played_in_order_then_written_down_and_its_hangup_carried_out() -> None:
    async def script(stage: Stage) -> None:
        reply = stage.speaker.open("goodbye", hangup="agent_hangup")
        stage.speaker.say(reply, "Thanks for calling.")
        stage.speaker.say(reply, "Goodbye!")
        stage.speaker.end(reply)
        await stage.ticks(1.5)

    stage = staged(script)
    [line] = stage.observer.lines
    assert (line.index, line.source, line.kind, line.text) == (0, "agent", "goodbye",
                                                              "Thanks for calling. Goodbye!")
    assert line.provider == "fake-tts" and not line.interrupted
    assert line.started_at == 0.04 and line.ended_at is not None  # first frame after the TTS delay
    frames = round((line.ended_at - line.started_at) / 0.02)
    assert frames == sum(stage.out)
    assert stage.observer.states == [THINKING, SPEAKING, LISTENING]
    assert stage.observer.hangups == ["agent_hangup"] and stage.call.ended == "agent_hangup"
    assert stage.timers.idle_since == line.ended_at - 0.02  # idle counts from the last word


def test_an_interruption_empties_the_playout_at_once_and_counts_a_barge_in() -> None:
    async def script(stage: Stage) -> None:
        reply = stage.speaker.open("greeting")
        stage.speaker.say(reply, "This is a long greeting that goes on for quite a while.")
        stage.speaker.end(reply)
        await stage.ticks(0.3)
        stage.speaker.interrupt("barge_in", count=True)
        assert not stage.audio.playing and not stage.speaker.replies
        await stage.ticks(0.5)
        stage.speaker.interrupt("barge_in", count=True)  # nothing playing: nothing counted

    stage = staged(script)
    [line] = stage.observer.lines
    assert line.interrupted
    assert sum(stage.out[15:]) == 0  # nothing after the cut
    assert stage.speaker.barge_ins == 1 and stage.observer.barge_ins == [(1, 0.0)]
    assert ("agent.interrupted", {"reason": "barge_in", "count": 1}) in stage.observer.events


def test_uninterruptible_speech_is_cut_only_by_force_and_a_cut_reply_does_not_hang_up() -> None:
    async def script(stage: Stage) -> None:
        reply = stage.speaker.open("say", interruptible=False, hangup="agent_hangup")
        stage.speaker.say(reply, "Please listen to this whole message.")
        stage.speaker.end(reply)
        await stage.ticks(0.2)
        stage.speaker.interrupt("barge_in", count=True)
        assert stage.speaker.replies == [reply]
        stage.speaker.interrupt("hold", count=False, force=True)
        assert reply.interrupted and not stage.speaker.replies

    stage = staged(script)
    assert stage.observer.hangups == [] and stage.call.ended is None
    assert stage.speaker.barge_ins == 0


def test_a_supervisors_hangup_is_carried_out_even_when_cut_short() -> None:
    async def script(stage: Stage) -> None:
        reply = stage.speaker.open("say", hangup=HANGUP_SUPERVISOR, source="supervisor")
        stage.speaker.say(reply, "We have to end the call here, sorry about that.")
        stage.speaker.end(reply)
        await stage.ticks(0.2)
        stage.speaker.interrupt("say", count=False)

    stage = staged(script)
    assert stage.observer.hangups == [HANGUP_SUPERVISOR]
    assert stage.observer.lines[0].source == "supervisor"


def test_closing_ends_replies_in_flight_as_interrupted() -> None:
    async def script(stage: Stage) -> None:
        reply = stage.speaker.open("turn")
        stage.speaker.say(reply, "Let me look that up for you right away.")
        await stage.ticks(0.2)

    stage = staged(script)
    [line] = stage.observer.lines
    assert line.interrupted and stage.speaker.state == LISTENING
