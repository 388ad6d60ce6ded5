"""A warm transfer's destinations and the attempt at each (see :mod:`engine.calls.warm`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.calls.consult_listen import ConsultListener
from engine.calls.transfers import Target
from engine.media import Participant
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uac import OutgoingCall
from engine.store import User, session_scope, utcnow
from engine.store.timeutil import iso

if TYPE_CHECKING:
    from engine.calls.transfers import TransferableCall

FINISHED = frozenset({"completed", "failed", "canceled"})


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


def load_user(db: Any, user_id: str, organization_id: str) -> dict[str, Any] | None:
    """Blocking: a console user of the organization (id, display_name, presence), or None."""
    with session_scope(db) as session:
        user = session.get(User, user_id)
        if user is None or user.organization_id != organization_id:
            return None
        return {"id": user.id, "display_name": user.display_name, "presence": user.presence,
                "email": user.email, "role": user.role}


def call_ended(session: TransferableCall) -> bool:
    """The call has ended, or is ending."""
    return session.ended.is_set() or session.reason is not None
