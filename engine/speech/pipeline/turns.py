"""Turns: the caller's turn ends, its words are written down, and the agent answers them.

At *silence began* a :class:`~engine.speech.turn.SpeculativeTurn` peeks at the recognition and
has the brain answer those words at once, from a checkpoint; *speech resumed* discards that
guess and rolls the brain back. At the *end of turn* the final recognition (reusing the peek when
only silence came since) decides: the same words keep the speculative answer, already under way;
other words discard it and the brain answers the final words.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field

from engine.speech.brain import Brain
from engine.speech.frames import TranscriptFinal
from engine.speech.pipeline.hearing import Hearing
from engine.speech.pipeline.records import CallState, Line, PipelineObserver, Transcript
from engine.speech.pipeline.replies import Answer, Replies
from engine.speech.pipeline.speaker import Speaker
from engine.speech.pipeline.timers import Timers
from engine.speech.turn import SpeculativeTurn
from engine.speech.vad import TurnEvent, TurnSignal


@dataclass(eq=False)
class Guess:
    """What the caller seemed to say at silence onset, and the brain's answer to it, filled in
    by the speculation's task as the peek and the answer come."""

    text: str | None = None
    answer: Answer = field(default_factory=Answer)
    task: asyncio.Task[Guess] | None = None  # the speculation's task, once handed over


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class Turns:
    """Follows the caller's turn signals to the user's line and the agent's answer."""

    def __init__(self, hearing: Hearing, replies: Replies, speaker: Speaker, brain: Brain,
                 transcript: Transcript, timers: Timers, call: CallState,
                 observer: PipelineObserver, *, speculate: bool = True) -> None:
        self._hearing = hearing
        self._replies = replies
        self._speaker = speaker
        self._brain = brain
        self._transcript = transcript
        self._timers = timers
        self._call = call
        self._observer = observer
        self._speculation: SpeculativeTurn[Guess] = SpeculativeTurn(
            self._guess, speculate=speculate, on_drop=self._undo)
        self._guessing: Guess | None = None  # the guess of the speculation under way
        self._task: asyncio.Task[None] | None = None  # the last turn's end
        self.hits = 0  # turns answered by their speculative answer

    @property
    def discards(self) -> int:
        """Speculative answers discarded because the caller went on speaking."""
        return self._speculation.discarded

    @property
    def busy(self) -> bool:
        """A turn that ended is still being recognised or answered."""
        return self._task is not None and not self._task.done()

    def on_signal(self, event: TurnEvent) -> None:
        """Follows a turn signal (silence began, speech resumed, end of turn)."""
        signal = event.signal
        if signal is TurnSignal.SILENCE_BEGAN:
            if not self._brain.ended and not self._call.ended:
                self._speculation.on_event(event)
        elif signal is TurnSignal.SPEECH_RESUMED:
            if self._speculation.speculating:
                self._speculation.on_event(event)
                self._observer.event("turn.speculation_discarded", {"at": event.at})
        elif signal is TurnSignal.END_OF_TURN:
            guess, reuse = None, False
            if self._speculation.speculating and self._guessing is not None:
                guess, self._guessing = self._guessing, None
                reuse = not self._hearing.voiced_since_peek  # only silence since the peek
                guess.task = self._speculation.on_event(event)  # handed over, maybe still running
            self._task = asyncio.get_running_loop().create_task(
                self._end_of_turn(event, guess, reuse_peek=reuse))

    def drop_speculation(self) -> None:
        """Discards a speculation under way (hold, hang-up); the brain is rolled back."""
        self._speculation.cancel()

    def close(self) -> None:
        self.drop_speculation()
        if self._task is not None:
            self._task.cancel()

    # -- speculation -------------------------------------------------------------------------

    def _guess(self, speculative: bool) -> Awaitable[Guess]:
        """The speculation's work, started at silence onset (an end of turn is passed on only
        while speculating, so it is always speculative): a peek queued now, behind exactly the
        audio heard so far, then the brain's answer to its words."""
        guess = self._guessing = Guess()
        return self._make_guess(guess, self._hearing.peek())

    async def _make_guess(self, guess: Guess, peek: asyncio.Future[TranscriptFinal]) -> Guess:
        try:
            result = await peek
        except asyncio.CancelledError:
            guess.answer.outputs.put_nowait(None)
            raise
        guess.text = result.text
        if not result.text.strip():
            guess.answer.outputs.put_nowait(None)
        else:
            await self._replies.speculate(result.text, guess.answer)
        return guess

    def _undo(self, guess: Guess) -> None:
        self._replies.undo(guess.answer)  # a guess dropped after it was over

    def _discard(self, guess: Guess) -> None:
        """Drops a guess handed over at the end of the turn: cancelled while it runs (the brain
        is rolled back as it stops), else rolled back now."""
        if guess.task is not None and not guess.task.done():
            guess.task.cancel()
        else:
            self._replies.undo(guess.answer)

    # -- the end of a turn -------------------------------------------------------------------

    async def _end_of_turn(self, event: TurnEvent, guess: Guess | None, *, reuse_peek: bool) -> None:
        loop = asyncio.get_running_loop()
        t_end = loop.time()
        final = await self._hearing.finish(reuse_peek=reuse_peek)
        t_heard = loop.time()
        text = final.text.strip()
        index = self._hearing.take_line_index()
        if not text:
            if guess is not None:
                self._discard(guess)
            self._speaker.settle()
            return
        self._timers.caller_spoke()
        stt = self._hearing.stt
        self._transcript.publish(Line(
            index if index is not None else self._transcript.take_index(), "user", text,
            event.speech_started_at, event.last_voiced_at, final.provider or stt.provider,
            final.model or stt.model, final.confidence))
        hit = guess is not None and guess.text is not None and _norm(guess.text) == _norm(text)
        if guess is not None and not hit:
            self._discard(guess)  # the brain is rolled back to before it
            await asyncio.sleep(0)
        if self._call.ended or self._call.held or (self._brain.ended and not hit):
            return
        reply = self._speaker.open("turn")
        reply.turn = event
        reply.eou_ms = round((event.at - event.last_voiced_at) * 1000)
        reply.stt_ms = round((t_heard - t_end) * 1000)
        reply.t_heard = t_heard
        reply.task = asyncio.current_task()
        if hit:
            assert guess is not None
            self.hits += 1
            await self._replies.deliver(reply, guess.answer.outputs)
            return
        await self._replies.answer(reply, self._brain.on_user_text(text))
