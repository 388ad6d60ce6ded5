"""The live session of one outbound SIP call: a queued Call row dialled through its number's SIP
trunk, ringing, answered (or busy, no_answer, failed, canceled with the SIP code kept), mixed
with the agent, recorded, and ended, every step written to the row and its event log."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.calls.session import GREETING_TONE, CallRecords, MediaContext
from engine.media import AGENT_MASKS, CALLER_MASKS, Mixer, Participant, Recorder, Tone
from engine.sip import sdp
from engine.sip.auth import Credentials
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

    @property
    def target(self) -> str:
        return f"sip:{self.to_number}@{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials | None:
        if not self.username:
            return None
        return Credentials(self.username, self.password or "", self.realm)


class OutboundSession:
    """One outbound call from dialling to the final row update."""

    def __init__(self, plan: DialPlan, ua: UserAgent, records: CallRecords,
                 media: MediaContext) -> None:
        self.plan = plan
        self.ua = ua
        self.records = records
        self.media = media
        self.call_id = plan.call_id
        self.leg: RtpLeg | None = None
        self.mixer: Mixer | None = None
        self.recorder: Recorder | None = None
        self.tone = Tone(GREETING_TONE.freqs, on_ms=GREETING_TONE.on_ms,
                         off_ms=GREETING_TONE.off_ms)
        self.sip: OutgoingCall | None = None
        self.answered_at: datetime | None = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.dtmf: list[str] = []
        self._port = 0

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
        offer = sdp.build(media.local_ip, self._port, sdp.supported_payload_types(), DTMF_PT)
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
        self.mixer = Mixer(self.call_id)
        self.mixer.add(Participant("callee", CALLER_MASKS, self.leg.pull, self.leg.push))
        self.mixer.add(Participant("agent", AGENT_MASKS, self.tone.next_frame, None))
        path = self.media.recordings_dir / f"{self.call_id}.wav"
        self.recorder = Recorder(path)
        self.mixer.taps.append(self.recorder.write)
        self.answered_at = utcnow()
        media.call(media.clock.add, self.mixer.tick)
        self.records.update_call(self.call_id, {
            "status": "in_progress", "answered_at": self.answered_at,
            "recording_status": "recording", "recording_path": str(path)})
        self.records.add_event(self.call_id, "engine", "call.answered", status="in_progress",
                               payload={"codec": params.codec})

    def hangup(self, reason: str = "agent_hangup") -> None:
        if self.reason is None:
            self.reason = reason
        if self.sip is not None:
            self.sip.hangup(reason)
            if self.sip.state != "ended":
                return
        self.ended.set()

    def send_dtmf(self, digits: str) -> None:
        """RFC 4733 telephone-events to the callee, one digit after another."""
        leg = self.leg
        if leg is None:
            return
        for index, digit in enumerate(digits):
            self.media.loop.loop.call_later(0.25 * index, leg.send_dtmf, digit)  # type: ignore[union-attr]

    def rtp_idle_s(self, now: float) -> float:
        if self.leg is None or self.sip is None or self.sip.state != "answered":
            return 0.0
        return now - self.leg.last_rx

    async def _finish(self) -> None:
        media = self.media.loop
        ended_at = utcnow()
        if self.mixer is not None:
            await media.call_soon_wait(media.clock.remove, self.mixer.tick)
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

