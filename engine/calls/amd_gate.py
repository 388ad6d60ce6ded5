"""Answering-machine detection in front of an outbound call's agent.

A queued outbound call whose row's ``metadata_["amd_mode"]`` is ``detect`` or
``detect_and_leave_message`` is answered with its agent held: the agent neither speaks nor hears
while :class:`~engine.speech.amd.AnsweringMachineDetector` listens to the callee's first
seconds (through a tap on the call's mixer; the recogniser counts the words of the first
utterance once it pauses). Then

- a person (or no clear answer) → the agent joins the call and greets, as on any call;
- a machine with ``detect`` → the call ends (``disconnect_reason`` ``voicemail``);
- a machine with ``detect_and_leave_message`` → after the beep (or the greeting's end, or a
  cap) the agent's voice speaks ``metadata_["voicemail_message"]`` (``{name}`` and
  ``{{name}}`` filled from the call's variables), then the call ends (``voicemail``).

The decision goes to ``metadata_["amd_result"]`` (decision, cause, decision_ms) and a call event
``amd.decided`` with that payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.agents.template import fill
from engine.calls.agent_leg import HANGUP_DELAY_S, voice_settings
from engine.media import FRAME_BYTES, SAMPLE_RATE
from engine.speech.amd import AmdResult, AmdSettings, AnsweringMachineDetector
from engine.speech.frames import TranscriptFinal
from engine.speech.tts import EspeakTTS
from engine.store import vocabulary as words

if TYPE_CHECKING:
    from engine.calls.live_call import LiveCall
    from engine.media import Participant

log = logging.getLogger(__name__)

AMD_MODES = ("off", "detect", "detect_and_leave_message")
VOICEMAIL_REASON = words.VOICEMAIL
# The tap's frames wait this long at most for the gate to take them: the mixer ticks every 20 ms,
# so a gap this long means the call's media has stopped (the call is ending).
FRAME_WAIT_S = 2.0
_DOUBLE_BRACES = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _deaf(_pcm: bytes) -> None:
    """The held agent's ears: what the callee says goes nowhere."""


@runtime_checkable
class Transcriber(Protocol):
    """A recogniser that transcribes a whole clip (whisper)."""

    async def transcribe(self, pcm: bytes, language: str | None = None) -> TranscriptFinal: ...


@dataclass(frozen=True)
class AmdPlan:
    """What a call's row asks for: the mode and the message a machine is left."""

    mode: str
    voicemail_message: str = ""

    @property
    def leaves_message(self) -> bool:
        return self.mode == "detect_and_leave_message" and bool(self.voicemail_message.strip())


def amd_plan(metadata: Mapping[str, Any] | None) -> AmdPlan | None:
    """The plan in a call row's metadata, or None (off, missing, or a mode no one knows)."""
    mode = (metadata or {}).get("amd_mode") or "off"
    if mode not in AMD_MODES:
        log.warning("amd_mode %r is none of %s: no detection", mode, ", ".join(AMD_MODES))
        return None
    if mode == "off":
        return None
    message = (metadata or {}).get("voicemail_message") or ""
    return AmdPlan(str(mode), str(message))


def fill_message(text: str, variables: Mapping[str, Any]) -> str:
    """A voicemail message with the call's variables: ``{name}`` or ``{{name}}``."""
    return fill(_DOUBLE_BRACES.sub(r"{\1}", text), variables)


