"""Live control of a call in progress (DESIGN §5.4): a supervisor's say, inject_context,
end_call, hold / resume, mute_agent / unmute_agent and dtmf, acting on any live session with the
attributes of :class:`ControlledCall` (inbound and outbound SIP calls, web calls), each written to
the call's events as an audit trail.

Hold is music on hold that only the caller hears (:data:`~engine.media.MUSIC_MASKS`) and the
agent's pipeline paused; on a SIP call it is also a re-INVITE to the other party with a=sendonly
(resume: a=sendrecv). A re-INVITE from the other party that holds us (a=sendonly, a=inactive or
c=0.0.0.0) is answered with the matching direction, and our outgoing media and the agent pause
until it resumes. DTMF goes out as RFC 4733 events on SIP calls; a web call has no such channel.

Everything here runs on the signalling loop; mixer changes and RTP sends hop to the media loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from engine.calls.commands import (
    AnyCommand,
    Dtmf,
    EndCall,
    Hold,
    InjectContext,
    MuteAgent,
    Resume,
    Say,
    UnmuteAgent,
    content_of,
)
from engine.calls.errors import CallError, not_live, unsupported
from engine.calls.greeting import SynthesisError, synthesize_async
from engine.media import MUSIC_MASKS, HoldMusic, Participant
from engine.media.mixer import AGENT
from engine.sip import sdp
from engine.store import vocabulary as words

if TYPE_CHECKING:
    from engine.calls.agent_leg import AgentLeg
    from engine.calls.legs.base import Signalling
    from engine.calls.media_context import MediaContext
    from engine.calls.records import CallRecords
    from engine.calls.routing import Route
    from engine.media import Mixer, Player
    from engine.media.loop import MediaLoop
    from engine.sip.rtp_leg import RtpLeg

log = logging.getLogger(__name__)

SUPERVISOR_HANGUP = words.SUPERVISOR_HANGUP
WHISPERED = "whispered_to_human"  # inject_context's result while a human has the call
WHISPER_TO = "human_agent"
REINVITE_WAIT_S = 8.0  # a hold answers once the caller's phone answered the re-INVITE, or this
DTMF_DURATION_MS = 160  # RFC 4733 event length; common phones send 100-200 ms
DTMF_GAP_S = 0.25  # from one digit's start to the next (ITU-T Q.24 asks at least 40 ms pause)
# After an end_call message the BYE follows its playout; should the speech never finish (a
# failed synthesis), the call ends this long after the words' reading time anyway.
END_CALL_GRACE_S = 5.0
READING_S_PER_CHAR = 0.09  # espeak-ng at 170 wpm speaks about 11 characters a second
HOLD_DIRECTION = {"sendrecv": "sendonly", "recvonly": "inactive"}  # ours, while we hold


class ControlledCall(Protocol):
    """What :class:`CallControl` needs of a live call
    (:class:`~engine.calls.live_call.LiveCall`). ``signalling`` and ``rtp`` are None for a call
    without SIP (a web call)."""

    call_id: str
    route: Route
    records: CallRecords
    media: MediaContext
    mixer: Mixer | None
    agent: AgentLeg | None
    player: Player
    answered_at: datetime | None
    reason: str | None
    ended: asyncio.Event

    @property
    def signalling(self) -> Signalling | None: ...

    @property
    def rtp(self) -> RtpLeg | None: ...

    def hangup(self, reason: str = ...) -> None: ...


@dataclass
class Outcome:
    """What a command did: ``result`` (e.g. ``ending``, ``already_ended``) and details."""

    result: str
    details: dict[str, Any]

    def body(self, call_id: str, kind: str, status: str) -> dict[str, Any]:
        return {"call_id": call_id, "type": kind, "result": self.result, "status": status,
                **self.details}


class CallControl:
    """The supervisor's handle on one live call session."""

    def __init__(self, session: ControlledCall) -> None:
        self.session = session
        self.sdp_id = int(time.time())  # o= session id of our SDP; re-offers bump sdp_version
        self.sdp_version = 1
        self.on_hold = False  # we hold the caller
        self.held_by_peer = False  # the caller holds us
        self.agent_muted = False
        self.ending = False
        self.transferring = False  # a transfer's new leg is ringing (engine.calls.transfers)
        self.transferred = False  # the caller talks to the transfer's recipient; the agent left
        # set by the join code (engine.calls.joins): a supervisor took the call from the AI, and
        # the joined humans with a console screen (takeover and agent roles) by participant id
        self.taken_over = False
        self.human_screens: set[str] = set()
        self._music: Participant | None = None
        self._lock = asyncio.Lock()
        self._deadline: asyncio.TimerHandle | None = None

    # -- state --------------------------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """Either side holds the call (the caller's RTP may stop: no RTP timeout then)."""
        return self.on_hold or self.held_by_peer

    @property
    def status(self) -> str:
        session = self.session
        signalling = session.signalling
        if session.ended.is_set() or (signalling is not None and signalling.state == "ended"):
            return "ended"
        if self.ending or session.reason is not None:
            return "ending"
        if session.answered_at is None:
            return "ringing"
        if self.transferring:
            return "transferring"
        return "on_hold" if self.on_hold else "in_progress"

    # -- commands -----------------------------------------------------------------------------

    async def execute(self, command: AnyCommand, actor: str) -> dict[str, Any]:
        """Runs one command and records it (provider ``supervisor``) in the call's events."""
        kind = command.type
        status = self.status
        if isinstance(command, EndCall):
            if status in ("ended", "ending"):
                outcome = Outcome("already_ended", {})
            else:
                outcome = await self._end_call(command)
        elif status in ("ended", "ending"):
            raise not_live(self.session.call_id, status)
        elif status == "ringing":
            raise CallError("CALL_NOT_ANSWERED",
                               f"call {self.session.call_id} is not answered yet")
        elif status == "transferring":
            raise CallError("TRANSFER_IN_PROGRESS",
                               f"call {self.session.call_id} is being transferred")
        elif self.transferred and not isinstance(command, Dtmf | Hold | Resume | InjectContext):
            raise CallError("CALL_TRANSFERRED",
                               f"call {self.session.call_id} was transferred; the agent left it")
        else:
            async with self._lock:
                outcome = await self._run(command, actor)
        self._audit(command, actor, outcome)
        return outcome.body(self.session.call_id, kind, self.status)

    async def _run(self, command: AnyCommand, actor: str) -> Outcome:
        if isinstance(command, Say):
            return await self._say(command)
        if isinstance(command, InjectContext):
            return self._inject(command, actor)
        if isinstance(command, Hold):
            return await self._hold()
        if isinstance(command, Resume):
            return await self._resume()
        if isinstance(command, MuteAgent | UnmuteAgent):
            return self._mute(isinstance(command, MuteAgent))
        assert isinstance(command, Dtmf)
        return self._dtmf(command.digits)

    def _audit(self, command: AnyCommand, actor: str, outcome: Outcome) -> None:
        fields = command.model_dump(exclude={"type", "content", "message", "digits"})
        self.session.records.add_event(
            self.session.call_id, "supervisor", f"control.{command.type}", actor=actor,
            status=self.status,
            payload={"action": command.type, "content": content_of(command), **fields,
                     "result": outcome.result, **outcome.details})

    def pipeline_agent(self) -> AgentLeg | None:
        """The call's agent when it has a speech pipeline (else None)."""
        agent = self.session.agent
        return agent if agent is not None and agent.pipeline is not None else None

    async def _say(self, command: Say) -> Outcome:
        if self.on_hold:
            raise CallError("CALL_ON_HOLD", "the caller is on hold; resume first")
        agent = self.pipeline_agent()
        if agent is not None:
            queued = not command.interrupt and agent.speaking
            agent.say(command.content, interrupt=command.interrupt,
                      interruptible=command.interruptible, end_after=command.end_after)
            if command.end_after:
                self.end_soon(command.content)
            return Outcome("queued" if queued else "speaking", {})
        await self._play(command.content, interrupt=command.interrupt)
        if command.end_after:
            self.end_soon(command.content)
        return Outcome("speaking", {})

    async def _play(self, text: str, *, interrupt: bool) -> None:
        """Speech without a pipeline (the greeting player answers the call)."""
        session = self.session
        try:
            pcm = await synthesize_async(text, session.route.voice, session.route.rate_wpm)
        except SynthesisError as exc:
            raise CallError("AGENT_UNAVAILABLE", f"no speech synthesis: {exc}") from exc
        if interrupt:
            session.player.clear()
        session.player.enqueue(pcm)

    @property
    def human_talking(self) -> bool:
        """A human has the call instead of the AI agent (taken over, or transferred)."""
        return self.taken_over or self.transferred

    def _inject(self, command: InjectContext, actor: str) -> Outcome:
        if self.human_talking:
            return self._whisper_to_human(command, actor)
        if self.on_hold and command.trigger_response:
            raise CallError("CALL_ON_HOLD", "the caller is on hold; resume first")
        agent = self.pipeline_agent()
        if agent is None:
            raise CallError("AGENT_UNAVAILABLE", "this call's agent has no brain to instruct")
        agent.inject_context(command.content, trigger_response=command.trigger_response)
        return Outcome("responding" if command.trigger_response else "injected", {})

    def _whisper_to_human(self, command: InjectContext, actor: str) -> Outcome:
        """The text goes to the human agents' screens (the API publishes ``call.whisper``)."""
        session = self.session
        if not self.human_screens:
            raise CallError("NO_HUMAN_SCREEN",
                               f"call {session.call_id} was transferred to a phone, which shows "
                               "no text; whisper by voice instead: join the call with role "
                               "whisper (POST /v1/calls/{id}/join), heard by the human agent only")
        session.records.add_event(session.call_id, "supervisor", "supervisor.whisper",
                                  actor=actor, payload={"content": command.content,
                                                        "to": WHISPER_TO})
        details: dict[str, Any] = {"to": WHISPER_TO}
        if command.trigger_response:
            details["trigger_response_ignored"] = True
            details["note"] = "trigger_response is ignored: a human agent has the call"
        return Outcome(WHISPERED, details)

    async def _end_call(self, command: EndCall) -> Outcome:
        self.ending = True
        session = self.session
        message = content_of(command)
        if message is None or session.answered_at is None or self.transferred:
            session.hangup(SUPERVISOR_HANGUP)  # after a transfer no agent is left to say it
            return Outcome("ending", {})
        if self.on_hold:
            self._unhold_media()
        agent = self.pipeline_agent()
        if agent is not None:
            if self.agent_muted:
                self.agent_muted = False
                self.apply_mute()
            agent.say(message, interrupt=True, interruptible=False, end_after=True)
        else:
            try:
                await self._play(message, interrupt=True)
            except CallError:
                session.hangup(SUPERVISOR_HANGUP)
                return Outcome("ending", {})
        self.end_soon(message)
        return Outcome("ending", {})

    def end_soon(self, text: str) -> None:
        """The BYE after spoken words, whatever happens to their playout."""
        if self._deadline is not None:
            return
        delay = len(text) * READING_S_PER_CHAR + END_CALL_GRACE_S
        if self.pipeline_agent() is None:
            delay = len(text) * READING_S_PER_CHAR + 1.0  # the player gives no end signal
        self._deadline = asyncio.get_running_loop().call_later(
            delay, self.session.hangup, SUPERVISOR_HANGUP)

    def cancel_timers(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    # -- hold ---------------------------------------------------------------------------------

    async def _hold(self) -> Outcome:
        if self.on_hold:
            return Outcome("already_on_hold", {})
        session = self.session
        self.on_hold = True
        music = Participant("hold_music", MUSIC_MASKS, HoldMusic().next_frame, None)
        self._music = music
        if session.mixer is not None:
            session.media.loop.call(session.mixer.add, music)
        self.apply_mute()
        agent = self.pipeline_agent()
        if agent is not None:
            agent.pause()
        session.records.update_call(session.call_id, {"status": "on_hold"})
        status = await self._reinvite("sendonly")
        return Outcome("on_hold", {"reinvite_status": status})

    async def _resume(self) -> Outcome:
        if not self.on_hold:
            return Outcome("not_on_hold", {})
        self._unhold_media()
        status = await self._reinvite("sendrecv")
        self.session.records.update_call(self.session.call_id, {"status": "in_progress"})
        return Outcome("resumed", {"reinvite_status": status})

    def _unhold_media(self) -> None:
        session = self.session
        self.on_hold = False
        music, self._music = self._music, None
        if music is not None and session.mixer is not None:
            session.media.loop.call(session.mixer.remove, music)
        self.apply_mute()
        agent = self.pipeline_agent()
        if agent is not None and not self.held_by_peer and not self.transferred:
            agent.resume()  # after a transfer the agent has left: it stays paused

    def _rtp_leg(self) -> RtpLeg | None:
        """The call's RTP leg (a SIP call's media), or None."""
        session = self.session
        return session.rtp if session.signalling is not None else None

    def _local_sdp(self, direction: str) -> bytes:
        leg = self._rtp_leg()
        assert leg is not None
        self.sdp_version += 1
        return sdp.build(self.session.media.local_ip, leg.local_port, [leg.params.payload_type],
                         leg.params.dtmf_payload_type, direction, self.sdp_id, self.sdp_version)

    async def _reinvite(self, direction: str) -> int | None:
        """Offers ``direction`` to the caller; the final status, or None when none came in time
        (or no re-INVITE could be sent)."""
        signalling = self.session.signalling
        leg = self._rtp_leg()
        if leg is None or signalling is None:
            return None  # a web call: the music and the paused agent are the whole hold
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[tuple[int, bytes]] = loop.create_future()

        def done(status: int, body: bytes) -> None:
            if not answered.done():
                answered.set_result((status, body))

        if not signalling.reinvite(self._local_sdp(direction), done):
            return None
        if self.held_by_peer:  # the caller does not want our media meanwhile
            leg.set_direction("inactive" if direction == "sendonly" else "recvonly")
        else:
            leg.set_direction(direction)
        try:
            status, _body = await asyncio.wait_for(answered, REINVITE_WAIT_S)
        except TimeoutError:
            return None
        return status

    def answer_reoffer(self, body: bytes) -> bytes | None:
        """The SDP answer to the caller's re-INVITE (None: 488), pausing or resuming our media
        when it holds or resumes us."""
        session = self.session
        leg = self._rtp_leg()
        if leg is None:
            return None
        try:
            offer = sdp.parse(body)
            sdp.negotiate(offer)
        except sdp.SdpError as exc:
            log.info("call %s: re-INVITE not accepted: %s", session.call_id, exc)
            return None
        audio = offer.audio
        assert audio is not None
        if str(leg.params.payload_type) not in audio.formats:
            log.info("call %s: re-INVITE changes the codec; refused", session.call_id)
            return None
        conn = audio.connection or offer.connection
        zero = conn is not None and conn.address == "0.0.0.0"  # RFC 2543 hold
        theirs = "sendonly" if zero and audio.direction == "sendrecv" else audio.direction
        held = theirs in ("sendonly", "inactive")
        ours = sdp.ANSWER_DIRECTION.get(theirs, "sendrecv")
        if self.on_hold:
            ours = HOLD_DIRECTION.get(ours, ours)
        leg.set_direction(ours)
        if conn is not None and not zero and (conn.address, audio.port) != leg.params.remote_addr:
            session.media.loop.call(leg.update_remote, (conn.address, audio.port))
        if held != self.held_by_peer:
            self.held_by_peer = held
            session.records.add_event(session.call_id, "sip", "hold_received" if held
                                      else "resume_received", payload={"direction": theirs})
            agent = self.pipeline_agent()
            if agent is not None:
                if held:
                    agent.pause()
                elif not self.on_hold:
                    agent.resume()
        self.sdp_version += 1
        return sdp.build(session.media.local_ip, leg.local_port, [leg.params.payload_type],
                         leg.params.dtmf_payload_type, ours, self.sdp_id, self.sdp_version)

    # -- mute and keys ------------------------------------------------------------------------

    def agent_participant(self) -> Participant | None:
        session = self.session
        if session.agent is not None and session.agent.participant is not None:
            return session.agent.participant
        mixer = session.mixer
        if mixer is None:
            return None
        return next((p for p in list(mixer.participants) if p.masks.role == AGENT), None)

    def apply_mute(self) -> None:
        participant = self.agent_participant()
        if participant is not None:
            participant.muted = self.agent_muted or self.on_hold

    def _mute(self, mute: bool) -> Outcome:
        if mute == self.agent_muted:
            return Outcome("already_muted" if mute else "not_muted", {})
        self.agent_muted = mute
        self.apply_mute()
        return Outcome("muted" if mute else "unmuted", {})

    def _dtmf(self, digits: str) -> Outcome:
        if self.session.signalling is None:
            raise unsupported("DTMF needs a SIP call: a web call's WebRTC peer has no "
                              "telephone-event (RFC 4733) channel")
        leg = self._rtp_leg()
        if leg is None or leg.params.dtmf_payload_type is None:
            raise CallError("DTMF_UNAVAILABLE",
                               "the other phone did not offer telephone-event (RFC 4733)")
        send_dtmf(self.session.media.loop, leg, digits)
        return Outcome("sent", {"digits": digits})


def send_dtmf(media: MediaLoop, leg: RtpLeg, digits: str) -> None:
    """RFC 4733 events for ``digits`` on ``leg``, :data:`DTMF_GAP_S` apart, sent from the media
    loop (``media`` is the :class:`~engine.media.loop.MediaLoop`)."""

    def schedule() -> None:
        loop = asyncio.get_running_loop()
        for index, digit in enumerate(digits):
            loop.call_later(DTMF_GAP_S * index, leg.send_dtmf, digit, DTMF_DURATION_MS)

    media.call(schedule)


__all__ = [
    "SUPERVISOR_HANGUP",
    "WHISPERED",
    "WHISPER_TO",
    "CallControl",
    "ControlledCall",
    "Outcome",
    "send_dtmf",
]
