"""The live session of one outbound SIP call: a queued Call row dialled through its number's SIP
trunk, ringing, answered (or busy, no_answer, failed, canceled with the SIP code kept), talked
through by the call's agent (its speech pipeline, as on an inbound call), recorded, and ended,
every step written to the row and its event log. A supervisor's live commands act on it through
its :class:`~engine.calls.control.CallControl`; hold is a re-INVITE from our side. Blind and
warm transfers (:mod:`engine.calls.transfers`) move the callee to another party: by REFER inside
this dialog where the trunk allows it, otherwise by dialling the destination and bridging it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.calls.agent_leg import AgentLeg, CallInfo
from engine.calls.control import CallControl
from engine.calls.live import open_agent, start_recording
from engine.calls.session import GREETING_TONE, CallRecords, MediaContext, Route
from engine.media import AGENT_MASKS, CALLER_MASKS, Mixer, Participant, Player, Recorder, Tone
from engine.sip import sdp
from engine.sip.auth import Credentials
from engine.sip.reinvite import ReInvite
from engine.sip.rtp_leg import RtpLeg
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

DTMF_PT = sdp.DTMF_PT


@dataclass
class DialPlan:
    """Where and how a queued call is dialled (read from its row, number and trunk)."""

    call_id: str
    organization_id: str
    to_number: str
    from_number: str
    host: str
    port: int
    transport: str = "UDP"
    username: str | None = None
    password: str | None = None
    realm: str | None = None
    caller_id: str | None = None
    ringing_timeout_s: float = 30.0
    agent_id: str | None = None  # the call row's agent: it talks with the callee
    agent_name: str = ""
    first_message: str = ""
    voice: str | None = None
    rate_wpm: int | None = None
    phone_number_id: str = ""
    sip_trunk_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> Route:
        """The call's agent and number, as a route (what control and joins read)."""
        return Route(organization_id=self.organization_id, phone_number_id=self.phone_number_id,
                     number=self.from_number, agent_id=self.agent_id, agent_name=self.agent_name,
                     first_message=self.first_message, voice=self.voice, rate_wpm=self.rate_wpm,
                     sip_trunk_id=self.sip_trunk_id, variables=dict(self.variables))

    @property
    def target(self) -> str:
        return f"sip:{self.to_number}@{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials | None:
        if not self.username:
            return None
        return Credentials(self.username, self.password or "", self.realm)


class OutboundDialog:
    """An answered outbound call's dialog as control sees it: its state, and re-INVITEs from
    our side (RFC 3261 §14.1; one outstanding at a time)."""

    def __init__(self, session: OutboundSession, call: OutgoingCall) -> None:
        self.session = session
        self.call = call
        self.reinvite_out: ReInvite | None = None

    @property
    def state(self) -> str:
        return self.call.state

    def reinvite(self, offer: bytes, on_result: Callable[[int, bytes], None]) -> bool:
        call, records, call_id = self.call, self.session.records, self.session.call_id
        if call.state != "answered" or call.dialog is None or (
                self.reinvite_out is not None and self.reinvite_out.pending):
            return False

        def done(status: int, body: bytes) -> None:
            records.add_event(call_id, "sip", "reinvite_response", code=status)
            on_result(status, body)

        self.reinvite_out = ReInvite(call.ua, call.dialog, offer, done)
        records.add_event(call_id, "sip", "reinvite_sent")
        self.reinvite_out.start()
        return True


