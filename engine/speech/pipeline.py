"""The speech pipeline of one agent leg: it hears the agent's mix, decides the caller's turns,
asks the brain, and speaks the answers into the mixer, 20 ms at a time.

    mixer ──sink──▶ VAD + turn detector ──▶ STT (partials, speculative peek, final)
                         │ barge-in                      │
                         ▼                               ▼
    mixer ◀─source── playout ◀── TTS (per sentence) ◀── brain (text, tokens, tools, events)

Time: the caller's frames carry media time (the agent leg's tick count, see
:mod:`engine.speech.agent_audio`); timers (idle, max duration, DTMF collection) run on that
clock, so tests drive them in virtual time. Stage latencies are measured on the loop's clock.
Control frames (interrupt, hang-up) jump the speaker's queue; a barge-in empties the playout at
once, so at most the frame already handed to the mixer goes out after it. Recognition and
synthesis run on their engines' worker threads, never on this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.speech.agent_audio import FRAME_S, AgentAudio, Playout
from engine.speech.brain import Brain, BrainOutput
from engine.speech.frames import (
    END_CALL,
    TRANSFER_CALL,
    BrainEvent,
    BrainText,
    BrainToken,
    DataFrame,
    HangUp,
    Interrupt,
    ToolCall,
    TranscriptFinal,
)
from engine.speech.queue import FrameQueue
from engine.speech.sentences import SentenceAggregator
from engine.speech.stt import RecognitionStream, SttEngine
from engine.speech.tts import TextToSpeech
from engine.speech.vad import TurnDetector, TurnEvent, TurnSignal

log = logging.getLogger(__name__)

# Audio kept from before the detector decides speech started: the start needs 3 voiced frames
# in 5 (up to 100 ms late), and a recogniser given the clipped onset loses the first phoneme.
PREROLL_MS = 200
# Keyed digits are collected until '#' or this much time without a new digit (media time).
# Asterisk's Read() waits 3 s between digits; menus here take one digit and slots end with '#'
# or the pause, so a shorter pause keeps menu answers quick.
DTMF_INTERDIGIT_S = 1.0
IDLE_PROMPT = "Are you still there?"
IDLE_GOODBYE = "I haven't heard from you, so I'll end the call now. Goodbye!"
MAX_DURATION_GOODBYE = "We've reached the time limit for this call. Thank you for calling. Goodbye!"

LISTENING, THINKING, SPEAKING = "listening", "thinking", "speaking"
HANGUP_END_CALL = "agent_hangup"
HANGUP_IDLE = "idle_timeout"
HANGUP_MAX_DURATION = "max_duration"
HANGUP_SUPERVISOR = "supervisor_hangup"
SUPERVISOR = "supervisor"  # the transcript source of a supervisor's say


@dataclass
class PipelineConfig:
    """The agent's conversation settings (from its record)."""

    language: str | None = None
    interruptible: bool = True
    idle_timeout_s: float = 10.0
    idle_max_prompts: int = 1
    max_duration_s: float = 1800.0
    idle_prompt: str = IDLE_PROMPT
    idle_goodbye: str = IDLE_GOODBYE
    max_duration_goodbye: str = MAX_DURATION_GOODBYE
    speculate: bool = True
    greet: bool = True


@dataclass
class Line:
    """One final utterance of the transcript; times are media-clock seconds from the leg's start."""

    index: int
    source: str  # user | agent
    text: str
    started_at: float | None
    ended_at: float | None
    provider: str | None = None
    model: str | None = None
    confidence: float | None = None
    interrupted: bool = False
    eou_ms: int | None = None
    stt_ms: int | None = None
    brain_ms: int | None = None
    tts_ttfb_ms: int | None = None
    voice_to_voice_ms: int | None = None
    kind: str = ""  # agent lines: greeting | turn | dtmf | idle | say | goodbye | context

    def latency(self) -> dict[str, int | None]:
        return {"eou_ms": self.eou_ms, "stt_ms": self.stt_ms, "brain_ms": self.brain_ms,
                "tts_ttfb_ms": self.tts_ttfb_ms, "voice_to_voice_ms": self.voice_to_voice_ms}


