"""A simulated caller: a SIP user agent of ours that dials a number and plays a persona.

It speaks the persona's lines (espeak-ng, rendered before the call and sent as 20 ms G.711
frames by a ticker on its own media loop), hears the agent through a real recogniser (the VAD,
end of turn and recognition stream of :class:`~engine.calls.transfers.consult.ConsultListener`),
reacts to what it heard by keyword or regex, presses DTMF (RFC 4733) and hangs up.

Voice-to-voice latency is measured on the caller's side of the wire, per line: the caller's
last voiced frame handed to its RTP socket, to the onset (VAD) of the agent's first speech
received after it. The result says what was said and heard (seconds from the answer), the SIP
status, who hung up, and whether the persona's goal showed in what the caller heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from engine.agents.matching import normalise
from engine.calls.destinations import parse_sip
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
from engine.sip import sdp
from engine.sip.ports import RtpPorts
from engine.sip.rtp_leg import RtpLeg
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.sip.uas import IncomingCall
from engine.speech.stt import SttEngine
from engine.speech.vad import TurnDetector, TurnSignal, WebRtcVad

log = logging.getLogger(__name__)

# G.711 A-law then µ-law (RFC 3551 static types): what every SIP peer answers
OFFER_PAYLOAD_TYPES = (8, 0)
# RTP ports of simulated callers, apart from the engine's usual range; a busy port is skipped
CALLER_RTP_PORTS = (46000, 48000)
# The agent's turn is over when no speech came this long after its last end of turn: the demo
# agents' sentences follow each other within ~0.3 s (espeak-ng per sentence), and whisper
# tiny.en finishes an utterance of a few seconds in ~0.3-0.6 s on the 2-core test machine.
QUIET_S = 1.0
# A reaction waits this much longer for words that match, when recognition is behind
REACT_GRACE_S = 2.0
POLL_S = 0.05
RING_TIMEOUT_S = 15.0
CALL_LIMIT_S = 120.0


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
    """One caller line and the agent's voice-to-voice latency after it (None: no answer)."""

    line: str
    voice_to_voice_ms: float | None


@dataclass
class CallResult:
    persona: str
    uri: str
    sip_status: int | None = None
    sip_call_id: str | None = None
    answered: bool = False
    ended_by: str | None = None  # caller | agent | None (never answered)
    said: list[Spoken] = field(default_factory=list)
    heard: list[HeardLine] = field(default_factory=list)
    dtmf: str = ""
    turns: list[Turn] = field(default_factory=list)
    goal_reached: bool = False
    goal_missing: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    error: str | None = None
    hearing: bool = True  # False: the agent's words were not recognised (nor judged)

    @property
    def heard_text(self) -> str:
        return " ".join(h.text for h in self.heard)

    @property
    def latencies_ms(self) -> list[float]:
        return [t.voice_to_voice_ms for t in self.turns if t.voice_to_voice_ms is not None]


def parse_target(uri: str) -> Peer:
    """Where ``sip:<number>@host[:port]`` is sent (port 5060 when none is given; the URI's
    ``transport`` parameter, else UDP), read as a transfer's destination is."""
    try:
        dest = parse_sip(uri)
    except ValueError as exc:
        raise ValueError(f"not a SIP URI: {uri!r} (expected sip:NUMBER@HOST:PORT): {exc}") from None
    return Peer(dest.transport, dest.host, dest.port)


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


class _Media:
    """The caller's side of the RTP stream, ticked on its media loop: sends queued frames (or
    silence), hands received frames to the listener, and watches the agent's speech."""

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


def _chain(marks: list[Callable[[float], None]]) -> Callable[[float], None]:
    def run(now: float) -> None:
        for mark in marks:
            mark(now)
    return run