class OutboundSession:
    """One outbound call from dialling to the final row update."""

    def __init__(self, plan: DialPlan, ua: UserAgent, records: CallRecords,
                 media: MediaContext) -> None:
        self.plan = plan
        self.route = plan.route
        self.ua = ua
        self.records = records
        self.media = media
        self.call_id = plan.call_id
        self.leg: RtpLeg | None = None
        self.mixer: Mixer | None = None
        self.recorder: Recorder | None = None
        self.agent: AgentLeg | None = None
        self.player = Player()  # a supervisor's words when the agent has no pipeline
        self.tone = Tone(GREETING_TONE.freqs, on_ms=GREETING_TONE.on_ms,
                         off_ms=GREETING_TONE.off_ms)
        self.sip: OutgoingCall | None = None
        self._dialog: OutboundDialog | None = None
        self.answered_at: datetime | None = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.dtmf: list[str] = []
        self.control = CallControl(self)
        self._port = 0

    @property
    def signalling(self) -> OutboundDialog | None:
        return self._dialog

    # what a transfer reads (engine.calls.transfers.TransferableCall): the callee is transferred
    @property
    def organization_id(self) -> str:
        return self.plan.organization_id

    @property
    def trunk_id(self) -> str | None:
        return self.plan.sip_trunk_id

    @property
    def remote_party(self) -> str:
        return self.plan.to_number

    @property
    def sip_leg(self) -> OutgoingCall | None:
        return self.sip

    def _event(self, event_type: str, status: int | None, detail: str | None) -> None:
        self.records.add_event(self.call_id, "sip", event_type, code=status, reason=detail)
        if event_type == "response_received" and status in (180, 183):
            self.records.update_call(self.call_id, {"status": "ringing"})

    def _ended(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    def _dtmf(self, digit: str) -> None:
        self.dtmf.append(digit)
        if self.agent is not None:
            self.agent.dtmf(digit)
        self.records.add_event(self.call_id, "engine", "dtmf_received", payload={"digit": digit})

    async def run(self) -> None:
        try:
            await self._dial()
            await self.ended.wait()
        except Exception:
            log.exception("outbound call %s failed", self.call_id)
            self.reason = self.reason or "error"
            if self.sip is not None:
                self.sip.hangup("error")
        finally:
            await self._finish()

    async def _dial(self) -> None:
        plan, media = self.plan, self.media
        allocator = media.allocator
        if allocator is not None:
            self._port, _ = await media.loop.run(allocator.allocate())
        offer = sdp.build(media.local_ip, self._port, sdp.supported_payload_types(), DTMF_PT,
                          session_id=self.control.sdp_id)
        transport = plan.transport.upper()
        caller = plan.caller_id or plan.from_number or "switchboard"
        call = OutgoingCall(
            self.ua, plan.target, Peer(transport, plan.host, plan.port), offer,
            from_uri=f"sip:{caller.replace(' ', '')}@{self.ua.endpoint.host}",
            credentials=plan.credentials, ringing_timeout_s=plan.ringing_timeout_s)
        self.sip = call
        call.on_event = self._event
        call.on_ended = self._ended
        call.on_dtmf = self._dtmf
        call.on_reoffer = self.control.answer_reoffer
        answered = asyncio.Event()
        call.on_answered = lambda _body: answered.set()
        self.records.update_call(self.call_id, {"status": "ringing",
                                                "metadata_": {"sip_call_id": call.call_id}})
        call.start()
        ended = asyncio.ensure_future(self.ended.wait())
        got = asyncio.ensure_future(answered.wait())
        await asyncio.wait({ended, got}, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        got.cancel()
        if call.state == "answered":
            await self._connect(call)

    async def _connect(self, call: OutgoingCall) -> None:
        media = self.media.loop
        params = sdp.negotiate(sdp.parse(call.answer))
        self.leg = await media.run(RtpLeg.open(self.media.local_ip, params, self.media.allocator,
                                               media.clock, self.media.batch, port=self._port))
        self._port = 0  # the leg gives it back
        loop = asyncio.get_running_loop()
        self.leg.on_dtmf = lambda digit: loop.call_soon_threadsafe(self._dtmf, digit)
        if call.state == "ended":
            return
        self._dialog = OutboundDialog(self, call)
        self.mixer = Mixer(self.call_id)
        self.mixer.add(Participant("callee", CALLER_MASKS, self.leg.pull, self.leg.push))
        self.agent = await self._open_agent()
        if call.state == "ended":
            return
        self.mixer.add(self.agent.participant if self.agent is not None and self.agent.participant
                       else Participant("agent", AGENT_MASKS, self._agent_frame, None))
        self.recorder = start_recording(self.mixer, self.media.recordings_dir, self.call_id)
        self.answered_at = utcnow()
        media.call(media.clock.add, self.mixer.tick)
        self.records.update_call(self.call_id, {
            "status": "in_progress", "answered_at": self.answered_at,
            "recording_status": "recording", "recording_path": str(self.recorder.path)})
        self.records.add_event(self.call_id, "engine", "call.answered", status="in_progress",
                               payload={"agent_id": self.route.agent_id,
                                        "agent": self.route.agent_name, "codec": params.codec})
        if self.agent is not None:
            await self.agent.start()

    async def _open_agent(self) -> AgentLeg | None:
        """The agent's speech pipeline, or None (no agent or no pipeline: a tone answers)."""
        route = self.route
        if self.media.agents is None or not self.media.speak or route.agent_id is None:
            return None
        info = CallInfo(self.call_id, route.organization_id, route.agent_id,
                        self.plan.from_number, self.plan.to_number, "outbound",
                        route.variables)
        return await open_agent(self.media.agents, info, self.records, self.hangup)

    def _agent_frame(self) -> bytes | None:
        frame = self.player.next_frame()
        return frame if frame is not None else self.tone.next_frame()

    def hangup(self, reason: str = "agent_hangup") -> None:
        if self.reason is None:
            self.reason = reason
        if self.sip is not None:
            self.sip.hangup(reason)
            if self.sip.state != "ended":
                return
        self.ended.set()

    def rtp_idle_s(self, now: float) -> float:
        if self.leg is None or self.sip is None or self.sip.state != "answered" \
                or self.control.holding:
            return 0.0
        return now - self.leg.last_rx

    async def _finish(self) -> None:
        media = self.media.loop
        ended_at = utcnow()
        if self.mixer is not None:
            await media.call_soon_wait(media.clock.remove, self.mixer.tick)
        self.control.cancel_timers()
        if self.agent is not None:
            await self.agent.close()
        call = self.sip
        fields: dict[str, Any] = {"ended_at": ended_at}
        if self.answered_at is not None:
            fields["status"] = "completed"
            fields["duration_seconds"] = round((ended_at - self.answered_at).total_seconds())
            fields["disconnect_reason"] = self.reason
        else:
            outcome = call.outcome if call is not None and call.outcome else "failed"
            fields["status"] = outcome if outcome != "answered" else "failed"
            fields["disconnect_reason"] = self.reason if self.reason != outcome else outcome
        metadata: dict[str, Any] = {}
        if call is not None:
            metadata["sip_call_id"] = call.call_id
            if call.status is not None:
                metadata["sip_status_code"] = call.status
                metadata["sip_status"] = call.reason
                if self.answered_at is None:
                    metadata["error_code"] = call.status
                    metadata["error_message"] = call.reason
        if self.recorder is not None:
            duration = await self.recorder.close()
            fields["recording_status"] = "failed" if self.recorder.failed else "completed"
            fields["recording_duration_ms"] = duration
        if self.leg is not None:
            metadata["rtp"] = {"frames_received": self.leg.frames_received,
                               "frames_sent": self.leg.frames_sent,
                               "codec": self.leg.params.codec}
            metadata["dtmf"] = "".join(self.dtmf)
            await media.run(self.leg.close())
        elif self._port and self.media.allocator is not None:
            await media.run(self.media.allocator.release(self._port))
        fields["metadata_"] = metadata
        self.records.update_call(self.call_id, fields)
        self.records.add_event(self.call_id, "engine", "call.ended", status=fields["status"],
                               code=call.status if call is not None else None,
                               failure=None if fields["status"] == "completed" else
                               fields["disconnect_reason"],
                               payload={"disconnect_reason": fields["disconnect_reason"]})
