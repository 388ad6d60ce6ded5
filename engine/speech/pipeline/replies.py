"""Replies: the brain's answers become what the agent says and does.

The brain answers one event at a time (it keeps one conversation), each answer produced into a
queue of outputs as it streams. Delivering an answer turns whole texts and streamed tokens into
sentences for the speaker, reports the brain's events, and carries out the two tool calls that
change the call: ``end_call`` (hang up once the reply has been played) and ``transfer_call``
(the agent stays quiet while the call session transfers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from engine.speech.brain import Brain, BrainOutput, BrainStream
from engine.speech.frames import END_CALL, TRANSFER_CALL, BrainEvent, BrainText, BrainToken, ToolCall
from engine.speech.pipeline.records import HANGUP_END_CALL, CallState, PipelineObserver
from engine.speech.pipeline.speaker import Reply, Speaker
from engine.speech.sentences import SentenceAggregator

log = logging.getLogger(__name__)

# A brain answer's outputs, in order, then None when it is over.
Outputs = asyncio.Queue[BrainOutput | None]


@dataclass(eq=False)
class Answer:
    """A speculative brain answer as it is produced: its outputs so far, and the brain's state
    before it."""

    outputs: Outputs = field(default_factory=asyncio.Queue)
    snapshot: object | None = None  # the brain before the answer, to roll back to


class Replies:
    """Runs the brain's answers and delivers them as replies of the speaker."""

    def __init__(self, brain: Brain, speaker: Speaker, call: CallState,
                 observer: PipelineObserver) -> None:
        self._brain = brain
        self._speaker = speaker
        self._call = call
        self._observer = observer
        self._lock = asyncio.Lock()  # one answer at a time

    def start(self, kind: str, stream: BrainStream) -> Reply:
        """A new reply of ``kind`` (greeting, dtmf, context) answering with ``stream``."""
        reply = self._speaker.open(kind)
        reply.task = asyncio.get_running_loop().create_task(self.answer(reply, stream))
        return reply

    async def answer(self, reply: Reply, stream: BrainStream) -> None:
        """Runs one brain answer and speaks it as it comes."""
        outputs: Outputs = asyncio.Queue()
        producer = asyncio.get_running_loop().create_task(self._produce(stream, outputs))
        try:
            await self.deliver(reply, outputs)
        finally:
            producer.cancel()

    async def _produce(self, stream: BrainStream, outputs: Outputs) -> None:
        try:
            async with self._lock:
                async with contextlib.aclosing(stream) as items:
                    async for out in items:
                        outputs.put_nowait(out)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
        finally:
            outputs.put_nowait(None)

    async def speculate(self, text: str, answer: Answer) -> None:
        """Produces the brain's answer to ``text`` into ``answer`` from a checkpoint, in the
        calling task: cancelling that task before the answer is over rolls the brain back; once
        it is over, :meth:`undo` does."""
        brain = self._brain
        async with self._lock:
            answer.snapshot = brain.checkpoint()
            try:
                async with contextlib.aclosing(brain.on_user_text(text)) as stream:
                    async for out in stream:
                        answer.outputs.put_nowait(out)
            except asyncio.CancelledError:
                brain.rollback(answer.snapshot)
                raise
            except Exception as exc:
                self._failed(exc)
            finally:
                answer.outputs.put_nowait(None)

    def undo(self, answer: Answer) -> None:
        """Rolls the brain back to before a speculative answer that is over."""
        if answer.snapshot is not None:
            self._brain.rollback(answer.snapshot)

    def _failed(self, exc: Exception) -> None:
        log.exception("the brain failed", exc_info=exc)
        self._observer.event("brain.error", {"error": str(exc)})

    async def deliver(self, reply: Reply, outputs: Outputs) -> None:
        """Speaks an answer's outputs as they come, sentence by sentence; the reply ends with them."""
        loop = asyncio.get_running_loop()
        speaker = self._speaker
        sentences = SentenceAggregator()
        try:
            while (out := await outputs.get()) is not None:
                if reply.interrupted:
                    break
                if isinstance(out, (BrainText, BrainToken)) and reply.t_brain is None:
                    reply.t_brain = loop.time()
                if isinstance(out, BrainText):
                    speaker.say(reply, out.text)
                elif isinstance(out, BrainToken):
                    for sentence in sentences.push(out.text):
                        speaker.say(reply, sentence)
                elif isinstance(out, ToolCall):
                    self._tool(reply, out)
                elif isinstance(out, BrainEvent):
                    self._observer.brain_event(out)
            for sentence in sentences.flush():
                speaker.say(reply, sentence)
        finally:
            speaker.end(reply)

    def _tool(self, reply: Reply, call: ToolCall) -> None:
        self._observer.tool_call(call)
        if call.type == END_CALL:
            reply.hangup = HANGUP_END_CALL
            reply.interruptible = False
            self._call.ended = HANGUP_END_CALL
        elif call.type == TRANSFER_CALL:
            reply.interruptible = False
            self._call.held = True
