"""A persona played over an answered call: what a simulated caller and a simulated callee share.

Once the SIP dialog is up and its :class:`~engine.sip.rtp_leg.RtpLeg` open, the persona speaks
its lines (espeak-ng, rendered before the call and sent as 20 ms frames by a ticker on a media
loop), hears the agent through a real recogniser (the VAD, end of turn and recognition stream
of :class:`~engine.calls.transfers.consult.ConsultListener`), reacts to what it heard by keyword
or regex, presses DTMF (RFC 4733), barges in, keeps silent and hangs up.

Voice-to-voice latency is measured on the simulated party's side of the wire, per line: its last
voiced frame handed to the RTP socket, to the onset (VAD) of the agent's first speech received
after it. The result says what was said and heard (seconds from the answer), the SIP status,
who hung up, and whether the persona's goal showed in what was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.agents.matching import normalise
from engine.calls.greeting import synthesize_async
from engine.calls.transfers.consult import ConsultListener, Heard
from engine.media import FRAME_BYTES, SILENCE, MediaLoop
from engine.simulator.personas import (
    BargeIn,
    Dtmf,
    Hangup,
    Persona,
    React,
    Say,
    Silence,
    WaitAgent,
    heard_pattern,
)
from engine.sip.rtp_leg import RtpLeg
from engine.speech.stt import SttEngine
from engine.speech.vad import TurnDetector, TurnSignal, WebRtcVad

# The agent's turn is over when no speech came this long after its last end of turn: the demo
# agents' sentences follow each other within ~0.3 s (espeak-ng per sentence), and whisper
# tiny.en finishes an utterance of a few seconds in ~0.3-0.6 s on the 2-core test machine.
QUIET_S = 1.0
# A reaction waits this much longer for words that match, when recognition is behind
REACT_GRACE_S = 2.0
POLL_S = 0.05
CALL_LIMIT_S = 120.0
# The longest recording a simulated party keeps (a voicemail box's message): 16 kHz 16-bit
MAX_RECORDING_S = 120.0
MAX_RECORDING_BYTES = int(MAX_RECORDING_S * 50) * FRAME_BYTES


@dataclass(frozen=True)
class Line:
    """A line rendered before the call: 20 ms frames at 16 kHz, and its last voiced frame."""

    text: str
    frames: tuple[bytes, ...]
    last_voiced: int


@dataclass(frozen=True)
class Spoken:
    text: str
    started_s: float
    ended_s: float
    barge_in: bool = False


@dataclass(frozen=True)
class HeardLine:
    text: str
    at_s: float  # when it was recognised


@dataclass(frozen=True)
class Turn:
    """One line of the simulated party and the agent's voice-to-voice latency after it (None:
    no answer)."""

    line: str
    voice_to_voice_ms: float | None


@dataclass
class CallResult:
    """One simulated call. ``persona`` is the persona's name, or the callee's behaviour
    (``voicemail``, ``busy``, ``no_answer``, ``unknown``); ``uri`` the URI dialled (a caller's
    target, a callee's Request-URI); ``role`` which side the simulated party was."""

    persona: str
    uri: str
    sip_status: int | None = None  # a caller's final response; the one a callee sent
    sip_call_id: str | None = None
    answered: bool = False
    ended_by: str | None = None  # caller | callee | agent | None (never answered)
    said: list[Spoken] = field(default_factory=list)
    heard: list[HeardLine] = field(default_factory=list)
    dtmf: str = ""
    turns: list[Turn] = field(default_factory=list)
    goal_reached: bool = False
    goal_missing: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    error: str | None = None
    hearing: bool = True  # False: the agent's words were not recognised (nor judged)
    role: str = "caller"  # caller | callee
    number: str = ""  # a callee's dialled number (the Request-URI user part)
    codec: str | None = None  # the negotiated audio codec: PCMU | PCMA | G722
    # what the simulated party received after its last line, 16 kHz 16-bit (a voicemail box's
    # message); empty unless it records
    recording: bytes = field(default=b"", repr=False)

    @property
    def heard_text(self) -> str:
        return " ".join(h.text for h in self.heard)

    @property
    def latencies_ms(self) -> list[float]:
        return [t.voice_to_voice_ms for t in self.turns if t.voice_to_voice_ms is not None]

    @property
    def recorded_s(self) -> float:
        return len(self.recording) / (FRAME_BYTES * 50)


def split_frames(pcm: bytes, vad: Callable[[bytes], bool]) -> tuple[tuple[bytes, ...], int]:
    """``pcm`` (16 kHz 16-bit) as 20 ms frames, the last one padded, and the index of the last
    voiced frame (the last frame when none is)."""
    if len(pcm) % FRAME_BYTES:
        pcm += bytes(FRAME_BYTES - len(pcm) % FRAME_BYTES)
    frames = tuple(pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES))
    voiced = [i for i, frame in enumerate(frames) if vad(frame)]
    return frames, voiced[-1] if voiced else max(len(frames) - 1, 0)


