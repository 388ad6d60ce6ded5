"""The :class:`Leg` interface: one party's transport in a live call.

A leg knows how its party's call is set up (ringing and answering an INVITE, dialling one, a
WebRTC peer connecting), gives the call's mixer the party's audio, carries DTMF and hold where
its transport has them, hangs up, and says how its call ended. Everything else a live call has
(its row and records, mixer, recorder, agent, control) is :class:`~engine.calls.live_call.LiveCall`'s.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from engine.media import Participant
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from engine.calls.live_call import LiveCall
    from engine.sip.dialog import Dialog
    from engine.sip.rtp_leg import RtpLeg

# reasons that are not failures (the call.ended event carries no failure cause)
CLEAN_ENDS = (words.CALLER_HANGUP, words.AGENT_HANGUP, words.TRANSFERRED)


def failure_of(reason: str | None) -> str | None:
    """The failure cause an ended call's event carries (None for an ordinary hang-up)."""
    return None if reason in CLEAN_ENDS else reason


def threadsafe(loop: asyncio.AbstractEventLoop, callback: Callable[[str], None],
               value: str) -> None:
    """``callback(value)`` on ``loop``, from another thread (a digit from the media thread)."""
    loop.call_soon_threadsafe(callback, value)


class Signalling(Protocol):
    """A SIP call's dialog as control sees it: its state and re-INVITEs from our side."""

    @property
    def state(self) -> str: ...

    def reinvite(self, offer: bytes, on_result: Callable[[int, bytes], None]) -> bool: ...


class SipCall(Protocol):
    """The SIP call toward a leg's party, as a transfer by REFER sees it."""

    @property
    def state(self) -> str: ...

    @property
    def dialog(self) -> Dialog | None: ...


@dataclass
class Ending:
    """How a leg's call ended: the row's status, the event's failure cause and the final SIP
    code (the row's ``sip_status_code``), the leg's own metadata for the row, and, when the leg
    knows better than the call, its disconnect reason and error."""

    status: str
    failure: str | None
    code: int | None = None
    metadata: dict[str, Any] | None = None
    reason: str | None = None
    error: CallFailure | None = None


@dataclass
class Stats:
    """What flowed on a leg, kept once the call is over."""

    frames_received: int = 0
    frames_sent: int = 0
    dtmf: list[str] = field(default_factory=list)


class Leg(ABC):
    """One party's transport in a :class:`~engine.calls.live_call.LiveCall`."""

    kind: ClassVar[str]  # sip_inbound, sip_outbound, webrtc
    transport: ClassVar[str]  # the call row's transport: sip or webrtc
    direction: ClassVar[str]  # the call row's direction
    name: ClassVar[str] = "caller"  # the party's name in the mixer

    call: LiveCall

    def attach(self, call: LiveCall) -> None:
        """The live call this leg belongs to; its transport's callbacks now reach it."""
        self.call = call

    # -- who -----------------------------------------------------------------------------------

    @property
    @abstractmethod
    def from_number(self) -> str: ...

    @property
    @abstractmethod
    def to_number(self) -> str: ...

    @property
    def remote_party(self) -> str:
        """Who a transfer moves (a caller's or callee's number; "" for a browser)."""
        return ""

    def new_row(self) -> dict[str, Any] | None:
        """The fields of the call's row when the leg creates it (None: the row exists)."""
        return None

    def created(self) -> None:  # noqa: B027 - most legs have no first events
        """The row exists: the leg's first events."""

    # -- the call ------------------------------------------------------------------------------

    @abstractmethod
    async def connect(self) -> bool:
        """Sets the call up until media flows: True, or False when the call ended first."""

    @property
    @abstractmethod
    def participant(self) -> Participant:
        """The party in the call's mixer (once connected)."""

    @property
    def gone(self) -> bool:
        """The party's side of the call has ended."""
        return False

    def answer(self) -> dict[str, Any]:
        """The mixer and the agent are ready: the call is answered. What the ``call.answered``
        event tells of the media (the codec, …)."""
        return {}

    @abstractmethod
    def hangup(self, reason: str) -> bool:
        """Ends the party's side; True when the call is over at once (no end will be reported)."""

    def failed(self, exc: BaseException) -> None:
        """The call failed with ``exc`` while it ran (called in its ``except`` block)."""
        log.exception("%s call %s failed", self.kind, self.call.call_id)

    @property
    def rtp(self) -> RtpLeg | None:
        """The RTP media of a SIP leg (hold directions, DTMF out), or None."""
        return None

    @property
    def signalling(self) -> Signalling | None:
        """The SIP dialog that carries re-INVITEs (None: no SIP, hold is local only)."""
        return None

    @property
    def sip_call(self) -> SipCall | None:
        """The SIP call whose dialog may carry a REFER (None: no SIP dialog)."""
        return None

    def rtp_idle_s(self, now: float) -> float:
        """How long no media came from the party (0: not watched)."""
        return 0.0

    def ending(self, answered: bool, reason: str | None) -> Ending:
        """How the call ended, from the leg's side."""
        if answered:
            status = "completed"
        elif reason in (words.CANCELED, words.CALLER_HANGUP):  # the party left before connecting
            status = "canceled"
        else:
            status = "failed"
        return Ending(status, failure_of(reason), None, self.metadata())

    def metadata(self) -> dict[str, Any] | None:
        """The leg's facts for the row's metadata at the end (None: nothing to write)."""
        return None

    @abstractmethod
    async def close(self) -> None:
        """Frees the leg's media (ports, peer connection)."""


__all__ = ["CLEAN_ENDS", "Ending", "Leg", "Signalling", "SipCall", "Stats", "failure_of",
           "threadsafe"]