class PipelineObserver:
    """What the pipeline reports as it happens; the agent leg writes it to the store and bus."""

    def partial(self, index: int, text: str, started_at: float) -> None: ...
    def final(self, line: Line) -> None: ...
    def state(self, state: str) -> None: ...
    def turn(self, line: Line) -> None: ...
    def brain_event(self, event: BrainEvent) -> None: ...
    def tool_call(self, call: ToolCall) -> None: ...
    def barge_in(self, count: int) -> None: ...
    def event(self, kind: str, payload: dict[str, Any]) -> None: ...
    def hangup(self, reason: str) -> None: ...


@dataclass(eq=False)
class _Reply:
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
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class _Say(DataFrame):
    reply: Any
    text: str


@dataclass(frozen=True, slots=True)
class _EndReply(DataFrame):
    reply: Any


@dataclass(eq=False)
class _Speculation:
    """A reply started at silence onset, kept only if the turn ends with the same words."""

    text: str | None = None
    snapshot: Any = None
    outputs: asyncio.Queue[BrainOutput | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    voiced_after: bool = False  # voiced frames came after the peek's audio


@dataclass
class Usage:
    """What the call consumed, for costs."""

    stt_audio_s: float = 0.0
    tts_characters: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0


def _voice(tts: TextToSpeech) -> str | None:
    voice = getattr(getattr(tts, "settings", None), "voice", None)
    return str(voice) if voice else None


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


class Pipeline:
    """One agent leg's pipeline: :attr:`audio` joins the mixer; :meth:`start` greets."""

    def __init__(self, brain: Brain, stt: SttEngine, tts: TextToSpeech,
                 observer: PipelineObserver | None = None, config: PipelineConfig | None = None,
                 *, vad: Callable[[bytes], bool] | None = None) -> None:
        self.brain = brain
        self.stt = stt
        self.tts = tts
        self.observer = observer or PipelineObserver()
        self.config = config or PipelineConfig()
        self.audio = AgentAudio(self._wake_any_thread)
        self.detector = TurnDetector(vad)
        self.usage = Usage()
        self.lines: list[Line] = []
        self.barge_ins = 0
        self.speculative_discards = 0
        self.speculative_hits = 0
        self.state = LISTENING
        self.ended: str | None = None  # the reason, once the pipeline asked to hang up
        self._stream: RecognitionStream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._wake = asyncio.Event()
        self._speech = FrameQueue()
        self._stt_queue: asyncio.Queue[Any] = asyncio.Queue()
        self._preroll: deque[bytes] = deque(maxlen=max(1, PREROLL_MS // 20))
        self._replies: list[_Reply] = []
        self._brain_lock = asyncio.Lock()
        self._speculation: _Speculation | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._user_index: int | None = None
        self._turn_started_at = 0.0
        self._held = False  # a transfer was asked for: the agent stays quiet
        self._paused = False  # the call is on hold: nothing heard, nothing said, no timers
        self._vad = vad
        self._next_index = 0
        self._idle_since = 0.0
        self._idle_prompts = 0
        self._digits: list[str] = []
        self._dtmf_in: deque[str] = deque()
        self._last_digit_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts the stages on the running loop and greets the caller."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._stream = self.stt.open_stream(self.config.language)
        for coro, name in ((self._input(), "hear"), (self._speaker(), "speak"),
                           (self._recognizer(), "recognize")):
            self._tasks.append(self._loop.create_task(coro, name=f"pipeline-{name}"))
        if self.config.greet:
            reply = self._new_reply("greeting")
            reply.task = self._loop.create_task(self._answer(reply, self.brain.greet()))

    async def close(self) -> None:
        """Stops every stage (the call is over); replies in flight end as interrupted."""
        if self._closed:
            return
        self._closed = True
        self._discard_speculation()
        for reply in list(self._replies):
            if reply.task is not None:
                reply.task.cancel()
            reply.interrupted = reply.interrupted or not reply.playout.done
            self._finish_reply(reply)
        if self._turn_task is not None:
            self._turn_task.cancel()
        self._speech.put(HangUp(reason="closed"))
        self._stt_queue.put_nowait(None)
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._stream is not None:
            with contextlib.suppress(Exception):
                await self._stream.close()
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
            self._interrupt("say", count=False)
        self.brain.say(text)
        reply = self._new_reply("say", interruptible=interruptible,
                                hangup=HANGUP_SUPERVISOR if end_after else None)
        reply.source = source
        if end_after:
            self.ended = HANGUP_SUPERVISOR
        self._speak(reply, text)
        self._close_reply(reply)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stops hearing and speaking (the call is on hold): speech in flight is cut, the
        caller's audio is dropped and the idle and duration timers stop."""
        if self._paused or self._closed:
            return
        self._paused = True
        self._discard_speculation()
        self._interrupt("hold", count=False, force=True)

    def resume(self) -> None:
        """Listens again after :meth:`pause`, with a fresh turn detector and idle timer."""
        if not self._paused:
            return
        self._paused = False
        self.detector = TurnDetector(self._vad)
        self._preroll.clear()
        self._idle_since = self.audio.now

    def inject_context(self, text: str, *, reply: bool = False) -> None:
        """A hidden instruction for the brain; with ``reply`` it answers now."""
        answer = self._new_reply("context")
        assert self._loop is not None
        answer.task = self._loop.create_task(
            self._answer(answer, self.brain.inject_context(text, reply=reply)))

    # -- hearing -----------------------------------------------------------------------------

    async def _input(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while self.audio.finished:
                self._played(self.audio.finished.popleft())
            while self.audio.inbox and not self._closed:
                pts, pcm = self.audio.inbox.popleft()
                if not self._paused:
                    self._frame(pts, pcm)
            while self._dtmf_in:
                digit = self._dtmf_in.popleft()
                if not self._paused:
                    self._digit(digit)

    def _frame(self, pts: float, pcm: bytes) -> None:
        in_turn = self.detector.speaking
        voiced = self.detector.is_speech(pcm)
        events = self.detector.push_decision(voiced, pts)
        if any(e.signal is TurnSignal.SPEECH_STARTED for e in events):
            self._turn_started_at = events[0].speech_started_at
            self._preroll.append(pcm)
            for frame in self._preroll:
                self._feed(frame, voiced)
            self._preroll.clear()
        elif in_turn:
            self._feed(pcm, voiced)
        else:
            self._preroll.append(pcm)
        for event in events:
            self._turn_signal(event)
        self._timers(pts + FRAME_S)

    def _feed(self, pcm: bytes, voiced: bool) -> None:
        self.usage.stt_audio_s += FRAME_S
        self._stt_queue.put_nowait(pcm)
        if voiced and self._speculation is not None:
            self._speculation.voiced_after = True

    def _turn_signal(self, event: TurnEvent) -> None:
        signal = event.signal
        if signal is TurnSignal.SPEECH_STARTED:
            self._idle_since = event.at
            if self._replies and self.config.interruptible:
                self._interrupt("barge_in", count=True)
        elif signal is TurnSignal.SILENCE_BEGAN:
            if self.config.speculate and not self.brain.ended and not self.ended:
                self._speculate()
        elif signal is TurnSignal.SPEECH_RESUMED:
            if self._speculation is not None:
                self._discard_speculation()
                self.speculative_discards += 1
                self.observer.event("turn.speculation_discarded", {"at": event.at})
        elif signal is TurnSignal.END_OF_TURN:
            self._idle_since = event.at
            assert self._loop is not None
            spec, self._speculation = self._speculation, None
            self._turn_task = self._loop.create_task(self._end_of_turn(event, spec))

    def _stt_request(self, kind: str, reuse: bool = False) -> asyncio.Future[TranscriptFinal]:
        """Queues a peek or finish behind the audio fed so far."""
        assert self._loop is not None
        future: asyncio.Future[TranscriptFinal] = self._loop.create_future()
        self._stt_queue.put_nowait((kind, reuse, future))
        return future

    async def _recognizer(self) -> None:
        """Feeds audio to the recognition stream in order; peeks and finishes between frames."""
        stream = self._stream
        assert stream is not None
        while (item := await self._stt_queue.get()) is not None:
            if isinstance(item, bytes):
                try:
                    partial = await stream.accept(item)
                except Exception:
                    log.exception("recognition failed")
                    continue
                if partial is not None and partial.text:
                    if self._user_index is None:
                        self._user_index = self._take_index()
                    self.observer.partial(self._user_index, partial.text, self._turn_started_at)
                continue
            kind, reuse, future = item
            if future.done():
                continue
            try:
                result = await (stream.peek() if kind == "peek" else stream.finish(reuse_peek=reuse))
            except Exception as exc:
                log.exception("recognition failed")
                self.observer.event("stt.error", {"error": str(exc)})
                result = TranscriptFinal("", provider=self.stt.provider, model=self.stt.model)
            if not future.done():
                future.set_result(result)

    # -- turns -------------------------------------------------------------------------------

    def _speculate(self) -> None:
        self._discard_speculation()
        spec = _Speculation()
        assert self._loop is not None
        peek = self._stt_request("peek")
        spec.task = self._loop.create_task(self._speculative_reply(spec, peek))
        self._speculation = spec

    async def _speculative_reply(self, spec: _Speculation,
                                 peek: asyncio.Future[TranscriptFinal]) -> None:
        try:
            result = await peek
        except asyncio.CancelledError:
            spec.outputs.put_nowait(None)
            raise
        spec.text = result.text
        if not result.text.strip():
            spec.outputs.put_nowait(None)
            return
        async with self._brain_lock:
            spec.snapshot = self.brain.checkpoint()
            try:
                async with contextlib.aclosing(self.brain.on_user_text(result.text)) as stream:
                    async for out in stream:
                        spec.outputs.put_nowait(out)
            except asyncio.CancelledError:
                self.brain.rollback(spec.snapshot)
                raise
            except Exception as exc:
                log.exception("the brain failed")
                self.observer.event("brain.error", {"error": str(exc)})
            finally:
                spec.outputs.put_nowait(None)

    def _discard_speculation(self) -> None:
        spec, self._speculation = self._speculation, None
        if spec is not None:
            self._cancel_speculation(spec)

    def _cancel_speculation(self, spec: _Speculation) -> None:
        if spec.task is None:
            return
        if not spec.task.done():
            spec.task.cancel()  # rolls the brain back itself
        elif spec.snapshot is not None:
            self.brain.rollback(spec.snapshot)

    async def _end_of_turn(self, event: TurnEvent, spec: _Speculation | None) -> None:
        loop = asyncio.get_running_loop()
        t_end = loop.time()
        reuse = spec is not None and spec.task is not None and not spec.voiced_after
        final = await self._stt_request("finish", reuse)
        t_heard = loop.time()
        text = final.text.strip()
        index, self._user_index = self._user_index, None
        if not text:
            if spec is not None:
                self._cancel_speculation(spec)
            self._set_state(THINKING if self._replies else LISTENING)
            return
        self._idle_prompts = 0
        line = Line(index if index is not None else self._take_index(), "user", text,
                    event.speech_started_at, event.last_voiced_at, final.provider or self.stt.provider,
                    final.model or self.stt.model, final.confidence)
        self._publish(line)
        hit = spec is not None and spec.text is not None and _norm(spec.text) == _norm(text)
        if spec is not None and not hit:
            self._cancel_speculation(spec)  # the brain is rolled back to before it
            await asyncio.sleep(0)
        if self.ended or self._held or (self.brain.ended and not hit):
            return
        reply = self._new_reply("turn")
        reply.turn = event
        reply.eou_ms = round((event.at - event.last_voiced_at) * 1000)
        reply.stt_ms = round((t_heard - t_end) * 1000)
        reply.t_heard = t_heard
        reply.task = asyncio.current_task()  # type: ignore[assignment]
        if hit:
            assert spec is not None
            self.speculative_hits += 1
            await self._deliver(reply, spec.outputs)
            return
        await self._answer(reply, self.brain.on_user_text(text))

    # -- replies -----------------------------------------------------------------------------

    def _new_reply(self, kind: str, *, interruptible: bool | None = None,
                   hangup: str | None = None) -> _Reply:
        reply = _Reply(kind, interruptible=self.config.interruptible if interruptible is None
                       else interruptible, hangup=hangup)
        self._replies.append(reply)
        self._set_state(THINKING)
        return reply

    async def _answer(self, reply: _Reply, stream: AsyncIterator[BrainOutput]) -> None:
        """Runs one brain answer and speaks it as it comes."""
        outputs: asyncio.Queue[BrainOutput | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                async with self._brain_lock:
                    async with contextlib.aclosing(stream) as items:
                        async for out in items:
                            outputs.put_nowait(out)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("the brain failed")
                self.observer.event("brain.error", {"error": str(exc)})
            finally:
                outputs.put_nowait(None)

        producer = asyncio.get_running_loop().create_task(produce())
        try:
            await self._deliver(reply, outputs)
        finally:
            producer.cancel()

    async def _deliver(self, reply: _Reply, outputs: asyncio.Queue[BrainOutput | None]) -> None:
        loop = asyncio.get_running_loop()
        sentences = SentenceAggregator()
        try:
            while (out := await outputs.get()) is not None:
                if reply.interrupted:
                    break
                if isinstance(out, (BrainText, BrainToken)) and reply.t_brain is None:
                    reply.t_brain = loop.time()
                if isinstance(out, BrainText):
                    self._speak(reply, out.text)
                elif isinstance(out, BrainToken):
                    for sentence in sentences.push(out.text):
                        self._speak(reply, sentence)
                elif isinstance(out, ToolCall):
                    self._tool(reply, out)
                elif isinstance(out, BrainEvent):
                    self.observer.brain_event(out)
            for sentence in sentences.flush():
                self._speak(reply, sentence)
        finally:
            self._close_reply(reply)

    def _tool(self, reply: _Reply, call: ToolCall) -> None:
        self.observer.tool_call(call)
        if call.type == END_CALL:
            reply.hangup = HANGUP_END_CALL
            reply.interruptible = False
            self.ended = HANGUP_END_CALL
        elif call.type == TRANSFER_CALL:
            reply.interruptible = False
            self._held = True

    def _speak(self, reply: _Reply, text: str) -> None:
        if text.strip() and not reply.interrupted:
            self._speech.put(_Say(reply, text.strip()))

    def _close_reply(self, reply: _Reply) -> None:
        if not reply.closed:
            reply.closed = True
            self._speech.put(_EndReply(reply))

    async def _speaker(self) -> None:
        """Synthesises queued text into the playout, sentence by sentence, in order."""
        loop = asyncio.get_running_loop()
        while True:
            item = await self._speech.get()
            if isinstance(item, HangUp):
                return
            if isinstance(item, Interrupt):
                continue
            if isinstance(item, _EndReply):
                reply = item.reply
                if not reply.interrupted:
                    self.audio.end(reply.playout)
                continue
            assert isinstance(item, _Say)
            reply = item.reply
            if reply.interrupted:
                continue
            if reply.index is None:
                reply.index = self._take_index()
            self._set_state(SPEAKING)
            requested = loop.time()
            reply.texts.append(item.text)
            self.usage.tts_characters += len(item.text)
            try:
                async with contextlib.aclosing(self.tts.synthesize(item.text)) as chunks:
                    async for chunk in chunks:
                        if reply.interrupted:
                            break
                        if reply.tts_ttfb_ms is None:
                            reply.tts_ttfb_ms = round((loop.time() - requested) * 1000)
                        self.audio.play(chunk.pcm, reply.playout)
            except Exception as exc:
                log.exception("speech synthesis failed")
                self.observer.event("tts.error", {"error": str(exc)})

    def _played(self, playout: Playout) -> None:
        reply = next((r for r in self._replies if r.playout is playout), None)
        if reply is not None:
            self._finish_reply(reply)

    def _finish_reply(self, reply: _Reply) -> None:
        """A reply was played to its end or cut short: its line, its metrics, what comes next."""
        if reply.finished:
            return
        reply.finished = True
        if reply in self._replies:
            self._replies.remove(reply)
        playout = reply.playout
        now = self.audio.now
        text = " ".join(reply.texts)
        if text:
            line = Line(reply.index if reply.index is not None else self._take_index(), reply.source, text,
                        playout.first_pts, playout.ended_pts if playout.ended_pts is not None else now,
                        self.tts.provider, _voice(self.tts), None, reply.interrupted,
                        kind=reply.kind)
            if reply.turn is not None:
                line.eou_ms, line.stt_ms, line.tts_ttfb_ms = reply.eou_ms, reply.stt_ms, reply.tts_ttfb_ms
                if reply.t_brain is not None and reply.t_heard is not None:
                    line.brain_ms = max(0, round((reply.t_brain - reply.t_heard) * 1000))
                if playout.first_voiced_pts is not None:
                    line.voice_to_voice_ms = round(
                        (playout.first_voiced_pts - reply.turn.last_voiced_at) * 1000)
            self._publish(line)
            if reply.turn is not None:
                self.observer.turn(line)
        self._idle_since = max(self._idle_since, now)
        if not self._replies:
            self._set_state(LISTENING)
        if reply.hangup and not self._closed and (not reply.interrupted
                                                  or reply.hangup == HANGUP_SUPERVISOR):
            self.ended = reply.hangup
            self.observer.hangup(reply.hangup)

    def _interrupt(self, reason: str, *, count: bool, force: bool = False) -> None:
        """Stops speaking now: the playout is emptied, queued speech dropped, replies cut short
        (uninterruptible ones only when ``force``)."""
        if not self._replies or (not force and any(not r.interruptible for r in self._replies)):
            return  # nothing to cut, or a goodbye / hand-over that must be heard whole
        was_playing = self.audio.playing
        self.audio.stop()
        self._speech.clear_data()
        self._speech.put(Interrupt(reason=reason))
        for reply in list(self._replies):
            reply.interrupted = True
            if reply.task is not None and reply.task is not asyncio.current_task():
                reply.task.cancel()
            self._finish_reply(reply)
        if count and was_playing:
            self.barge_ins += 1
            self.observer.barge_in(self.barge_ins)
            self.observer.event("agent.interrupted", {"reason": reason, "count": self.barge_ins})

    # -- timers and keys ---------------------------------------------------------------------

    def _timers(self, now: float) -> None:
        if self.ended or self._closed:
            return
        if self._held:
            self._idle_since = now
        if now >= self.config.max_duration_s:
            self._interrupt("max_duration", count=False)
            self._goodbye(self.config.max_duration_goodbye, HANGUP_MAX_DURATION)
            return
        if self._digits and now - self._last_digit_at >= DTMF_INTERDIGIT_S:
            self._flush_digits()
        busy = self._replies or self.detector.speaking or self._digits or (
            self._turn_task is not None and not self._turn_task.done())
        if busy:
            self._idle_since = max(self._idle_since, now) if self._replies else self._idle_since
            return
        if now - self._idle_since < self.config.idle_timeout_s:
            return
        self._idle_since = now
        if self._idle_prompts < self.config.idle_max_prompts:
            self._idle_prompts += 1
            self.observer.event("agent.idle_prompt", {"count": self._idle_prompts})
            reply = self._new_reply("idle")
            self._speak(reply, self._filled(self.config.idle_prompt))
            self._close_reply(reply)
        else:
            self._goodbye(self.config.idle_goodbye, HANGUP_IDLE)

    def _filled(self, text: str) -> str:
        """``text`` with the call's ``{variables}`` (the brain's) filled in."""
        return self.brain.fill(text)

    def _goodbye(self, text: str, reason: str) -> None:
        text = self._filled(text)
        self.ended = reason
        reply = self._new_reply("goodbye", interruptible=False, hangup=reason)
        self._speak(reply, text)
        self._close_reply(reply)

    def _digit(self, digit: str) -> None:
        if self.ended:
            return
        self._idle_since = self.audio.now
        if self._replies and self.config.interruptible:
            self._interrupt("dtmf", count=False)
        if digit == "#":
            self._digits.append(digit)
            self._flush_digits()
            return
        self._digits.append(digit)
        self._last_digit_at = self.audio.now

    def _flush_digits(self) -> None:
        digits, self._digits = "".join(self._digits), []
        if not digits or self.brain.ended:
            return
        self.observer.event("dtmf.collected", {"digits": digits})
        reply = self._new_reply("dtmf")
        assert self._loop is not None
        reply.task = self._loop.create_task(self._answer(reply, self.brain.on_dtmf(digits)))

    # -- records -----------------------------------------------------------------------------

    def _take_index(self) -> int:
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    def _publish(self, line: Line) -> None:
        self.lines.append(line)
        self.observer.final(line)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.observer.state(state)

    def turn_lines(self) -> list[Line]:
        """The agent lines that answered a caller's turn (they carry the latency figures)."""
        return [line for line in self.lines if line.source == "agent" and line.kind == "turn"]


__all__ = [
    "DTMF_INTERDIGIT_S",
    "HANGUP_END_CALL",
    "HANGUP_IDLE",
    "HANGUP_MAX_DURATION",
    "HANGUP_SUPERVISOR",
    "IDLE_PROMPT",
    "LISTENING",
    "SPEAKING",
    "SUPERVISOR",
    "THINKING",
    "Line",
    "Pipeline",
    "PipelineConfig",
    "PipelineObserver",
    "Usage",
]
