"""The speaker: replies synthesised sentence by sentence into the playout, in order, and cut short
at once on barge-in.

Its input is a :class:`~engine.speech.queue.FrameQueue`: sentences and end marks of replies as
data frames, interruption and hang-up as control frames that jump the queue. An interruption
also empties the playout, so at most the frame already handed to the mixer goes out after it.
When a reply's last frame has gone out (or it was cut short) its transcript line is written with
the turn's latency figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from engine.speech.agent_audio import AgentAudio, Playout
from engine.speech.frames import DataFrame, HangUp, Interrupt
from engine.speech.pipeline.config import PipelineConfig
from engine.speech.pipeline.records import (
    HANGUP_SUPERVISOR,
    LISTENING,
    SPEAKING,
    THINKING,
    CallState,
    Line,
    PipelineObserver,
    Transcript,
    Usage,
)
from engine.speech.pipeline.timers import Timers
from engine.speech.queue import FrameQueue
from engine.speech.tts import TextToSpeech
from engine.speech.vad import TurnEvent

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Reply:
    """One agent reply in flight: what it said so far, how it is played, the turn's timings."""

    kind: str
    interruptible: bool = True
    source: str = "agent"  # the transcript source of its line: agent | supervisor
    hangup: str | None = None  # hang up with this reason once it has been played
    playout: Playout = field(default_factory=Playout)
    texts: list[str] = field(default_factory=list)
    index: int | None = None
    interrupted: bool = False
    closed: bool = False  # no more text will come
    finished: bool = False
    started_at: float | None = None
    turn: TurnEvent | None = None
    eou_ms: int | None = None
    stt_ms: int | None = None
    t_heard: float | None = None  # loop time the caller's final text was known
    t_brain: float | None = None  # loop time of the brain's first words
    tts_ttfb_ms: int | None = None
    task: asyncio.Task[None] | None = None  # the work producing it (cancelled when it is cut)


@dataclass(frozen=True, slots=True)
class Say(DataFrame):
    """A sentence of a reply, to synthesise."""

    reply: Reply
    text: str


@dataclass(frozen=True, slots=True)
class EndReply(DataFrame):
    """A reply has no more sentences: its playout ends after the last one."""

    reply: Reply


# What the speaker takes: sentences and end marks in order; interrupt and hang-up first.
SpeakerInput = Say | EndReply | Interrupt | HangUp


