"""The leg of a web call: a WebRTC peer (a browser or the console's microphone) calling an agent
directly. Its offer is answered before the call runs (the API hands the answer back at once); the
call rings until ICE and DTLS connect, and ends when the peer closes its connection. Hold is
music and a paused agent with no renegotiation; there is no DTMF channel and no SIP dialog."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from engine.calls.legs.base import Leg
from engine.media import CALLER_MASKS, Participant
from engine.store import vocabulary as words

if TYPE_CHECKING:
    from engine.webrtc import PeerLeg

WEB_CALLER = "webrtc"  # the from_number of a web call
# A peer that has not connected this long after its answer never will (ICE on host candidates
# checks every pair within a second or two; consent needs a few more).
CONNECT_TIMEOUT_S = 15.0
STATE_POLL_S = 0.01  # aiortc signals its connection state by callback only


class WebRtcLeg(Leg):
    """The browser (or console) of a web call."""

    kind = "webrtc"
    transport = "webrtc"
    direction = "inbound"

    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor
        self.peer: PeerLeg | None = None

    @property
    def from_number(self) -> str:
        return WEB_CALLER

    @property
    def to_number(self) -> str:
        return ""

    def new_row(self) -> dict[str, Any]:
        return {"type": "web_call", "metadata_": {"transport": "webrtc"}}

    def created(self) -> None:
        call = self.call
        call.records.add_event(call.call_id, "webrtc", "offer_received", status="ringing",
                               actor=self.actor, payload={"agent_id": call.route.agent_id})

    async def accept(self, offer: str) -> str:
        """Answers the peer's offer before the call runs; raises OfferError for a bad offer."""
        from engine.webrtc import PeerLeg  # aiortc loads with the first WebRTC peer

        peer = PeerLeg(self.name, CALLER_MASKS)
        peer.on_ended = lambda ended: self.call.party_ended(
            words.ICE_FAILED if ended.state == "failed" and ended.connected_s is None
            else words.CALLER_HANGUP)
        answer = await peer.accept(offer)
        self.peer = peer
        return answer

    async def connect(self) -> bool:
        peer = self.peer
        if peer is None:
            return False
        call = self.call
        waits = [asyncio.ensure_future(call.ended.wait()),
                 asyncio.ensure_future(self._connected(peer))]
        try:
            await asyncio.wait(waits, timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        if peer.state == "connected" and not call.ended.is_set():
            return True
        if call.ended.is_set():
            call.party_ended(words.CALLER_HANGUP)
        else:  # aiortc's "failed": ICE (or DTLS) gave up; otherwise it never finished
            call.party_ended(words.ICE_FAILED if peer.state == "failed" else words.CONNECT_TIMEOUT)
        return False

    @staticmethod
    async def _connected(peer: PeerLeg) -> None:
        while peer.state != "connected":  # noqa: ASYNC110 - aiortc signals state by callback only
            await asyncio.sleep(STATE_POLL_S)

    @property
    def participant(self) -> Participant:
        assert self.peer is not None
        return self.peer.participant

    def answer(self) -> dict[str, Any]:
        assert self.peer is not None
        return {"codec": "opus", "connected_ms": self.peer.stats()["connected_ms"]}

    def hangup(self, reason: str) -> bool:
        return True

    def metadata(self) -> dict[str, Any] | None:
        if self.peer is None:
            return None
        return {"transport": "webrtc", "webrtc": self.peer.stats()}

    async def close(self) -> None:
        if self.peer is not None:
            with contextlib.suppress(Exception):
                await self.peer.close()


__all__ = ["CONNECT_TIMEOUT_S", "WEB_CALLER", "WebRtcLeg"]
