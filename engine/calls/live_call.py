"""One live call, whatever carries it: its row and event log, the mixer, the recorder, the AI
agent's leg, the supervisor's control, and the work at its end. The party's transport is a
:class:`~engine.calls.legs.Leg` (an inbound or outbound SIP call, a WebRTC peer); a new kind of
call is a new leg.

The call rings until its leg connects, is answered by its agent's speech pipeline (should that
fail to start, the agent speaks its first_message with espeak-ng, or a tone plays), runs until
either side ends it, and then writes its final fields: status, reason, duration, the closed
recording, the leg's facts, and a ``call.ended`` event. Its words (statuses, disconnect
reasons, errors) are the call vocabulary's (:mod:`engine.store.vocabulary`): a failure always
leaves ``metadata.error_code`` and ``error_message``, and a SIP call its final SIP status in
``sip_status_code``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.calls.agent_leg import AgentLeg, CallInfo
from engine.calls.amd_gate import AmdGate
from engine.calls.control import CallControl
from engine.calls.greeting import SynthesisError, synthesize_async
from engine.calls.legs.base import Leg, Signalling, SipCall, Stats
from engine.calls.media_context import MediaContext
from engine.calls.records import CallRecords
from engine.calls.routing import Route
from engine.media import AGENT_MASKS, Mixer, Participant, Player, Recorder, Tone
from engine.sip.rtp_leg import RtpLeg
from engine.store import vocabulary as words
from engine.store.timeutil import utcnow
from engine.store.vocabulary import CallFailure

log = logging.getLogger(__name__)

GREETING_TONE = Tone((440.0,), on_ms=1000, off_ms=1000)  # template: each call copies its own


class LiveCall:
    """One call from its first ring to the final row update."""

    def __init__(self, leg: Leg, route: Route, records: CallRecords, media: MediaContext, *,
                 call_id: str | None = None) -> None:
        self.leg = leg
        self.route = route
        self.records = records
        self.media = media
        self.mixer: Mixer | None = None
        self.recorder: Recorder | None = None
        self.agent: AgentLeg | None = None
        self.player = Player()  # the greeting, or a supervisor's words, without a pipeline
        self.tone = Tone(GREETING_TONE.freqs, on_ms=GREETING_TONE.on_ms,
                         off_ms=GREETING_TONE.off_ms)
        self.initiated_at: datetime = utcnow()
        self.answered_at: datetime | None = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.error: CallFailure | None = None  # what went wrong, once something did
        self.stats = Stats()
        self.control = CallControl(self)  # a supervisor's live commands; hold and re-INVITEs
        self.on_answered: Callable[[], None] = lambda: None  # called once answered
        self.amd: AmdGate | None = None  # answering-machine detection holds the agent
        self._greeting: asyncio.Task[None] | None = None
        row = leg.new_row()
        if row is not None:
            self.call_id = records.create_call({
                "organization_id": route.organization_id, "transport": leg.transport,
                "direction": leg.direction, "from_number": leg.from_number,
                "to_number": leg.to_number, "agent_id": route.agent_id, "status": "ringing",
                "initiated_at": self.initiated_at, "dynamic_variables": dict(route.variables),
                **row}, call_id=call_id)
        else:
            assert call_id is not None, "a leg that creates no row needs the call's id"
            self.call_id = call_id
        leg.attach(self)
        leg.created()

    # -- what others read ----------------------------------------------------------------------

    @property
    def organization_id(self) -> str:
        return self.route.organization_id

    @property
    def trunk_id(self) -> str | None:
        """The SIP trunk phone-number destinations of a transfer are dialled through."""
        return self.route.sip_trunk_id

    @property
    def remote_party(self) -> str:
        return self.leg.remote_party

    @property
    def signalling(self) -> Signalling | None:
        return self.leg.signalling

    @property
    def rtp(self) -> RtpLeg | None:
        return self.leg.rtp

    @property
    def sip_call(self) -> SipCall | None:
        return self.leg.sip_call

    @property
    def live(self) -> bool:
        """Neither ended nor ending."""
        return not self.ended.is_set() and self.reason is None

    # -- what the leg reports ------------------------------------------------------------------

    def sip_event(self, event_type: str, status: int | None, detail: str | None) -> None:
        self.records.add_event(self.call_id, "sip", event_type, code=status, reason=detail)

    def party_ended(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    def failed(self, error: CallFailure) -> None:
        """Something went wrong on the call (the first error is the one the row keeps)."""
        if self.error is None:
            self.error = error

    def dtmf(self, digit: str) -> None:
        self.stats.dtmf.append(digit)
        if self.agent is not None:
            self.agent.dtmf(digit)
        self.records.add_event(self.call_id, "engine", "dtmf_received", payload={"digit": digit})

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Rings, answers, runs until either side ends the call, then finishes the records."""
        try:
            if await self.leg.connect():
                await self._answer()
            await self.ended.wait()
        except Exception as exc:
            self.reason = self.reason or words.ERROR
            self.failed(CallFailure.of(words.ENGINE_ERROR, f"{type(exc).__name__}: {exc}"))
            self.leg.failed(exc)
        finally:
            await self._finish()

    def setup_failed(self, error: BaseException) -> None:
        """The leg could not be set up before the call ran (a web call's bad offer)."""
        self.reason = words.ERROR
        self.failed(CallFailure.of(words.SETUP_FAILED, str(error) or None))
        assert self.error is not None
        self.records.update_call(self.call_id, {"status": "failed", "ended_at": utcnow(),
                                                "disconnect_reason": words.ERROR,
                                                "metadata_": self.error.metadata()})
        self.records.add_event(self.call_id, "engine", "call.ended", status="failed",
                               failure=words.ERROR, payload={"error": str(error),
                                                             **self.error.metadata()})

    async def _answer(self) -> None:
        media = self.media.loop
        self.mixer = mixer = Mixer(self.call_id)
        mixer.add(self.leg.participant)
        self.agent = await self._open_agent()
        if self.leg.gone:
            return
        mixer.add(self.agent.participant if self.agent is not None and self.agent.participant
                  else Participant("agent", AGENT_MASKS, self._agent_frame, None))
        self.recorder = recorder = Recorder(self.media.recordings_dir / f"{self.call_id}.wav")
        mixer.taps.append(recorder.write)  # the caller left, everyone heard right
        facts = self.leg.answer()
        self.answered_at = utcnow()
        self.on_answered()
        media.call(media.clock.add, mixer.tick)
        self.records.update_call(self.call_id, {
            "status": "in_progress", "answered_at": self.answered_at,
            "recording_status": "recording", "recording_path": str(recorder.path)})
        self.records.add_event(self.call_id, "engine", "call.answered", status="in_progress",
                               payload={"agent_id": self.route.agent_id,
                                        "agent": self.route.agent_name, **facts})
        if self.agent is not None and self.amd is not None:
            self.amd.start()  # the agent starts once a person answered
        elif self.agent is not None:
            await self.agent.start()
        elif self.route.first_message and self.media.speak:
            self._greeting = asyncio.get_running_loop().create_task(self._speak_greeting())

    async def _open_agent(self) -> AgentLeg | None:
        """The agent's speech pipeline, or None (no pipeline here, or it failed to start: the
        greeting player answers)."""
        agents = self.media.agents
        if agents is None or not self.media.speak or self.route.agent_id is None:
            return None
        info = CallInfo(self.call_id, self.route.organization_id, self.route.agent_id,
                        self.leg.from_number, self.leg.to_number, self.leg.direction,
                        self.route.variables, self.route.overrides, self.route.test)
        try:
            return await agents.open(info, self.records, self.hangup)
        except Exception as exc:
            log.exception("call %s: the agent's pipeline failed to start", self.call_id)
            self.failed(CallFailure.of(words.PIPELINE_FAILED,
                                     f"the agent's speech pipeline did not start: "
                                     f"{type(exc).__name__}: {exc}"))
            self.records.add_event(self.call_id, "engine", "pipeline.failed",
                                   failure=words.PIPELINE_FAILED, payload=self.error_fields())
            return None

    async def _speak_greeting(self) -> None:
        try:
            pcm = await synthesize_async(self.route.first_message, self.route.voice,
                                         self.route.rate_wpm)
        except SynthesisError as exc:
            log.warning("call %s: greeting not synthesized (%s); playing a tone", self.call_id, exc)
            return
        self.player.enqueue(pcm)
        self.records.add_event(self.call_id, "engine", "agent.speaking",
                               payload={"text": self.route.first_message})

    def _agent_frame(self) -> bytes | None:
        frame = self.player.next_frame()
        if frame is not None:
            return frame
        if self._greeting is not None:
            return None  # speaking (or about to): silence between greeting chunks
        return self.tone.next_frame()

    def hangup(self, reason: str = words.AGENT_HANGUP, error: CallFailure | None = None) -> None:
        """Ends the call from our side for ``reason`` (a failure's with its ``error``)."""
        if self.reason is None:
            self.reason = reason
        if error is not None:
            self.failed(error)
        if self.leg.hangup(reason):
            self.ended.set()

    def error_fields(self) -> dict[str, str]:
        """The row's error fields (empty while nothing went wrong)."""
        return self.error.metadata() if self.error is not None else {}

    def rtp_idle_s(self, now: float) -> float:
        """How long no media came from the party (0 while either side holds the call)."""
        return 0.0 if self.control.holding else self.leg.rtp_idle_s(now)

    async def _finish(self) -> None:
        ended_at = utcnow()
        media = self.media.loop
        if self.mixer is not None:
            await media.call_soon_wait(media.clock.remove, self.mixer.tick)
        if self._greeting is not None:
            self._greeting.cancel()
        self.control.cancel_timers()
        if self.amd is not None:
            await self.amd.close()
        if self.agent is not None:
            await self.agent.close()
        answered = self.answered_at is not None
        await self.leg.close()
        ending = self.leg.ending(answered, self.reason)
        reason = self.reason = ending.reason or self.reason
        if ending.error is not None:
            self.failed(ending.error)
        if self.error is None and words.is_failure(ending.status, reason):
            code = reason if reason in words.ERROR_CODES else words.ENGINE_ERROR
            self.failed(CallFailure.of(code))
        fields: dict[str, Any] = {"ended_at": ended_at, "status": ending.status,
                                  "disconnect_reason": reason}
        if ending.code is not None:
            fields["sip_status_code"] = ending.code
        if self.answered_at is not None:
            fields["duration_seconds"] = round((ended_at - self.answered_at).total_seconds())
        if self.recorder is not None:
            fields["recording_duration_ms"] = await self.recorder.close()
            fields["recording_status"] = "failed" if self.recorder.failed else "completed"
        rtp = self.leg.rtp
        if rtp is not None:
            self.stats.frames_received = rtp.frames_received
            self.stats.frames_sent = rtp.frames_sent
        metadata = {**(ending.metadata or {}), **self.error_fields()}
        if metadata:
            fields["metadata_"] = metadata
        self.records.update_call(self.call_id, fields)
        self.records.add_event(self.call_id, "engine", "call.ended", status=ending.status,
                               code=ending.code, failure=ending.failure,
                               payload={"disconnect_reason": reason, **self.error_fields()})


__all__ = ["GREETING_TONE", "LiveCall"]
