"""Replies in virtual time: brain answers become sentences, tool calls change the call, and a
speculative answer can be undone."""

from __future__ import annotations

import asyncio

from engine.speech.agent_audio import AgentAudio
from engine.speech.brain import Brain, BrainOutput, BrainStream
from engine.speech.fakes import FakeTTS
from engine.speech.frames import END_CALL, TRANSFER_CALL, BrainEvent, BrainText, BrainToken, ToolCall
from engine.speech.pipeline import HANGUP_END_CALL, PipelineConfig
from engine.speech.pipeline.records import CallState, Transcript, Usage
from engine.speech.pipeline.replies import Answer, Replies
from engine.speech.pipeline.speaker import Reply, Speaker
from engine.speech.pipeline.timers import Timers
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import Recorder


class ScriptBrain(Brain):
    """Answers every event with the next script entry, one output every ``step_s``; remembers
    how many answers it gave (its conversation state)."""

    def __init__(self, *answers: list[BrainOutput | Exception], step_s: float = 0.01) -> None:
        super().__init__()
        self.answers = list(answers)
        self.step_s = step_s
        self.given = 0
        self.log: list[str] = []

    async def _next(self) -> BrainStream:
        self.given += 1
        self.log.append(f"start {self.given}")
        for out in self.answers.pop(0):
            await asyncio.sleep(self.step_s)
            if isinstance(out, Exception):
                raise out
            yield out
        self.log.append(f"end {self.given}")

    def greet(self) -> BrainStream:
        return self._next()

    def on_user_text(self, text: str) -> BrainStream:
        return self._next()

    def on_dtmf(self, digits: str) -> BrainStream:
        return self._next()

    def inject_context(self, text: str, *, reply: bool = False) -> BrainStream:
        return self._next()

    def say(self, text: str) -> None:
        pass

    def checkpoint(self) -> object:
        return self.given

    def rollback(self, snapshot: object) -> None:
        assert isinstance(snapshot, int)
        self.given = snapshot


class SpySpeaker(Speaker):
    """A speaker that only notes what it was asked to say."""

    def __init__(self, observer: Recorder, call: CallState) -> None:
        super().__init__(AgentAudio(), FakeTTS(), Transcript(observer), observer, Usage(), call,
                         Timers(PipelineConfig()), PipelineConfig())
        self.said: list[str] = []
        self.ended: list[Reply] = []

    def say(self, reply: Reply, text: str) -> None:
        self.said.append(text)

    def end(self, reply: Reply) -> None:
        self.ended.append(reply)


def setup(brain: ScriptBrain) -> tuple[Replies, SpySpeaker, Recorder, CallState]:
    observer, call = Recorder(), CallState()
    speaker = SpySpeaker(observer, call)
    return Replies(brain, speaker, call, observer), speaker, observer, call


def test_streamed_tokens_are_spoken_sentence_by_sentence_and_events_reported() -> None:
    brain = ScriptBrain([BrainToken("Sure"), BrainToken(", one moment. Your "), BrainEvent("slot", {"n": 1}),
                         BrainToken("order has shipped")])

    async def main() -> tuple[list[str], Reply, Recorder]:
        replies, speaker, observer, _ = setup(brain)
        reply = replies.start("greeting", brain.greet())
        assert reply.task is not None
        await reply.task
        assert speaker.ended == [reply]
        return speaker.said, reply, observer

    said, reply, observer = run_virtual(main())
    assert said == ["Sure, one moment.", "Your order has shipped"]  # the rest when it is over
    assert reply.t_brain == 0.01  # the first words, one step in
    assert [e.kind for e in observer.brain_events] == ["slot"]


def test_end_call_and_transfer_calls_change_the_call() -> None:
    brain = ScriptBrain([BrainText("Goodbye!"), ToolCall("end_call", type=END_CALL)],
                        [BrainText("Connecting you."), ToolCall("desk", type=TRANSFER_CALL)])

    async def main() -> tuple[Reply, Reply, CallState, Recorder]:
        replies, _, observer, call = setup(brain)
        ending = replies.start("turn", brain.on_user_text("bye"))
        assert ending.task is not None
        await ending.task
        transfer = replies.start("turn", brain.on_user_text("a human please"))
        assert transfer.task is not None
        await transfer.task
        return ending, transfer, call, observer

    ending, transfer, call, observer = run_virtual(main())
    assert ending.hangup == HANGUP_END_CALL and not ending.interruptible
    assert call.ended == HANGUP_END_CALL and call.held
    assert transfer.hangup is None and not transfer.interruptible
    assert [t.type for t in observer.tools] == [END_CALL, TRANSFER_CALL]


def test_a_failing_brain_is_reported_and_its_reply_still_ends() -> None:
    brain = ScriptBrain([BrainText("Let me check."), RuntimeError("model went away")])

    async def main() -> tuple[list[str], list[Reply], Recorder]:
        replies, speaker, observer, _ = setup(brain)
        reply = replies.start("turn", brain.on_user_text("where is my order"))
        assert reply.task is not None
        await reply.task
        return speaker.said, speaker.ended, observer

    said, ended, observer = run_virtual(main())
    assert said == ["Let me check."] and len(ended) == 1
    assert observer.events == [("brain.error", {"error": "model went away"})]


def test_answers_take_turns_with_the_brain() -> None:
    brain = ScriptBrain([BrainText("Hello."), BrainText("Welcome.")], [BrainText("Digits.")])

    async def main() -> list[str]:
        replies, _, _, _ = setup(brain)
        first = replies.start("greeting", brain.greet())
        second = replies.start("dtmf", brain.on_dtmf("1"))
        assert first.task is not None and second.task is not None
        await asyncio.gather(first.task, second.task)
        return brain.log

    assert run_virtual(main()) == ["start 1", "end 1", "start 2", "end 2"]


def test_a_speculative_answer_is_rolled_back_when_cancelled_or_undone() -> None:
    brain = ScriptBrain([BrainText("One."), BrainText("Two.")], [BrainText("Three.")])

    async def main() -> tuple[int, int, list[BrainOutput | None]]:
        replies, _, _, _ = setup(brain)
        cut = Answer()
        task = asyncio.get_running_loop().create_task(replies.speculate("hi", cut))
        await asyncio.sleep(0.015)  # one output in
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        after_cancel = brain.given
        done = Answer()
        await replies.speculate("hi", done)
        replies.undo(done)
        outputs = [done.outputs.get_nowait() for _ in range(done.outputs.qsize())]
        return after_cancel, brain.given, outputs

    after_cancel, after_undo, outputs = run_virtual(main())
    assert after_cancel == 0 and after_undo == 0
    assert outputs == [BrainText("Three."), None]
