"""Simulated callees: a SIP user agent of ours that answers the engine's outbound calls.

:class:`SimulatedCallees` listens on a host and UDP port (a trunk of the engine points at it)
and answers each INVITE by the dialled number (the Request-URI user part), as a
:class:`~engine.simulator.number_plan.NumberPlan` says: a persona picks up after a ring and
plays its steps (the conversation a simulated caller has, from the other side), a voicemail box
says its greeting, beeps and records, a busy line answers 486, a number nobody answers rings
until the caller cancels, a fast answer picks up at once, sends silence (a payload encoded once
per call, sent as is every 20 ms) and hangs up after a fixed time, and a number the plan does
not know gets 404.

Every call handled leaves a :class:`~engine.simulator.conversation.CallResult` (``role``
``callee``; ``persona`` is the persona's name or the behaviour's: ``voicemail``, ``busy``,
``no_answer``, ``fast_answer``, ``unknown``) in :attr:`SimulatedCallees.results`, also handed to
``on_result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from engine.calls.greeting import synthesize_async
from engine.media import FRAME_MS, MediaLoop
from engine.simulator.caller import DEFAULT_CODEC, payload_types
from engine.simulator.conversation import (
    CALL_LIMIT_S,
    CallResult,
    Conversation,
    Line,
    judge,
    needs_hearing,
    render,
    split_frames,
)
from engine.simulator.number_plan import (
    BEEP_HZ,
    BEEP_S,
    Behaviour,
    Busy,
    FastAnswer,
    NoAnswer,
    NumberPlan,
    PersonaAnswer,
    Voicemail,
    demo_plan,
)
from engine.simulator.personas import (
    Hangup,
    Persona,
    Say,
    Silence,
    Success,
    Voice,
    load_persona,
)
from engine.sip import sdp
from engine.sip.ports import RtpPorts
from engine.sip.rtp_leg import RtpLeg
from engine.sip.ua import UserAgent
from engine.sip.uas import IncomingCall
from engine.speech.stt import SttEngine
from engine.speech.vad import WebRtcVad

log = logging.getLogger(__name__)

# RTP ports of simulated callees: apart from the engine's (20000-40000) and the simulated
# callers' (46000-48000); a busy port is skipped
CALLEE_RTP_PORTS = (48000, 50000)
# How the beep is written in a voicemail box's lines (never spoken: a tone)
BEEP_LINE = "(beep)"
ANSWER_LINE = "Hello?"  # what a person says on picking up, before the caller speaks
# The beep's level: -10 dBFS, as loud as speech peaks, well under clipping
BEEP_AMPLITUDE = 0.3
BEEP_LEAD_S = 0.3  # the pause between the greeting and the beep
SAMPLE_RATE = 16000
# On stop, calls in progress get this long to end after our BYE
STOP_GRACE_S = 5.0
# Results kept in :attr:`SimulatedCallees.results`, the oldest dropped first: a voicemail
# box's result holds its recording (up to ~2 MB a minute), and a demo runs for hours
KEEP_RESULTS = 200
SttFactory = Callable[[], SttEngine]


def answering(persona: Persona) -> Persona:
    """The persona as a person picking up the phone plays it: "Hello?" first, then its steps
    (which wait for the caller, the agent, to speak)."""
    if persona.steps and persona.steps[0] == Say(ANSWER_LINE):
        return persona
    return replace(persona, steps=(Say(ANSWER_LINE), *persona.steps))


def beep_frames(hz: float = BEEP_HZ, seconds: float = BEEP_S,
                lead_s: float = BEEP_LEAD_S) -> Line:
    """A voicemail box's beep: ``lead_s`` of silence, then a sine of ``hz`` for ``seconds``, as
    20 ms frames at 16 kHz."""
    lead = bytes(int(lead_s * SAMPLE_RATE) * 2)
    count = int(seconds * SAMPLE_RATE)
    peak = BEEP_AMPLITUDE * 32767
    tone = struct.pack(f"<{count}h", *(int(peak * math.sin(2 * math.pi * hz * i / SAMPLE_RATE))
                                        for i in range(count)))
    frames, _ = split_frames(lead + tone, lambda _frame: False)
    return Line(BEEP_LINE, frames, len(frames) - 1)


def voicemail_persona(box: Voicemail) -> Persona:
    """A voicemail box as a persona: the greeting, the beep, then silence until the limit."""
    return Persona(name=box.name, description="A voicemail box.",
                   goal="Take a message.", voice=Voice("en", box.voice, box.rate),
                   steps=(Say(box.greeting), Say(BEEP_LINE), Silence(box.limit_s), Hangup()),
                   success=Success())


class SilenceSender:
    """Sends one RTP packet of silence a tick on ``rtp``, encoded once (no resampling, no
    encoding per frame), and lets what comes in be dropped by the leg's capped queue."""

    def __init__(self, rtp: RtpLeg) -> None:
        self.rtp = rtp
        samples = rtp.codec_rate * FRAME_MS // 1000
        self.payload = rtp.session.codec.encode(bytes(2 * samples)) \
            if rtp.session.codec is not None else b""

    def tick(self) -> None:
        if self.payload:
            self.rtp.send_encoded(self.payload)


