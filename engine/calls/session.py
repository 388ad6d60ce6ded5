"""The live session of one inbound SIP call: ringing, answered by its agent, mixed, recorded,
and ended, with every step written to the call's row and event log.

The session talks to the store through :class:`CallRecords` (a fake in unit tests) and to the
caller through an :class:`~engine.sip.uas.IncomingCall` and an RTP leg. The agent's speech
pipeline answers; should it fail to start, the agent speaks its first_message (espeak-ng) or
plays a tone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from aiortp.port_allocator import PortAllocator

from engine.calls.agent_leg import AgentLeg, CallInfo
from engine.calls.control import CallControl
from engine.calls.greeting import SynthesisError, synthesize_async
from engine.calls.live import end_fields, failure_of, open_agent, start_recording
from engine.media import AGENT_MASKS, CALLER_MASKS, MediaClock, Mixer, Participant, Player, Recorder, Tone
from engine.media.loop import MediaLoop
from engine.sip import sdp
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uas import IncomingCall
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

GREETING_TONE = Tone((440.0,), on_ms=1000, off_ms=1000)  # template: each call copies its own


class CallRecords(Protocol):
    """The store edge of a call session."""

    def create_call(self, fields: dict[str, Any], *, call_id: str | None = None) -> str: ...

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None: ...

    def add_event(self, call_id: str, provider: str, event_type: str, *, status: str | None = None,
                  code: int | None = None, reason: str | None = None, failure: str | None = None,
                  actor: str | None = None, payload: dict[str, Any] | None = None) -> None: ...


@dataclass
class Route:
    """What the dialled number resolved to."""

    organization_id: str
    phone_number_id: str
    number: str
    agent_id: str | None
    agent_name: str = ""
    first_message: str = ""
    voice: str | None = None
    rate_wpm: int | None = None
    sip_trunk_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # the agent's dynamic variables
    overrides: dict[str, Any] = field(default_factory=dict)  # agent fields for this call only


@dataclass
class MediaContext:
    """Shared media resources of the telephony service."""

    loop: MediaLoop
    local_ip: str
    recordings_dir: Path
    allocator: PortAllocator | None = None
    batch: RtpBatch | None = None  # G.711 legs converted together (lives on the media loop)
    speak: bool = True  # synthesize first_message; False plays a tone (tests, benchmarks)
    answer_after_s: float = 0.0  # ring this long before answering
    agents: Any = None  # engine.calls.agent_leg.AgentLegs: the AI agent's speech pipeline answers

    @property
    def clock(self) -> MediaClock:
        return self.loop.clock


@dataclass
class Stats:
    frames_received: int = 0
    frames_sent: int = 0
    dtmf: list[str] = field(default_factory=list)


class CallSession:
    """One inbound call from INVITE to the final row update."""

    def __init__(self, sip_call: IncomingCall, route: Route, records: CallRecords,
                 media: MediaContext, *, call_id: str | None = None) -> None:
        self.sip = sip_call
        self.route = route
        self.records = records
        self.media = media
        self.leg: RtpLeg | None = None
        self.mixer: Mixer | None = None
        self.recorder: Recorder | None = None
        self.player = Player()
        self.tone = Tone(GREETING_TONE.freqs, on_ms=GREETING_TONE.on_ms, off_ms=GREETING_TONE.off_ms)
        self.initiated_at: datetime = utcnow()
        self.answered_at: datetime | None = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.stats = Stats()
        self._greeting: asyncio.Task[None] | None = None
        self.agent: AgentLeg | None = None
        self.control = CallControl(self)  # a supervisor's live commands; hold and re-INVITEs
        # called once the 200 OK is sent
        self.on_answered: Callable[[], None] = lambda: None
        self.call_id = records.create_call({
            "organization_id": route.organization_id, "type": "phone_call", "transport": "sip",
            "direction": "inbound", "from_number": sip_call.caller, "to_number": route.number,
            "agent_id": route.agent_id, "phone_number_id": route.phone_number_id,
            "sip_trunk_id": route.sip_trunk_id, "sip_call_id": sip_call.call_id,
            "status": "ringing", "initiated_at": self.initiated_at,
            "dynamic_variables": dict(route.variables),
            "metadata_": {"sip_call_id": sip_call.call_id},
        }, call_id=call_id)
        sip_call.on_event = self._sip_event
        sip_call.on_ended = self._sip_ended
        sip_call.on_dtmf = self._dtmf
        sip_call.on_reoffer = self.control.answer_reoffer
        self.records.add_event(self.call_id, "sip", "invite_received", status="ringing",
                               payload={"call_id": sip_call.call_id, "from": sip_call.caller,
                                        "to": sip_call.user})
        self.records.add_event(self.call_id, "sip", "response_sent", code=100, reason="Trying")

    @property
    def signalling(self) -> IncomingCall:
        return self.sip

    # what a transfer reads (engine.calls.transfers.TransferableCall)
    @property
    def organization_id(self) -> str:
        return self.route.organization_id

    @property
    def trunk_id(self) -> str | None:
        return self.route.sip_trunk_id

    @property
    def remote_party(self) -> str:
        return self.sip.caller or ""

    @property
    def sip_leg(self) -> IncomingCall:
        return self.sip

    # SIP callbacks
    def _sip_event(self, event_type: str, status: int | None, detail: str | None) -> None:
        self.records.add_event(self.call_id, "sip", event_type, code=status, reason=detail)

    def _sip_ended(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    def _dtmf(self, digit: str) -> None:
        self.stats.dtmf.append(digit)
        if self.agent is not None:
            self.agent.dtmf(digit)
        self.records.add_event(self.call_id, "engine", "dtmf_received", payload={"digit": digit})

    # lifecycle
    async def run(self) -> None:
        """Ring, answer, run until either side ends the call, then finish the records."""
        try:
            await self._answer()
            await self.ended.wait()
        except sdp.SdpError as exc:
            log.info("call %s: %s", self.call_id, exc)
            self.sip.reject(488, "error")
            self.reason = self.reason or "error"
        except Exception:
            log.exception("call %s failed", self.call_id)
            self.reason = self.reason or "error"
            self.sip.hangup("error")
        finally:
            await self._finish()

    async def _answer(self) -> None:
        self.sip.ring()
        offer = sdp.parse(self.sip.offer)
        params = sdp.negotiate(offer)
        if self.media.answer_after_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ended.wait(), self.media.answer_after_s)
        if self.sip.state == "ended":
            return
        media = self.media.loop
        self.leg = await media.run(RtpLeg.open(self.media.local_ip, params, self.media.allocator,
                                               media.clock, self.media.batch))
        if self.sip.state == "ended":  # cancelled while the port was opening
            return
        loop = asyncio.get_running_loop()
        self.leg.on_dtmf = lambda digit: loop.call_soon_threadsafe(self._dtmf, digit)
        self.mixer = Mixer(self.call_id)
        self.mixer.add(Participant("caller", CALLER_MASKS, self.leg.pull, self.leg.push))
        self.agent = await self._open_agent()
        self.mixer.add(self.agent.participant if self.agent is not None and self.agent.participant
                       else Participant("agent", AGENT_MASKS, self._agent_frame, None))
        self.recorder = start_recording(self.mixer, self.media.recordings_dir, self.call_id)
        answer = sdp.answer(offer, params, self.media.local_ip, self.leg.local_port,
                            session_id=self.control.sdp_id)
        self.sip.answer(answer)
        self.answered_at = utcnow()
        self.on_answered()
        media.call(media.clock.add, self.mixer.tick)
        self.records.update_call(self.call_id, {
            "status": "in_progress", "answered_at": self.answered_at,
            "recording_status": "recording", "recording_path": str(self.recorder.path),
        })
        self.records.add_event(self.call_id, "engine", "call.answered", status="in_progress",
                               payload={"agent_id": self.route.agent_id,
                                        "agent": self.route.agent_name,
                                        "codec": params.codec})
        if self.agent is not None:
            await self.agent.start()
        elif self.route.first_message and self.media.speak:
            self._greeting = asyncio.get_running_loop().create_task(self._speak_greeting())

    async def _open_agent(self) -> AgentLeg | None:
        """The agent's speech pipeline, or None (no pipeline here: the greeting player answers)."""
        if self.media.agents is None or not self.media.speak or self.route.agent_id is None:
            return None
        info = CallInfo(self.call_id, self.route.organization_id, self.route.agent_id,
                        self.sip.caller, self.route.number, "inbound", self.route.variables,
                        self.route.overrides)
        return await open_agent(self.media.agents, info, self.records, self.hangup)

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

    def hangup(self, reason: str = "agent_hangup") -> None:
        if self.reason is None:
            self.reason = reason
        self.sip.hangup(reason)

    def rtp_idle_s(self, now: float | None = None) -> float:
        if self.leg is None or self.sip.state not in ("answered", "confirmed") or self.control.holding:
            return 0.0
        return (now if now is not None else time.monotonic()) - self.leg.last_rx

    async def _finish(self) -> None:
        ended_at = utcnow()
        media = self.media.loop
        if self.mixer is not None:
            await media.call_soon_wait(media.clock.remove, self.mixer.tick)
        if self._greeting is not None:
            self._greeting.cancel()
        self.control.cancel_timers()
        if self.agent is not None:
            await self.agent.close()
        fields = await end_fields(ended_at, self.answered_at, self.reason, self.recorder)
        if self.leg is not None:
            self.stats.frames_received = self.leg.frames_received
            self.stats.frames_sent = self.leg.frames_sent
            fields["metadata_"] = {"sip_call_id": self.sip.call_id,
                                   "rtp": {"frames_received": self.leg.frames_received,
                                           "frames_sent": self.leg.frames_sent,
                                           "frames_dropped": self.leg.frames_dropped,
                                           "codec": self.leg.params.codec},
                                   "dtmf": "".join(self.stats.dtmf)}
            await media.run(self.leg.close())
        self.records.update_call(self.call_id, fields)
        self.records.add_event(self.call_id, "engine", "call.ended", status=fields["status"],
                               failure=failure_of(self.reason),
                               payload={"disconnect_reason": self.reason})