async def render(persona: Persona) -> dict[str, Line]:
    """Every line of the persona in its voice (espeak-ng in worker threads)."""
    texts = list(dict.fromkeys(persona.lines))
    voice = persona.voice
    pcms = await asyncio.gather(*(synthesize_async(t, voice.voice, voice.rate) for t in texts))
    vad = WebRtcVad()
    lines: dict[str, Line] = {}
    for text, pcm in zip(texts, pcms, strict=True):
        frames, last = split_frames(pcm, vad)
        lines[text] = Line(text, frames, last)
    return lines


def needs_hearing(persona: Persona) -> bool:
    """Whether the persona's steps react to the agent's words (recognised, not only detected)."""
    return any(isinstance(step, React) for step in persona.steps)


class _Media:
    """The simulated party's side of the RTP stream, ticked on its media loop: sends queued
    frames (or silence), hands received frames to the listener (and the recording, once it is
    on), and watches the agent's speech."""

    def __init__(self, rtp: RtpLeg, listener: ConsultListener | None) -> None:
        self.rtp = rtp
        self.listener = listener
        self.detector = TurnDetector()
        self.outbox: deque[tuple[bytes, Callable[[float], None] | None]] = deque()
        self.speech_starts = 0  # the agent's utterances begun
        self.speaking = False
        self.last_turn_end = 0.0
        self.last_voiced_sent: float | None = None  # of the line waiting for an answer
        self.latencies: list[tuple[str, float]] = []
        self.waiting_line = ""
        self.recording: bytearray | None = None  # set on the media loop: frames are kept

    def tick(self) -> None:
        now = time.monotonic()
        if self.outbox:
            frame, mark = self.outbox.popleft()
            self.rtp.push(frame)
            if mark is not None:
                mark(now)
        else:
            self.rtp.push(SILENCE)
        pcm = self.rtp.pull()
        if self.listener is not None:
            self.listener.feed(pcm)
        recording = self.recording
        if recording is not None and len(recording) < MAX_RECORDING_BYTES:
            recording += pcm if pcm is not None else SILENCE
        for event in self.detector.push(pcm if pcm is not None else SILENCE, now):
            if event.signal is TurnSignal.SPEECH_STARTED:
                self.speech_starts += 1
                self.speaking = True
                if self.last_voiced_sent is not None:
                    self.latencies.append((self.waiting_line,
                                           (event.speech_started_at - self.last_voiced_sent)
                                           * 1000))
                    self.last_voiced_sent = None
            elif event.signal is TurnSignal.END_OF_TURN:
                self.speaking = False
                self.last_turn_end = now

    def queue(self, line: Line, started: Callable[[float], None],
              finished: Callable[[float], None]) -> None:
        """The line's frames after whatever is queued (on the media loop)."""
        def voiced_end(now: float) -> None:
            self.last_voiced_sent = now + 0.02
            self.waiting_line = line.text

        for i, frame in enumerate(line.frames):
            marks = [m for m, on in ((started, i == 0), (voiced_end, i == line.last_voiced),
                                     (finished, i == len(line.frames) - 1)) if on]
            self.outbox.append((frame, _chain(marks) if marks else None))

    def start_recording(self) -> None:
        if self.recording is None:
            self.recording = bytearray()


