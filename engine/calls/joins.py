"""People joining live calls over WebRTC.

A join adds a :class:`~engine.webrtc.PeerLeg` to the call's mixer with the masks of its role
(DESIGN §5): ``listen`` hears everyone and is heard by nobody, ``whisper`` is heard by the human
agent only, ``barge`` by everyone, ``agent`` is a human agent (a transferred call), and
``takeover`` is a human agent in place of the AI: the AI's participant is muted and its
pipeline paused until the joiner leaves, when the AI listens again (without a new greeting).

Each join and leave is a call event (provider ``webrtc``, the actor who asked) and a bus event
(``call.participant_joined`` / ``call.participant_left``). A joiner leaves by request, when its
peer connection closes or fails, or when the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.calls.agent_leg import AGENT_PARTICIPANT
from engine.calls.errors import CallError
from engine.events import CallParticipantJoined, CallParticipantLeft, Event, EventBus
from engine.media import BARGE_MASKS, HUMAN_MASKS, LISTEN_MASKS, WHISPER_MASKS, Masks, Participant
from engine.store.timeutil import iso, utcnow
from engine.store.types import new_id

if TYPE_CHECKING:
    from engine.calls.live_call import LiveCall
    from engine.webrtc import PeerLeg

log = logging.getLogger(__name__)

ROLES: dict[str, Masks] = {
    "listen": LISTEN_MASKS,
    "whisper": WHISPER_MASKS,
    "barge": BARGE_MASKS,
    "takeover": HUMAN_MASKS,
    "agent": HUMAN_MASKS,
}
TAKEOVER = "takeover"
SCREEN_ROLES = frozenset({TAKEOVER, "agent"})  # humans at a console, who see whispered text


@dataclass(eq=False)
class Joined:
    """One joined peer."""

    id: str
    call_id: str
    role: str
    actor: str | None
    leg: PeerLeg
    joined_at: Any = field(default_factory=utcnow)

    def describe(self) -> dict[str, Any]:
        return {"participant_id": self.id, "call_id": self.call_id, "role": self.role,
                "actor": self.actor, "joined_at": iso(self.joined_at),
                "state": self.leg.state, **self.leg.stats()}


class LiveJoins:
    """The joined peers of every live call."""

    def __init__(self, bus: EventBus | None) -> None:
        self.bus = bus
        self.joined: dict[str, dict[str, Joined]] = {}  # call id -> participant id -> peer
        self._taken_over: dict[str, str] = {}  # call id -> participant id of the takeover
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def participants(self, call_id: str) -> list[dict[str, Any]]:
        return [j.describe() for j in self.joined.get(call_id, {}).values()]

    def is_joined(self, call_id: str, pid: str) -> bool:
        return pid in self.joined.get(call_id, {})

    # -- joining -------------------------------------------------------------------------------

    async def join(self, session: LiveCall, offer: str, role: str,
                   actor: str | None) -> tuple[str, str]:
        """Answers ``offer`` and joins the call as ``role``: returns (answer SDP, participant id).
        Raises OfferError for an offer it cannot answer, CallError when the call cannot take it."""
        from engine.webrtc import PeerLeg  # aiortc loads with the first WebRTC peer

        masks = ROLES[role]
        call_id = session.call_id
        mixer = session.mixer
        if session.reason is not None or session.ended.is_set():
            raise CallError("CALL_NOT_LIVE", f"call {call_id} has ended")
        if mixer is None:
            raise CallError("CALL_NOT_LIVE", f"call {call_id} is not answered yet")
        if role == TAKEOVER and call_id in self._taken_over:
            raise CallError("CONFLICT", f"call {call_id} is already taken over")
        pid = new_id()
        leg = PeerLeg(f"{role}:{pid[:8]}", masks)
        answer = await leg.accept(offer)
        if session.ended.is_set():
            await leg.close()
            raise CallError("CALL_NOT_LIVE", f"call {call_id} has ended")
        joined = Joined(pid, call_id, role, actor, leg)
        self.joined.setdefault(call_id, {})[pid] = joined
        def closed(_leg: PeerLeg) -> None:
            self._spawn(self.leave(session, pid, None, reason="peer_closed"))

        leg.on_ended = closed
        media = session.media.loop
        if role == TAKEOVER:
            self._taken_over[call_id] = pid
            await self._pause_agent(session, True)
        _mark_screen(session, pid, role, joined=True)
        await media.call_soon_wait(mixer.add, leg.participant)
        if call_id not in self._watchers:
            self._watchers[call_id] = self._spawn(self._watch(session))
        payload = {"participant_id": pid, "role": role}
        session.records.add_event(call_id, "webrtc", "participant.joined", actor=actor,
                                  payload=payload)
        if role == TAKEOVER:
            session.records.add_event(call_id, "webrtc", "agent.taken_over", actor=actor,
                                      payload=payload)
        self._emit(CallParticipantJoined(organization_id=session.organization_id, call_id=call_id,
                                         participant_id=pid, role=role, actor=actor))
        return answer, pid

    async def leave(self, session: LiveCall, pid: str, actor: str | None, *,
                    reason: str = "left") -> bool:
        """Takes a joined peer out of the call (idempotent); False when it is not joined."""
        call_id = session.call_id
        joined = self.joined.get(call_id, {}).pop(pid, None)
        if joined is None:
            return False
        if not self.joined.get(call_id):
            self.joined.pop(call_id, None)
        mixer = session.mixer
        media = session.media.loop
        if mixer is not None and media.loop is not None:
            await media.call_soon_wait(mixer.remove, joined.leg.participant)
        handed_back = self._taken_over.get(call_id) == pid
        _mark_screen(session, pid, joined.role, joined=False)
        if handed_back:
            del self._taken_over[call_id]
            if reason != "call_ended":
                await self._pause_agent(session, False)
        await joined.leg.close()
        payload = {"participant_id": pid, "role": joined.role, "reason": reason,
                   **joined.leg.stats()}
        session.records.add_event(call_id, "webrtc", "participant.left", actor=actor or joined.actor,
                                  payload=payload)
        if handed_back and reason != "call_ended":
            session.records.add_event(call_id, "webrtc", "agent.handed_back",
                                      actor=actor or joined.actor, payload={"participant_id": pid})
        self._emit(CallParticipantLeft.from_wire({
            "type": CallParticipantLeft.type, "organization_id": session.organization_id,
            "call_id": call_id, "data": {**payload, "actor": actor or joined.actor}}))
        return True

    async def _pause_agent(self, session: LiveCall, paused: bool) -> None:
        """Takeover: mutes the AI agent's voice and pauses its pipeline (or the reverse)."""
        mixer = session.mixer
        ai = next((p for p in mixer.participants if p.name == AGENT_PARTICIPANT), None) \
            if mixer is not None else None
        if ai is not None:
            await session.media.loop.call_soon_wait(_set_muted, ai, paused)
        agent = session.agent
        if agent is not None:
            if paused:
                agent.pause()
            else:
                agent.resume()

    async def _watch(self, session: LiveCall) -> None:
        """Every joined peer leaves when the call ends."""
        call_id = session.call_id
        try:
            await session.ended.wait()
            for pid in list(self.joined.get(call_id, {})):
                await self.leave(session, pid, None, reason="call_ended")
        finally:
            self._watchers.pop(call_id, None)

    def _emit(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.emit(event)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Ends every join (the engine is stopping)."""
        for task in list(self._watchers.values()):
            task.cancel()
        for call_id in list(self.joined):
            for joined in list(self.joined.pop(call_id, {}).values()):
                with contextlib.suppress(Exception):
                    await joined.leg.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


def _mark_screen(session: LiveCall, pid: str, role: str, *, joined: bool) -> None:
    """Tells the call's control who has it: a takeover, and the humans who see whispers."""
    control = session.control
    if role not in SCREEN_ROLES:
        return
    if joined:
        control.human_screens.add(pid)
    else:
        control.human_screens.discard(pid)
    if role == TAKEOVER:
        control.taken_over = joined


def _set_muted(participant: Participant, muted: bool) -> None:
    participant.muted = muted


__all__ = ["ROLES", "Joined", "LiveJoins"]
