"""The pipeline of one agent leg: its parts wired together, its lifecycle and its controls.

The mixer's frames wake :meth:`Pipeline._input`, which hands each to hearing, routes the turn
signals (barge-in to the speaker, the rest to turns) and runs the timers on the frame's media
time. Keyed digits and finished playouts come through the same wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable

from engine.speech.agent_audio import FRAME_S, AgentAudio
from engine.speech.brain import Brain
from engine.speech.frames import AudioFrame
from engine.speech.pipeline.config import PipelineConfig
from engine.speech.pipeline.hearing import Hearing
from engine.speech.pipeline.records import (
    HANGUP_IDLE,
    HANGUP_MAX_DURATION,
    HANGUP_SUPERVISOR,
    SUPERVISOR,
    CallState,
    Line,
    PipelineObserver,
    Transcript,
    Usage,
)
from engine.speech.pipeline.replies import Replies
from engine.speech.pipeline.speaker import Speaker
from engine.speech.pipeline.timers import Idle, Timers
from engine.speech.pipeline.turns import Turns
from engine.speech.stt import SttEngine
from engine.speech.tts import TextToSpeech
from engine.speech.vad import TurnDetector, TurnEvent, TurnSignal


class Pipeline:
    """One agent leg's pipeline: :attr:`audio` joins the mixer; :meth:`start` greets."""

    def __init__(self, brain: Brain, stt: SttEngine, tts: TextToSpeech,
                 observer: PipelineObserver | None = None, config: PipelineConfig | None = None,
                 *, vad: Callable[[bytes], bool] | None = None) -> None:
        self.brain = brain
        self.stt = stt
        self.tts = tts
        self.observer = observer = observer or PipelineObserver()
        self.config = config = config or PipelineConfig()
        self.audio = AgentAudio(self._wake_any_thread)
        self.usage = Usage()
        self._call = CallState()
        self._transcript = Transcript(observer)
        self._timers = Timers(config)
        self._hearing = Hearing(stt, self._transcript, observer, self.usage, vad)
        self._speaker = Speaker(self.audio, tts, self._transcript, observer, self.usage, self._call,
                                self._timers, config)
        self._replies = Replies(brain, self._speaker, self._call, observer)
        self._turns = Turns(self._hearing, self._replies, self._speaker, brain, self._transcript,
                            self._timers, self._call, observer, speculate=config.speculate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._wake = asyncio.Event()
        self._dtmf_in: deque[str] = deque()
        self._paused = False  # the call is on hold: nothing heard, nothing said, no timers
        self._tasks: list[asyncio.Task[None]] = []

    # -- what it reports ---------------------------------------------------------------------

    @property
    def lines(self) -> list[Line]:
        """The transcript so far, in the order lines were written."""
        return self._transcript.lines

    def turn_lines(self) -> list[Line]:
        """The agent lines that answered a caller's turn (they carry the latency figures)."""
        return self._transcript.turn_lines()

    def take_index(self) -> int:
        """The next transcript line number, for a line the call writes itself (a transfer's
        note), so the call's lines share one numbering."""
        return self._transcript.take_index()

    @property
    def state(self) -> str:
        """The agent's state: listening, thinking or speaking."""
        return self._speaker.state

    @property
    def ended(self) -> str | None:
        """The reason, once the pipeline asked to hang up."""
        return self._call.ended

    @property
    def barge_ins(self) -> int:
        return self._speaker.barge_ins

    @property
    def speculative_hits(self) -> int:
        return self._turns.hits

    @property
    def speculative_discards(self) -> int:
        return self._turns.discards

    @property
    def detector(self) -> TurnDetector:
        return self._hearing.detector

    @property
    def paused(self) -> bool:
        return self._paused

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts the stages on the running loop and greets the caller."""
        self._loop = loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._hearing.open(self.config.language)
        for coro, name in ((self._input(), "hear"), (self._speaker.run(), "speak"),
                           (self._hearing.run(), "recognize")):
            self._tasks.append(loop.create_task(coro, name=f"pipeline-{name}"))
        if self.config.greet:
            self._replies.start("greeting", self.brain.greet())

    async def close(self) -> None:
        """Stops every stage (the call is over); replies in flight end as interrupted."""
        if self._call.closed:
            return
        self._call.closed = True
        self._turns.close()
        self._speaker.close()
        self._hearing.stop()
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._hearing.close()
        usage = self.brain.usage
        if usage is not None:
            self.usage.llm_prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.usage.llm_completion_tokens = int(usage.get("completion_tokens") or 0)

    def _wake_any_thread(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        if threading.get_ident() == self._thread:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- controls (any thread for dtmf; the loop for the rest) --------------------------------

    def dtmf(self, digit: str) -> None:
        """A digit the caller keyed (RFC 4733 or SIP INFO)."""
        self._dtmf_in.append(digit)
        self._wake_any_thread()

    def say(self, text: str, *, interrupt: bool = False, interruptible: bool | None = None,
            end_after: bool = False, source: str = SUPERVISOR) -> None:
        """Speaks ``text`` (a supervisor's say): ``interrupt`` cuts the current speech first,
        otherwise it follows it; uninterruptible speech ignores barge-in; ``end_after`` hangs up
        once it has been played (or cut short)."""
        if interrupt:
            self._speaker.interrupt("say", count=False)
        self.brain.say(text)
        reply = self._speaker.open("say", interruptible=interruptible, source=source,
                                   hangup=HANGUP_SUPERVISOR if end_after else None)
        if end_after:
            self._call.ended = HANGUP_SUPERVISOR
        self._speaker.say(reply, text)
        self._speaker.end(reply)

    def pause(self) -> None:
        """Stops hearing and speaking (the call is on hold): speech in flight is cut, the
        caller's audio is dropped and the idle and duration timers stop."""
        if self._paused or self._call.closed:
            return
        self._paused = True
        self._turns.drop_speculation()
        self._speaker.interrupt("hold", count=False, force=True)

    def resume(self) -> None:
        """Listens again after :meth:`pause`, with a fresh turn detector and idle timer."""
        if not self._paused:
            return
        self._paused = False
        self._hearing.reset()
        self._timers.reset_idle(self.audio.now)

    def inject_context(self, text: str, *, reply: bool = False) -> None:
        """A hidden instruction for the brain; with ``reply`` it answers now."""
        self._replies.start("context", self.brain.inject_context(text, reply=reply))

    # -- the wake-up: frames, finished playouts, keys ------------------------------------------

    async def _input(self) -> None:
        audio, call = self.audio, self._call
        while not call.closed:
            await self._wake.wait()
            self._wake.clear()
            while audio.finished:
                self._speaker.played(audio.finished.popleft())
            while audio.inbox and not call.closed:
                frame = audio.inbox.popleft()
                if not self._paused:
                    self._frame(frame)
            while self._dtmf_in:
                digit = self._dtmf_in.popleft()
                if not self._paused:
                    self._key(digit)

    def _frame(self, frame: AudioFrame) -> None:
        for event in self._hearing.hear(frame):
            self._signal(event)
        self._tick(frame.pts + FRAME_S)

    def _signal(self, event: TurnEvent) -> None:
        if event.signal is TurnSignal.SPEECH_STARTED:
            self._timers.reset_idle(event.at)
            if self._speaker.replies and self.config.interruptible:
                self._speaker.interrupt("barge_in", count=True)
            return
        if event.signal is TurnSignal.END_OF_TURN:
            self._timers.reset_idle(event.at)
        self._turns.on_signal(event)

    def _key(self, digit: str) -> None:
        if self._call.ended:
            return
        if self._speaker.replies and self.config.interruptible:
            self._speaker.interrupt("dtmf", count=False)
        digits = self._timers.key(digit, self.audio.now)
        if digits is not None:
            self._answer_digits(digits)

    def _answer_digits(self, digits: str) -> None:
        if not digits or self.brain.ended:
            return
        self.observer.event("dtmf.collected", {"digits": digits})
        self._replies.start("dtmf", self.brain.on_dtmf(digits))

    # -- timers --------------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        call, timers = self._call, self._timers
        if call.ended or call.closed:
            return
        if call.held:
            timers.reset_idle(now)
        if timers.time_up(now):
            self._speaker.interrupt("max_duration", count=False)
            self._goodbye(self.config.max_duration_goodbye, HANGUP_MAX_DURATION)
            return
        digits = timers.digits_due(now)
        if digits is not None:
            self._answer_digits(digits)
        idle = timers.idle_due(now, replying=bool(self._speaker.replies),
                               busy=self._hearing.speaking or self._turns.busy)
        if idle is Idle.PROMPT:
            self.observer.event("agent.idle_prompt", {"count": timers.idle_prompts})
            self._speaker.speak("idle", self.brain.fill(self.config.idle_prompt))
        elif idle is Idle.GOODBYE:
            self._goodbye(self.config.idle_goodbye, HANGUP_IDLE)

    def _goodbye(self, text: str, reason: str) -> None:
        text = self.brain.fill(text)
        self._call.ended = reason
        self._speaker.speak("goodbye", text, interruptible=False, hangup=reason)
