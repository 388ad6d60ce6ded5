"""The live session of one web call: a WebRTC peer (a browser or the console's microphone)
calling an agent directly, with the same mixer, recorder and agent leg as a SIP call.

The peer's offer is answered before the session runs (the API hands the answer back at once);
the call is ``ringing`` until ICE and DTLS connect, ``in_progress`` while it lasts, and
``completed`` when the peer closes its connection or the agent (or a supervisor) hangs up.
A supervisor's live commands act on it through its :class:`~engine.calls.control.CallControl`
(hold is music and a paused agent, with no renegotiation; DTMF has no channel here). With SIP
on, blind and warm transfers dial the destination and bridge it (there is no dialog to REFER).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.calls.agent_leg import AgentLeg, CallInfo
from engine.calls.control import CallControl
from engine.calls.live import end_fields, failure_of, open_agent, start_recording
from engine.calls.session import GREETING_TONE, CallRecords, MediaContext, Route
from engine.media import AGENT_MASKS, CALLER_MASKS, Mixer, Participant, Player, Recorder, Tone
from engine.store.timeutil import utcnow
from engine.webrtc import PeerLeg

log = logging.getLogger(__name__)

WEB_CALLER = "webrtc"  # the from_number of a web call
# A peer that has not connected this long after its answer never will (ICE on host candidates
# checks every pair within a second or two; consent needs a few more).
CONNECT_TIMEOUT_S = 15.0


class WebCallSession:
    """One web call from the peer's offer to the final row update."""

    def __init__(self, route: Route, records: CallRecords, media: MediaContext, *,
                 variables: Mapping[str, Any] | None = None, actor: str | None = None) -> None:
        self.route = route
        self.records = records
        self.media = media
        self.variables = dict(variables or {})
        self.actor = actor
        self.leg: PeerLeg | None = None
        self.mixer: Mixer | None = None
        self.recorder: Recorder | None = None
        self.agent: AgentLeg | None = None
        self.player = Player()  # a supervisor's words when the agent has no pipeline
        self.tone = Tone(GREETING_TONE.freqs, on_ms=GREETING_TONE.on_ms, off_ms=GREETING_TONE.off_ms)
        self.initiated_at: datetime = utcnow()
        self.answered_at: datetime | None = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.control = CallControl(self)
        self.call_id = records.create_call({
            "organization_id": route.organization_id, "type": "web_call", "transport": "webrtc",
            "direction": "inbound", "from_number": WEB_CALLER, "to_number": "",
            "agent_id": route.agent_id, "status": "ringing", "initiated_at": self.initiated_at,
            "dynamic_variables": self.variables, "metadata_": {"transport": "webrtc"},
        })
        self.records.add_event(self.call_id, "webrtc", "offer_received", status="ringing",
                               actor=actor, payload={"agent_id": route.agent_id})

    async def answer(self, offer: str) -> str:
        """Answers the peer's offer (the caller's leg); raises OfferError for a bad offer."""
        leg = PeerLeg("caller", CALLER_MASKS)
        leg.on_ended = lambda _: self._peer_ended()
        try:
            answer = await leg.accept(offer)
        except Exception as exc:
            self.reason = "error"
            self.records.update_call(self.call_id, {"status": "failed", "ended_at": utcnow(),
                                                    "disconnect_reason": "error",
                                                    "metadata_": {"error_message": str(exc)}})
            self.records.add_event(self.call_id, "engine", "call.ended", status="failed",
                                   failure="error", payload={"error": str(exc)})
            raise
        self.leg = leg
        return answer

    @property
    def signalling(self) -> None:
        """A web call has no SIP dialog."""
        return None

    # what a transfer reads (engine.calls.transfers.TransferableCall): dial and bridge only
    @property
    def organization_id(self) -> str:
        return self.route.organization_id

    @property
    def trunk_id(self) -> str | None:
        return self.route.sip_trunk_id

    @property
    def remote_party(self) -> str:
        """A browser has no number."""
        return ""

    @property
    def sip_leg(self) -> None:
        """No SIP dialog: no REFER."""
        return None

    def _peer_ended(self) -> None:
        if self.reason is None:
            self.reason = "caller_hangup"
        self.ended.set()

    def hangup(self, reason: str = "agent_hangup") -> None:
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    def rtp_idle_s(self, now: float | None = None) -> float:
        """Media timeouts are the peer connection's own (ICE consent): never idle here."""
        return 0.0

    async def run(self) -> None:
        """Waits for the peer to connect, runs the call until either side ends it, finishes."""
        try:
            if self.leg is not None and await self._connected():
                await self._start()
                await self.ended.wait()
        except Exception:
            log.exception("web call %s failed", self.call_id)
            self.reason = self.reason or "error"
        finally:
            await self._finish()

    async def _connected(self) -> bool:
        assert self.leg is not None
        waits = [asyncio.ensure_future(self.ended.wait()),
                 asyncio.ensure_future(self._wait_state("connected"))]
        try:
            await asyncio.wait(waits, timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        if self.leg.state == "connected" and not self.ended.is_set():
            return True
        if self.reason is None:
            self.reason = "caller_hangup" if self.ended.is_set() else "connect_timeout"
        return False

    async def _wait_state(self, state: str) -> None:
        assert self.leg is not None
        while self.leg.state != state:  # noqa: ASYNC110 - aiortc signals state by callback only
            await asyncio.sleep(0.01)

    async def _start(self) -> None:
        assert self.leg is not None
        media = self.media.loop
        self.mixer = Mixer(self.call_id)
        self.mixer.add(self.leg.participant)
        self.agent = await self._open_agent()
        self.mixer.add(self.agent.participant if self.agent is not None and self.agent.participant
                       else Participant("agent", AGENT_MASKS, self._agent_frame, None))
        self.recorder = start_recording(self.mixer, self.media.recordings_dir, self.call_id)
        self.answered_at = utcnow()
        media.call(media.clock.add, self.mixer.tick)
        self.records.update_call(self.call_id, {
            "status": "in_progress", "answered_at": self.answered_at,
            "recording_status": "recording", "recording_path": str(self.recorder.path),
        })
        self.records.add_event(self.call_id, "engine", "call.answered", status="in_progress",
                               payload={"agent_id": self.route.agent_id,
                                        "agent": self.route.agent_name, "codec": "opus",
                                        "connected_ms": self.leg.stats()["connected_ms"]})
        if self.agent is not None:
            await self.agent.start()

    async def _open_agent(self) -> AgentLeg | None:
        if self.media.agents is None or not self.media.speak or self.route.agent_id is None:
            return None
        info = CallInfo(self.call_id, self.route.organization_id, self.route.agent_id,
                        WEB_CALLER, "", "inbound", self.variables, self.route.overrides)
        return await open_agent(self.media.agents, info, self.records, self.hangup)

    def _agent_frame(self) -> bytes | None:
        frame = self.player.next_frame()
        return frame if frame is not None else self.tone.next_frame()

    async def _finish(self) -> None:
        ended_at = utcnow()
        media = self.media.loop
        if self.mixer is not None:
            await media.call_soon_wait(media.clock.remove, self.mixer.tick)
        self.control.cancel_timers()
        if self.agent is not None:
            await self.agent.close()
        fields = await end_fields(ended_at, self.answered_at, self.reason, self.recorder)
        if self.leg is not None:
            with contextlib.suppress(Exception):
                await self.leg.close()
            fields["metadata_"] = {"transport": "webrtc", "webrtc": self.leg.stats()}
        self.records.update_call(self.call_id, fields)
        self.records.add_event(self.call_id, "engine", "call.ended", status=fields["status"],
                               failure=failure_of(self.reason),
                               payload={"disconnect_reason": self.reason})
