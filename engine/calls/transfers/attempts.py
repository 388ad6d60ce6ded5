"""A warm transfer's destinations, the attempt at each, and what an attempt may ask of its
transfer (:class:`WarmSteps`, which :class:`~engine.calls.transfers.warm.WarmTransfer` is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from engine.calls.transfers.consult import ConsultListener
from engine.calls.transfers.context import Target, TransferableCall, TransferContext
from engine.calls.transfers.signals import Signals
from engine.media import Participant
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uac import OutgoingCall
from engine.store.timeutil import iso, utcnow

if TYPE_CHECKING:
    from engine.calls.commands import WarmTransfer as WarmCommand


@dataclass
class Destination:
    """One destination of a warm transfer, and where its INVITE goes (or which user)."""

    to: str
    label: str | None = None
    screening_prompt: str | None = None
    summary: str | None = None
    target: Target | None = None  # a phone number or sip: URI
    user_id: str | None = None  # a console user
    user_name: str | None = None  # the console user's display name

    @property
    def name(self) -> str:
        """How the transcript names it: ``Sales (+15550100)``, the address alone, or a console
        user by label or name (their id means nothing to a reader)."""
        if self.user_id is not None:
            return self.label or self.user_name or "a console user"
        return f"{self.label} ({self.to})" if self.label else self.to

    def describe(self) -> dict[str, Any]:
        return {"to": self.to, "label": self.label, "screening_prompt": self.screening_prompt,
                "summary": self.summary}


@dataclass(eq=False)
class Attempt:
    """One destination being tried."""

    index: int
    dest: Destination
    started_at: str | None = field(default_factory=lambda: iso(utcnow()))
    sip: OutgoingCall | None = None
    leg: RtpLeg | None = None
    participant: Participant | None = None
    port: int = 0
    answered: bool = False  # the consultation leg answered (complete may bridge it)
    offered_to: str | None = None  # the console user the call is offered to
    answering: bool = False  # that user's answer is being joined
    participant_id: str | None = None  # the joined user's participant id
    decline_reason: str | None = None
    listener: ConsultListener | None = None  # hears the answered recipient
    answer_text: str | None = None  # what the recipient said that decided (or said last)

    @property
    def kind(self) -> str:
        return "user" if self.dest.user_id is not None else "sip"


class WarmSteps(Protocol):
    """What an attempt asks of its warm transfer."""

    id: str
    ctx: TransferContext
    call: TransferableCall
    command: WarmCommand
    summary: str
    signals: Signals
    status: str
    attempt: Attempt | None

    @property
    def canceled_by(self) -> str | None: ...

    @property
    def attempts(self) -> list[dict[str, Any]]: ...

    def check_running(self) -> None: ...

    def dialing(self, dest: Destination) -> None: ...

    async def dial(self, target: Target, ringing_timeout_s: float,
                   **event_payload: Any) -> tuple[OutgoingCall, int]: ...

    def set_status(self, status: str) -> None: ...

    def event(self, name: str, *, code: int | None = None, reason: str | None = None,
              failure: str | None = None, actor: str | None = None, **payload: Any) -> None: ...

    def attempt_failed(self, attempt: Attempt, cause: str, code: int | None,
                       reason: str | None) -> None: ...

    def completed(self, attempt: Attempt, code: int | None, participant: dict[str, Any],
                  forced_by: str | None = None) -> None: ...

    def stopped(self, attempt: Attempt) -> str: ...

    async def leave_music_and_agent(self) -> None: ...

    def presence(self, user_id: str, presence: str) -> None: ...

    def turns_and_data(self) -> tuple[list[Any], dict[str, Any]]: ...


__all__ = ["Attempt", "Destination", "WarmSteps"]