class AmdGate:
    """Holds a live call's agent until the detector decides; then lets it in, hangs up, or
    leaves the message (see the module)."""

    def __init__(self, call: LiveCall, plan: AmdPlan, settings: AmdSettings | None = None,
                 transcriber: Transcriber | None = None) -> None:
        self.call = call
        self.plan = plan
        self.detector = AnsweringMachineDetector(SAMPLE_RATE, settings)
        self.transcriber = transcriber
        self.result: AmdResult | None = None
        self.message_cue: str | None = None
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._heard = bytearray()  # the callee's audio until the words are counted
        self._listening = False
        self._held: tuple[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._words: asyncio.Task[None] | None = None

    # -- the call's side -----------------------------------------------------------------------

    def start(self) -> None:
        """The call is answered, its agent held: listen (in the background)."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(),
                                                            name=f"amd-{self.call.call_id}")

    async def close(self) -> None:
        """The call is ending: stop listening."""
        self._listening = False
        for task in (self._task, self._words):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- listening -----------------------------------------------------------------------------

    def _tap(self, callee: bytes, _others: bytes) -> None:
        """The mixer's tap (the media thread): the callee's frame goes to the gate's loop."""
        loop = self._loop
        if self._listening and loop is not None:
            loop.call_soon_threadsafe(self._frames.put_nowait, callee)

    @property
    def _participant(self) -> Participant | None:
        agent = self.call.agent
        return agent.participant if agent is not None else None

    def _hold(self) -> None:
        participant = self._participant
        if participant is not None:
            self._held = participant.source, participant.sink
            participant.source = None  # read each tick: silence
            participant.sink = _deaf  # (not None: the mixer keeps its listeners until a change)

    def _release(self) -> None:
        participant = self._participant
        if participant is not None and self._held is not None:
            participant.source, participant.sink = self._held
            self._held = None

    async def _next_frame(self) -> bytes | None:
        try:
            return await asyncio.wait_for(self._frames.get(), FRAME_WAIT_S)
        except TimeoutError:
            return None

    async def _run(self) -> None:
        call, mixer = self.call, self.call.mixer
        assert mixer is not None
        self._hold()
        self._listening = True
        mixer.taps.append(self._tap)
        try:
            result = await self._decide()
            if result is None:
                return  # the call ended first
            self.result = result
            payload = result.as_dict()
            call.records.update_call(call.call_id, {"metadata_": {"amd_result": payload}})
            call.records.add_event(call.call_id, "engine", "amd.decided", payload=payload)
            log.info("call %s: %s (%s) after %d ms", call.call_id, result.decision, result.cause,
                     result.decision_ms)
            if result.decision != "machine":
                self._listening = False
                self._release()
                if call.agent is not None and call.live:
                    await call.agent.start()
            elif self.plan.leaves_message:
                await self._leave_message()
            else:
                call.hangup(VOICEMAIL_REASON)
        finally:
            self._listening = False
            if self._tap in mixer.taps:
                mixer.taps.remove(self._tap)

    async def _decide(self) -> AmdResult | None:
        detector = self.detector
        while self.call.live:
            frame = await self._next_frame()
            if frame is None:
                continue
            if detector.words is None and not detector.words_asked:
                self._heard += frame
            result = detector.feed(frame)
            if result is None and detector.wants_words and self.transcriber is not None:
                self._words = asyncio.get_running_loop().create_task(
                    self._count_words(bytes(self._heard)))
            if result is None and detector.result is not None:  # decided by the word count
                result = detector.result
            if result is not None:
                return result
        return None

    async def _count_words(self, pcm: bytes) -> None:
        assert self.transcriber is not None
        try:
            heard = await self.transcriber.transcribe(pcm, "en")
        except Exception:
            log.exception("call %s: the greeting's words were not counted", self.call.call_id)
            return
        self.detector.heard_words(len(heard.text.split()))

    # -- a machine's message -------------------------------------------------------------------

    async def _leave_message(self) -> None:
        call, agent = self.call, self.call.agent
        assert agent is not None
        text = fill_message(self.plan.voicemail_message, call.route.variables)
        tts = EspeakTTS(voice_settings(agent.agent))
        synthesis = asyncio.ensure_future(asyncio.to_thread(tts.render, text))
        try:
            while call.live and self.detector.message_cue is None:
                frame = await self._next_frame()
                if frame is not None:
                    self.detector.feed(frame)
            self._listening = False
            pcm = await synthesis
        finally:
            if not synthesis.done():
                synthesis.cancel()
        if not call.live:
            return
        self.message_cue = self.detector.message_cue
        participant = self._participant
        assert participant is not None
        call.player.enqueue(pcm)
        participant.source = call.player.next_frame
        call.records.add_event(call.call_id, "engine", "agent.voicemail_message",
                               payload={"text": text, "after": self.message_cue,
                                        "at_ms": round(self.detector.now_ms)})
        # the message plays in real time; then the far end plays out its last words
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.ended.wait(),
                                   len(pcm) / (FRAME_BYTES * 50) + HANGUP_DELAY_S)
        call.hangup(VOICEMAIL_REASON)


def amd_gate(call: LiveCall, metadata: Mapping[str, Any] | None) -> AmdGate | None:
    """The gate a call's row asks for (None: detection is off). The recogniser that counts the
    greeting's words is the engine's whisper, when it has one."""
    plan = amd_plan(metadata)
    if plan is None:
        return None
    transcriber: Transcriber | None = None
    agents = call.media.agents
    if agents is not None:
        try:
            stt = agents.models.whisper()
        except Exception as exc:  # no model here: the greeting's length and beep decide
            log.info("call %s: no recogniser for the detector (%s)", call.call_id, exc)
        else:
            transcriber = stt if isinstance(stt, Transcriber) else None
    return AmdGate(call, plan, transcriber=transcriber)


__all__ = ["AMD_MODES", "VOICEMAIL_REASON", "AmdGate", "AmdPlan", "Transcriber", "amd_gate",
           "amd_plan", "fill_message"]