class SimulatedCaller:
    """One call: dials a URI and plays ``persona``; ``stt`` hears the agent (whisper tiny.en).
    ``lines`` are the persona's lines rendered already (:func:`render`), for many callers.
    Without ``stt`` the caller only detects the agent's speech (VAD): enough for a persona with
    no ``react`` step (:func:`needs_hearing`), and far cheaper for many calls at once."""

    def __init__(self, persona: Persona, stt: SttEngine | None, *, local_ip: str = "127.0.0.1",
                 lines: dict[str, Line] | None = None) -> None:
        self.persona = persona
        self.stt = stt
        self.local_ip = local_ip
        self.lines = lines
        self._media: _Media | None = None
        self._loop: MediaLoop | None = None
        self._sip: OutgoingCall | None = None
        self._answered_at = 0.0
        self._heard_at: list[float] = []  # monotonic, per heard line
        self._result: CallResult | None = None
        self._hung_up = False
        self._ended = asyncio.Event()

    async def call(self, uri: str, *, ring_timeout_s: float = RING_TIMEOUT_S,
                   limit_s: float = CALL_LIMIT_S) -> CallResult:
        result = self._result = CallResult(self.persona.name, uri, hearing=self.stt is not None)
        peer = parse_target(uri)
        if self.lines is None:
            self.lines = await render(self.persona)
        media = self._loop = MediaLoop(name="caller-media")
        media.start()
        allocator = RtpPorts(CALLER_RTP_PORTS)
        port, _ = await media.run(allocator.allocate())
        ua = await UserAgent.listen(self.local_ip, 0, _refuse, tcp=False)
        rtp: RtpLeg | None = None
        listener: ConsultListener | None = None
        started = time.monotonic()
        try:
            offer = sdp.build(self.local_ip, port, list(OFFER_PAYLOAD_TYPES), sdp.DTMF_PT)
            sip = self._sip = OutgoingCall(
                ua, uri, peer, offer, from_uri=f"sip:simulated-{self.persona.name}@{self.local_ip}",
                display_name=f"Simulated {self.persona.name}", ringing_timeout_s=ring_timeout_s)
            answered = asyncio.Event()
            sip.on_answered = lambda _body: answered.set()
            sip.on_ended = self._on_ended
            sip.start()
            await _first(answered.wait(), self._ended.wait())
            result.sip_status, result.sip_call_id = sip.status, sip.call_id
            if sip.state != "answered":
                return result
            result.answered = True
            self._answered_at = time.monotonic()
            params = sdp.negotiate(sdp.parse(sip.answer))
            rtp = await media.run(RtpLeg.open(self.local_ip, params, allocator, port=port))
            if self.stt is not None:
                listener = ConsultListener(self.stt, self._on_heard,
                                           language=self.persona.voice.language)
                listener.start()
            self._media = _Media(rtp, listener)
            await media.call_soon_wait(media.clock.add, self._media.tick)
            steps = asyncio.ensure_future(self._play())
            ended = asyncio.ensure_future(self._ended.wait())
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
            self._hangup()
            await asyncio.sleep(QUIET_S)  # the last words in flight are recognised
        finally:
            if self._media is not None:
                await media.call_soon_wait(media.clock.remove, self._media.tick)
                result.turns = self._turns()
            if listener is not None:
                await listener.close()
            if rtp is not None:
                await media.run(rtp.close())  # gives the port back
            else:
                await media.run(allocator.release(port))
            if self._sip is not None and self._sip.state != "ended":
                self._hangup()
            ua.close()
            await media.stop()
            result.duration_s = time.monotonic() - started
            self._judge(result)
        return result

    # signalling
    def _on_ended(self, _reason: str) -> None:
        result = self._result
        if result is not None and result.answered and result.ended_by is None:
            result.ended_by = "caller" if self._hung_up else "agent"
        self._ended.set()

    def _hangup(self) -> None:
        if self._sip is not None and self._sip.state != "ended":
            self._hung_up = True
            self._sip.hangup("caller_hangup")

    # hearing
    def _on_heard(self, heard: Heard) -> None:
        now = time.monotonic()
        assert self._result is not None
        self._heard_at.append(now)
        self._result.heard.append(HeardLine(heard.text, round(now - self._answered_at, 3)))

    def _heard_since(self, since: float) -> str:
        assert self._result is not None
        return normalise(" ".join(h.text for h, at in zip(self._result.heard, self._heard_at,
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
        media, loop, lines = self._media, self._loop, self.lines
        assert media is not None and loop is not None and lines is not None
        aio = asyncio.get_running_loop()
        began: asyncio.Future[float] = aio.create_future()
        done: asyncio.Future[float] = aio.create_future()

        def settle(future: asyncio.Future[float]) -> Callable[[float], None]:
            def mark(now: float) -> None:
                aio.call_soon_threadsafe(_set, future, now)
            return mark

        await loop.call_soon_wait(media.queue, lines[text], settle(began), settle(done))
        ended = await done
        assert self._result is not None
        self._result.said.append(Spoken(text, round(began.result() - self._answered_at, 3),
                                        round(ended - self._answered_at, 3), barge_in))

    async def _play(self) -> None:
        media, loop = self._media, self._loop
        assert media is not None and loop is not None and self._result is not None
        mark_starts, mark_time = 0, time.monotonic()
        for step in self.persona.steps:
            if isinstance(step, Say):
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
                    self._result.dtmf += digit
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
        media, result = self._media, self._result
        assert media is not None and result is not None
        pending = list(media.latencies)
        turns: list[Turn] = []
        for spoken in result.said:
            found = next((i for i, (line, _) in enumerate(pending) if line == spoken.text), None)
            ms = pending.pop(found)[1] if found is not None else None
            turns.append(Turn(spoken.text, round(ms, 1) if ms is not None else None))
        return turns

    def _judge(self, result: CallResult) -> None:
        success = self.persona.success
        heard = normalise(result.heard_text)
        missing = [f"heard {entry!r}" for entry in success.heard
                   if result.hearing and heard_pattern(entry).search(heard) is None]
        if not result.answered:
            missing.insert(0, f"answered (SIP status {result.sip_status})")
        if success.ended_by is not None and result.ended_by != success.ended_by:
            missing.append(f"ended by the {success.ended_by} (was {result.ended_by})")
        wanted = "".join(s.digits for s in self.persona.steps if isinstance(s, Dtmf))
        if wanted and not result.dtmf.startswith(wanted):
            missing.append(f"DTMF {wanted} sent (sent {result.dtmf!r})")
        result.goal_missing = missing
        result.goal_reached = not missing


def needs_hearing(persona: Persona) -> bool:
    """Whether the persona's steps react to the agent's words (recognised, not only detected)."""
    return any(isinstance(step, React) for step in persona.steps)


def _set(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


def _refuse(call: IncomingCall) -> None:
    call.reject(486, "Busy Here")  # a simulated caller takes no calls


async def _first(*waits: Coroutine[Any, Any, object]) -> None:
    """Until the first of ``waits`` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()


async def simulate(persona: Persona, uri: str, stt: SttEngine, *,
                   local_ip: str = "127.0.0.1", limit_s: float = CALL_LIMIT_S) -> CallResult:
    """One call from ``persona`` to ``uri``."""
    return await SimulatedCaller(persona, stt, local_ip=local_ip).call(uri, limit_s=limit_s)


__all__ = ["CallResult", "HeardLine", "Line", "SimulatedCaller", "Spoken", "Turn",
           "needs_hearing", "parse_target", "render", "simulate", "split_frames"]
