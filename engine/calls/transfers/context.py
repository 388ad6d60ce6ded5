"""What a transfer may use of the engine, and nothing more: :class:`TransferContext` (dial a SIP
leg, open its RTP, write a store job, publish on the bus, join a console user, spawn a task, look
things up), handed in by the telephony service. Unit tests give a transfer a context of fakes.

:class:`TransferableCall` is what a transfer reads and drives of the live call
(:class:`~engine.calls.live_call.LiveCall`): its records, mixer, agent and control.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from engine.calls.control import ControlledCall
from engine.events import Event
from engine.sip import sdp
from engine.sip.auth import Credentials
from engine.sip.transport import Peer

if TYPE_CHECKING:
    from engine.calls.control import CallControl
    from engine.calls.legs.base import SipCall
    from engine.calls.records import StoreJob
    from engine.sip.dialog import Dialog
    from engine.sip.refer import ReferResult
    from engine.sip.rtp_leg import RtpLeg
    from engine.sip.uac import OutgoingCall
    from engine.speech.stt import SttEngine
    from engine.store import SipTrunk


@dataclass
class Target:
    """Where a transfer's INVITE (or REFER) goes."""

    uri: str
    peer: Peer
    credentials: Credentials | None = None
    caller_id: str | None = None
    trunk_id: str | None = None


class TransferableCall(ControlledCall, Protocol):
    """What a transfer needs of a live call (inbound, outbound or web): what its control needs,
    and more."""

    control: CallControl

    @property
    def organization_id(self) -> str: ...

    @property
    def trunk_id(self) -> str | None:
        """The SIP trunk phone-number destinations are dialled through (None: sip: URIs only)."""

    @property
    def remote_party(self) -> str:
        """Who is transferred (a caller's or callee's number): the new leg's From."""

    @property
    def sip_call(self) -> SipCall | None:
        """The SIP call toward the remote party, whose dialog may carry a REFER."""



class SipDialer(Protocol):
    """Places a transfer's outgoing SIP legs and REFERs (the engine's user agent)."""

    def invite(self, target: Target, offer: bytes, caller: str,
               ringing_timeout_s: float) -> OutgoingCall:
        """An INVITE to ``target`` from ``caller`` (not yet started)."""

    def refer(self, dialog: Dialog, target_uri: str, on_result: Callable[[ReferResult], None], *,
              on_progress: Callable[[int, str], None], on_accepted: Callable[[int], None],
              notify_wait_s: float) -> Any:
        """A REFER in ``dialog`` (not yet started): :class:`~engine.calls.transfers.refer.TransferRefer`."""


class RtpPorts(Protocol):
    """RTP for a transfer's legs, on the media loop."""

    async def reserve(self) -> int:
        """A local RTP port for an offer (0 when ports are not managed here)."""

    async def open(self, answer: bytes, port: int) -> tuple[RtpLeg, sdp.MediaParams]:
        """The RTP leg of an answered INVITE, on the port its offer named."""

    async def release(self, port: int) -> None:
        """A reserved port no leg took."""

    async def close(self, leg: RtpLeg) -> None:
        """An opened leg (its port goes back)."""


class CallJoins(Protocol):
    """Console users joining a live call over WebRTC (:class:`~engine.calls.joins.LiveJoins`)."""

    async def join(self, call: Any, offer: str, role: str, actor: str | None) -> tuple[str, str]: ...

    async def leave(self, call: Any, pid: str, actor: str | None, *,
                    reason: str = "left") -> bool: ...

    def is_joined(self, call_id: str, pid: str) -> bool: ...


class Lookups(Protocol):
    """Store look-ups a transfer makes (each runs off the event loop)."""

    async def trunk(self, trunk_id: str) -> SipTrunk | None: ...

    async def user(self, user_id: str, organization_id: str) -> dict[str, Any] | None:
        """A console user of the organization (id, display_name, presence, …), or None."""

    async def user_name(self, user_id: str) -> str | None: ...


StoreSubmit = Callable[..., None]  # SerialRunner.submit(job, after=None, *, on_commit=None)


@dataclass(frozen=True)
class TransferContext:
    """The engine's services a transfer uses."""

    sip: SipDialer | None  # None: SIP is off (transfers to console users only)
    rtp: RtpPorts
    store: StoreSubmit  # a blocking store job, run in order on the store thread
    transcript: Callable[[dict[str, Any]], object]  # adds a transcript entry row
    emit: Callable[[Event], object]  # a typed event on the event bus
    joins: CallJoins
    spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
    lookups: Lookups
    recogniser: Callable[[], SttEngine | None]  # the English recogniser (None: keys only)

    async def stored(self, job: StoreJob, within: float = 10.0) -> None:
        """Runs ``job`` and waits until it landed (or ``within`` seconds)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        def landed() -> None:
            if not done.done():
                done.set_result(None)

        self.store(job, lambda: loop.call_soon_threadsafe(landed))
        try:
            await asyncio.wait_for(asyncio.shield(done), within)
        except TimeoutError:
            pass

__all__ = ["CallJoins", "Lookups", "RtpPorts", "SipDialer", "Target",
           "TransferContext", "TransferableCall"]