def _chain(marks: list[Callable[[float], None]]) -> Callable[[float], None]:
    def run(now: float) -> None:
        for mark in marks:
            mark(now)
    return run


class Conversation:
    """The persona's side of one answered call, from the answer to the end.

    ``hangup`` ends the call from the persona's side; ``ended`` is set when the call has ended
    (either side). ``record`` keeps what is received from the persona's last line on (a
    voicemail box's beep; :attr:`CallResult.recording`), as a voicemail box does.
    """

    def __init__(self, persona: Persona, lines: dict[str, Line], stt: SttEngine | None,
                 result: CallResult, loop: MediaLoop, *, hangup: Callable[[], None],
                 ended: asyncio.Event, record: bool = False) -> None:
        self.persona = persona
        self.lines = lines
        self.stt = stt
        self.result = result
        self.loop = loop
        self.hangup = hangup
        self.ended = ended
        self.record = record
        self.answered_at = time.monotonic()
        self._media: _Media | None = None
        self._heard_at: list[float] = []  # monotonic, per heard line

    async def run(self, rtp: RtpLeg, limit_s: float) -> None:
        """Plays the persona on ``rtp`` until its steps are done (then hangs up), the call has
        ended, or ``limit_s`` (then hangs up, with an error in the result). The RTP leg stays
        open: its owner closes it."""
        result, loop = self.result, self.loop
        result.codec = rtp.params.codec
        listener: ConsultListener | None = None
        if self.stt is not None:
            listener = ConsultListener(self.stt, self._on_heard,
                                       language=self.persona.voice.language)
            listener.start()
        media = self._media = _Media(rtp, listener)
        await loop.call_soon_wait(loop.clock.add, media.tick)
        try:
            steps = asyncio.ensure_future(self._play())
            ended = asyncio.ensure_future(self.ended.wait())
            try:
                async with asyncio.timeout(limit_s):
                    await asyncio.wait({steps, ended}, return_when=asyncio.FIRST_COMPLETED)
            except TimeoutError:
                result.error = f"the call was still on after {limit_s:g} s"
            finally:
                ended.cancel()
            if not steps.done():
                steps.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await steps
            elif not steps.cancelled() and steps.exception() is not None:
                result.error = repr(steps.exception())
            self.hangup()
            await asyncio.sleep(QUIET_S)  # the last words in flight are recognised
        finally:
            await loop.call_soon_wait(loop.clock.remove, media.tick)
            result.turns = self._turns()
            if media.recording is not None:
                result.recording = bytes(media.recording)
            if listener is not None:
                await listener.close()

    # hearing
    def _on_heard(self, heard: Heard) -> None:
        now = time.monotonic()
        self._heard_at.append(now)
        self.result.heard.append(HeardLine(heard.text, round(now - self.answered_at, 3)))

    def _heard_since(self, since: float) -> str:
        return normalise(" ".join(h.text for h, at in zip(self.result.heard, self._heard_at,
                                                           strict=True) if at >= since))

    async def _agent_done(self, since_starts: int, timeout_s: float) -> bool:
        """Until the agent has started speaking (after ``since_starts`` utterances) and gone
        quiet for QUIET_S; False when it did not within ``timeout_s``."""
        media = self._media
        assert media is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = time.monotonic()
            if media.speech_starts > since_starts and not media.speaking \
                    and now - media.last_turn_end >= QUIET_S:
                return True
            await asyncio.sleep(POLL_S)
        return False

    # speaking
    async def _say(self, text: str, *, barge_in: bool = False) -> None:
        media, loop = self._media, self.loop
        assert media is not None
        aio = asyncio.get_running_loop()
        began: asyncio.Future[float] = aio.create_future()
        done: asyncio.Future[float] = aio.create_future()

        def settle(future: asyncio.Future[float]) -> Callable[[float], None]:
            def mark(now: float) -> None:
                aio.call_soon_threadsafe(_set, future, now)
            return mark

        await loop.call_soon_wait(media.queue, self.lines[text], settle(began), settle(done))
        ended = await done
        self.result.said.append(Spoken(text, round(began.result() - self.answered_at, 3),
                                       round(ended - self.answered_at, 3), barge_in))

    async def _play(self) -> None:
        media, loop = self._media, self.loop
        assert media is not None
        mark_starts, mark_time = 0, time.monotonic()
        last_say = max((i for i, s in enumerate(self.persona.steps) if isinstance(s, Say)),
                       default=-1)
        for index, step in enumerate(self.persona.steps):
            if isinstance(step, Say):
                if self.record and index == last_say:  # a box records from its beep on: what
                    # the agent says as the beep ends is kept however late this task runs
                    await loop.call_soon_wait(media.start_recording)
                await self._say(step.text)
            elif isinstance(step, WaitAgent):
                await self._agent_done(mark_starts, step.timeout_s)
            elif isinstance(step, React):
                await self._agent_done(mark_starts, step.timeout_s)
                reaction = step.choose(self._heard_since(mark_time))
                grace = time.monotonic() + REACT_GRACE_S
                while reaction is None and time.monotonic() < grace:
                    await asyncio.sleep(POLL_S)
                    reaction = step.choose(self._heard_since(mark_time))
                if reaction is not None:
                    if reaction.hangup:
                        return
                    if reaction.say:
                        await self._say(reaction.say)
                elif step.otherwise == "hangup":
                    return
                elif step.otherwise:
                    await self._say(step.otherwise)
            elif isinstance(step, Dtmf):
                for digit in step.digits:
                    await loop.call_soon_wait(media.rtp.send_dtmf, digit)
                    self.result.dtmf += digit
                    await asyncio.sleep(step.gap_s)
            elif isinstance(step, Silence):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, BargeIn):
                deadline = time.monotonic() + step.timeout_s
                while media.speech_starts <= mark_starts and time.monotonic() < deadline:  # noqa: ASYNC110 - watches the media ticker
                    await asyncio.sleep(POLL_S)
                await asyncio.sleep(step.after)
                await self._say(step.say, barge_in=True)
            elif isinstance(step, Hangup):
                return
            mark_starts, mark_time = media.speech_starts, time.monotonic()

    def _turns(self) -> list[Turn]:
        """Each line said, with the latency measured after it (in order, matched by text)."""
        media, result = self._media, self.result
        assert media is not None
        pending = list(media.latencies)
        turns: list[Turn] = []
        for spoken in result.said:
            found = next((i for i, (line, _) in enumerate(pending) if line == spoken.text), None)
            ms = pending.pop(found)[1] if found is not None else None
            turns.append(Turn(spoken.text, round(ms, 1) if ms is not None else None))
        return turns


def judge(persona: Persona, result: CallResult) -> None:
    """Whether the persona's goal showed: ``goal_reached``, else what is missing. The persona's
    ``ended_by: caller`` means the simulated party itself, whichever side it was."""
    success = persona.success
    heard = normalise(result.heard_text)
    missing = [f"heard {entry!r}" for entry in success.heard
               if result.hearing and heard_pattern(entry).search(heard) is None]
    if not result.answered:
        missing.insert(0, f"answered (SIP status {result.sip_status})")
    if success.ended_by is not None:
        wanted = result.role if success.ended_by == "caller" else success.ended_by
        if result.ended_by != wanted:
            missing.append(f"ended by the {wanted} (was {result.ended_by})")
    digits = "".join(s.digits for s in persona.steps if isinstance(s, Dtmf))
    if digits and not result.dtmf.startswith(digits):
        missing.append(f"DTMF {digits} sent (sent {result.dtmf!r})")
    result.goal_missing = missing
    result.goal_reached = not missing


def _set(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


__all__ = ["CALL_LIMIT_S", "QUIET_S", "CallResult", "Conversation", "HeardLine", "Line", "Spoken",
           "Turn", "judge", "needs_hearing", "render", "split_frames"]