class SimulatedCallees:
    """Answers calls on ``host``:``port`` (UDP; 0: any free port, see :attr:`port` once
    started) by ``plan`` (:func:`~engine.simulator.number_plan.demo_plan` by default; a mapping
    of number to behaviour is read by :meth:`NumberPlan.from_mapping`).

    ``stt`` makes a recogniser (called in a worker thread) for a persona that reacts to the
    agent's words; the others, and every persona when it is None, only detect the agent's
    speech. ``codec``: ``g711`` answers with G.711 only, ``g722`` with G.722 when offered.
    ``limit_s`` ends an answered call still on after it. ``personas`` is the folder personas
    are read from (``resources/personas`` by default). The last ``keep`` results are kept in
    :attr:`results`; ``on_result`` is handed every one as its call ends.
    """

    def __init__(self, plan: NumberPlan | Mapping[str, Behaviour | str] | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, stt: SttFactory | None = None,
                 codec: str = DEFAULT_CODEC, limit_s: float = CALL_LIMIT_S,
                 on_result: Callable[[CallResult], None] | None = None,
                 personas: Path | None = None, keep: int = KEEP_RESULTS) -> None:
        if plan is None:
            plan = demo_plan()
        elif not isinstance(plan, NumberPlan):
            plan = NumberPlan.from_mapping(plan)
        if not 0 <= port <= 65535:
            raise ValueError(f"port: expected 0-65535, got {port}")
        if limit_s <= 0:
            raise ValueError(f"limit_s: expected more than 0, got {limit_s}")
        if keep < 1:
            raise ValueError(f"keep: expected at least 1, got {keep}")
        self.plan = plan
        self.host = host
        self.stt = stt
        self.payload_types = payload_types(codec)
        self.codec = codec.lower()
        self.limit_s = limit_s
        self.on_result = on_result
        self.personas_dir = personas
        self.keep = keep
        self.results: list[CallResult] = []  # the last ``keep``, oldest first
        self._requested_port = port
        self._ua: UserAgent | None = None
        self._media: MediaLoop | None = None
        self._ports = RtpPorts(CALLEE_RTP_PORTS)
        self._personas: dict[str, Persona] = {}
        self._lines: dict[str, asyncio.Task[dict[str, Line]]] = {}
        self._calls: dict[str, IncomingCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The UDP port listened on (once started)."""
        if self._ua is None:
            raise RuntimeError("the simulated callees are not started")
        return self._ua.port

    @property
    def in_progress(self) -> int:
        """Calls ringing or answered now."""
        return len(self._calls)

    async def start(self) -> None:
        """Load the plan's personas (PersonaError for one that cannot be) and listen."""
        if self._ua is not None:
            return
        names = self.plan.personas()
        loaded = await asyncio.to_thread(
            lambda: [load_persona(name, self.personas_dir) for name in names])
        self._personas = dict(zip(names, loaded, strict=True))
        media = self._media = MediaLoop(name="callee-media")
        media.start()
        try:
            self._ua = await UserAgent.listen(self.host, self._requested_port, self._on_invite,
                                              tcp=False)
        except OSError:
            await media.stop()
            self._media = None
            raise
        log.info("simulated callees on %s:%d (UDP)", self.host, self._ua.port)

    async def stop(self) -> None:
        """Hang up every call (480 before the answer, BYE after), then stop listening."""
        for call in list(self._calls.values()):
            call.hangup("callee_hangup")
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for rendering in self._lines.values():
            rendering.cancel()
        if self._ua is not None:
            self._ua.close()
            self._ua = None
        if self._media is not None:
            await self._media.stop()
            self._media = None

    # an INVITE
    def _on_invite(self, call: IncomingCall) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(call),
                                                      name=f"callee-{call.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, call: IncomingCall) -> None:
        number = call.user
        behaviour = self.plan.behaviour(number)
        result = CallResult(behaviour.name if behaviour is not None else "unknown",
                            str(call.invite.request_uri), sip_call_id=call.call_id,
                            role="callee", number=number, hearing=False)
        ended = asyncio.Event()

        def on_ended(reason: str) -> None:
            if result.answered and result.ended_by is None:
                result.ended_by = "agent" if reason == "caller_hangup" else "callee"
            if not result.answered and reason == "canceled":
                result.sip_status = 487
            ended.set()

        call.on_ended = on_ended
        self._calls[call.call_id] = call
        started = time.monotonic()
        try:
            if behaviour is None:
                result.sip_status = 404
                call.reject(404, "not_found")
            elif isinstance(behaviour, Busy):
                result.sip_status = 486
                call.reject(486, "busy")
            elif isinstance(behaviour, NoAnswer):
                result.sip_status = 180
                call.ring()
                await ended.wait()
            elif isinstance(behaviour, FastAnswer):
                await self._fast_answer(call, behaviour, result, ended)
            else:
                await self._converse(call, behaviour, result, ended)
        except Exception as exc:
            log.exception("simulated callee %s failed", number)
            result.error = repr(exc)
        finally:
            if call.state != "ended":
                call.hangup("callee_hangup")
            self._calls.pop(call.call_id, None)
            result.duration_s = time.monotonic() - started
            self._finish(result)

    async def _converse(self, call: IncomingCall, behaviour: PersonaAnswer | Voicemail,
                        result: CallResult, ended: asyncio.Event) -> None:
        media = self._media
        assert media is not None
        call.ring()
        result.sip_status = 180
        persona, lines = await self._script(behaviour)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), behaviour.ring_s)
        if call.state == "ended":
            return
        try:
            offer = sdp.parse(call.offer)
            params = sdp.negotiate(offer, list(self.payload_types))
        except sdp.SdpError as exc:
            result.sip_status, result.error = 488, str(exc)
            call.reject(488, "error")
            return
        stt = None
        if self.stt is not None and needs_hearing(persona):
            stt = await asyncio.to_thread(self.stt)
        result.hearing = stt is not None
        port, _ = await media.run(self._ports.allocate())
        rtp: RtpLeg | None = None
        try:
            rtp = await media.run(RtpLeg.open(self.host, params, self._ports, port=port))
            if call.state == "ended":
                return
            call.answer(sdp.answer(offer, params, self.host, port))
            result.answered, result.sip_status = True, 200
            conversation = Conversation(persona, lines, stt, result, media,
                                        hangup=lambda: call.hangup("callee_hangup"),
                                        ended=ended, record=isinstance(behaviour, Voicemail))
            await conversation.run(rtp, self.limit_s)
        finally:
            if rtp is not None:
                await media.run(rtp.close())  # gives the port back
            else:
                await media.run(self._ports.release(port))
            if result.answered and isinstance(behaviour, PersonaAnswer):
                judge(persona, result)

    async def _fast_answer(self, call: IncomingCall, behaviour: FastAnswer, result: CallResult,
                           ended: asyncio.Event) -> None:
        """200 OK at once, encoded silence every 20 ms, and a BYE after ``hangup_s``."""
        media = self._media
        assert media is not None
        try:
            offer = sdp.parse(call.offer)
            params = sdp.negotiate(offer, list(self.payload_types))
        except sdp.SdpError as exc:
            result.sip_status, result.error = 488, str(exc)
            call.reject(488, "error")
            return
        port, _ = await media.run(self._ports.allocate())
        rtp: RtpLeg | None = None
        try:
            rtp = await media.run(RtpLeg.open(self.host, params, self._ports, port=port))
            if call.state == "ended":
                return
            call.answer(sdp.answer(offer, params, self.host, port))
            result.answered, result.sip_status = True, 200
            result.codec = params.codec
            silence = SilenceSender(rtp)
            await media.call_soon_wait(media.clock.add, silence.tick)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), behaviour.hangup_s)
            finally:
                await media.call_soon_wait(media.clock.remove, silence.tick)
            if call.state != "ended":
                call.hangup("callee_hangup")
        finally:
            if rtp is not None:
                await media.run(rtp.close())  # gives the port back
            else:
                await media.run(self._ports.release(port))

    async def _script(self, behaviour: PersonaAnswer | Voicemail) -> tuple[Persona,
                                                                          dict[str, Line]]:
        """The persona to play and its lines, rendered once per persona (or voicemail box)."""
        if isinstance(behaviour, PersonaAnswer):
            persona = self._personas.get(behaviour.persona)
            if persona is None:  # a plan changed after start
                persona = await asyncio.to_thread(load_persona, behaviour.persona,
                                                  self.personas_dir)
                self._personas[behaviour.persona] = persona
            persona = answering(persona)
            key = f"persona:{persona.name}"
        else:
            persona = voicemail_persona(behaviour)
            key = f"voicemail:{behaviour.voice}:{behaviour.rate}:{behaviour.greeting}"
        task = self._lines.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            render_lines = render(persona) if isinstance(behaviour, PersonaAnswer) \
                else _voicemail_lines(behaviour)
            task = self._lines[key] = asyncio.ensure_future(render_lines)
        return persona, await asyncio.shield(task)

    def _finish(self, result: CallResult) -> None:
        self.results.append(result)
        del self.results[:-self.keep]
        log.info("simulated callee %s (%s): SIP %s, %d lines said, ended by %s%s", result.number,
                 result.persona, result.sip_status, len(result.said), result.ended_by,
                 f", error {result.error}" if result.error else "")
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                log.exception("on_result failed for the call to %s", result.number)


async def _voicemail_lines(box: Voicemail) -> dict[str, Line]:
    pcm = await synthesize_async(box.greeting, box.voice, box.rate)
    frames, last = split_frames(pcm, WebRtcVad())
    return {box.greeting: Line(box.greeting, frames, last), BEEP_LINE: beep_frames()}


__all__ = ["ANSWER_LINE", "BEEP_LINE", "CALLEE_RTP_PORTS", "KEEP_RESULTS", "SilenceSender",
           "SimulatedCallees", "answering", "beep_frames", "voicemail_persona"]