class Speaker:
    """Speaks replies into the agent's audio; knows which replies are in flight."""

    def __init__(self, audio: AgentAudio, tts: TextToSpeech, transcript: Transcript,
                 observer: PipelineObserver, usage: Usage, call: CallState, timers: Timers,
                 config: PipelineConfig) -> None:
        self.audio = audio
        self.tts = tts
        self._transcript = transcript
        self._observer = observer
        self._usage = usage
        self._call = call
        self._timers = timers
        self._config = config
        self._queue: FrameQueue[SpeakerInput] = FrameQueue()
        self.replies: list[Reply] = []  # in flight: being thought of, spoken or played
        self.state = LISTENING
        self.barge_ins = 0

    # -- replies in ----------------------------------------------------------------------------

    def open(self, kind: str, *, interruptible: bool | None = None, hangup: str | None = None,
             source: str = "agent") -> Reply:
        """A new reply in flight (the agent is thinking); by default as interruptible as the
        agent's settings say."""
        reply = Reply(kind, interruptible=self._config.interruptible if interruptible is None
                      else interruptible, source=source, hangup=hangup)
        self.replies.append(reply)
        self.set_state(THINKING)
        return reply

    def say(self, reply: Reply, text: str) -> None:
        """Queues a sentence of ``reply`` (nothing once it was cut short)."""
        if text.strip() and not reply.interrupted:
            self._queue.put(Say(reply, text.strip()))

    def end(self, reply: Reply) -> None:
        """``reply`` has no more sentences."""
        if not reply.closed:
            reply.closed = True
            self._queue.put(EndReply(reply))

    def speak(self, kind: str, text: str, *, interruptible: bool | None = None,
              hangup: str | None = None) -> Reply:
        """A whole reply of one known text (an idle prompt, a goodbye)."""
        reply = self.open(kind, interruptible=interruptible, hangup=hangup)
        self.say(reply, text)
        self.end(reply)
        return reply

    # -- synthesis -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Synthesises queued text into the playout, sentence by sentence, in order."""
        loop = asyncio.get_running_loop()
        audio = self.audio
        while True:
            item = await self._queue.get()
            if isinstance(item, HangUp):
                return
            if isinstance(item, Interrupt):
                continue
            reply = item.reply
            if isinstance(item, EndReply):
                if not reply.interrupted:
                    audio.end(reply.playout)
                continue
            if reply.interrupted:
                continue
            if reply.index is None:
                reply.index = self._transcript.take_index()
            self.set_state(SPEAKING)
            requested = loop.time()
            reply.texts.append(item.text)
            self._usage.tts_characters += len(item.text)
            try:
                async with contextlib.aclosing(self.tts.synthesize(item.text)) as chunks:
                    async for chunk in chunks:
                        if reply.interrupted:
                            break
                        if reply.tts_ttfb_ms is None:
                            reply.tts_ttfb_ms = round((loop.time() - requested) * 1000)
                        audio.play(chunk.pcm, reply.playout)
            except Exception as exc:
                log.exception("speech synthesis failed")
                self._observer.event("tts.error", {"error": str(exc)})

    # -- replies out ---------------------------------------------------------------------------

    def played(self, playout: Playout) -> None:
        """A playout's last frame went out."""
        reply = next((r for r in self.replies if r.playout is playout), None)
        if reply is not None:
            self.finish(reply)

    def finish(self, reply: Reply) -> None:
        """A reply was played to its end or cut short: its line, its metrics, what comes next."""
        if reply.finished:
            return
        reply.finished = True
        if reply in self.replies:
            self.replies.remove(reply)
        playout = reply.playout
        now = self.audio.now
        text = " ".join(reply.texts)
        if text:
            line = Line(reply.index if reply.index is not None else self._transcript.take_index(),
                        reply.source, text, playout.first_pts,
                        playout.ended_pts if playout.ended_pts is not None else now,
                        self.tts.provider, self.tts.voice, None, reply.interrupted, kind=reply.kind)
            if reply.turn is not None:
                line.eou_ms, line.stt_ms, line.tts_ttfb_ms = reply.eou_ms, reply.stt_ms, reply.tts_ttfb_ms
                if reply.t_brain is not None and reply.t_heard is not None:
                    line.brain_ms = max(0, round((reply.t_brain - reply.t_heard) * 1000))
                if playout.first_voiced_pts is not None:
                    line.voice_to_voice_ms = round(
                        (playout.first_voiced_pts - reply.turn.last_voiced_at) * 1000)
            self._transcript.publish(line)
            if reply.turn is not None:
                self._observer.turn(line)
        self._timers.quiet_from(now)
        if not self.replies:
            self.set_state(LISTENING)
        call = self._call
        if reply.hangup and not call.closed and (not reply.interrupted
                                                 or reply.hangup == HANGUP_SUPERVISOR):
            call.ended = reply.hangup
            self._observer.hangup(reply.hangup)

    def interrupt(self, reason: str, *, count: bool, force: bool = False) -> None:
        """Stops speaking now: the playout is emptied, queued speech dropped, replies cut short
        (uninterruptible ones only when ``force``); ``count`` counts a barge-in if speech was
        playing."""
        if not self.replies or (not force and any(not r.interruptible for r in self.replies)):
            return  # nothing to cut, or a goodbye / hand-over that must be heard whole
        was_playing = self.audio.playing
        self.audio.stop()
        self._queue.clear_data()
        self._queue.put(Interrupt(reason=reason))
        for reply in list(self.replies):
            reply.interrupted = True
            if reply.task is not None and reply.task is not asyncio.current_task():
                reply.task.cancel()
            self.finish(reply)
        if count and was_playing:
            self.barge_ins += 1
            self._observer.barge_in(self.barge_ins)
            self._observer.event("agent.interrupted", {"reason": reason, "count": self.barge_ins})

    def close(self) -> None:
        """The call is over: replies in flight end as interrupted (unless played out) and the
        speaker stops."""
        for reply in list(self.replies):
            if reply.task is not None:
                reply.task.cancel()
            reply.interrupted = reply.interrupted or not reply.playout.done
            self.finish(reply)
        self._queue.put(HangUp(reason="closed"))

    # -- state ---------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._observer.state(state)

    def settle(self) -> None:
        """A turn ended without words: thinking while replies are in flight, else listening."""
        self.set_state(THINKING if self.replies else LISTENING)
