"""A warm transfer's destinations, the attempt at each, and what an attempt may ask of its
transfer (:class:`WarmSteps`, which :class:`~engine.calls.transfers.warm.WarmTransfer` is); and
how transfers chain: a transfer that reached nobody (failed, canceled) names the one tried after
it on the same call (``next_transfer_id``, :func:`link_previous`), and a warm transfer whose
consultation moves on names the destination queued next (:func:`next_transfer`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlmodel import col, select

from engine.calls.serialize import transfer as serialize_transfer
from engine.calls.transfers.consult import ConsultListener
from engine.calls.transfers.context import Target, TransferableCall, TransferContext
from engine.calls.transfers.signals import Signals
from engine.media import Participant
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uac import OutgoingCall
from engine.store import Transfer
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


CALLS_KEPT = 10_000  # calls whose last transfer is remembered (far more than run at once)
ENDED_UNREACHED = ("failed", "canceled")  # a transfer after one of these continues its chain
DONE = ("completed", "failed", "canceled")


class TransferChains:
    """The last transfer of each call transfers ran on (the most recent :data:`CALLS_KEPT`
    calls: transfers happen on live calls only), so that a transfer requested after one that
    reached nobody is named as its ``next_transfer_id``."""

    def __init__(self) -> None:
        self._last: OrderedDict[str, str] = OrderedDict()  # call id -> its last transfer's id

    def link(self, session: Any, row: Transfer) -> str | None:
        """Remembers ``row`` (a transfer just requested) as its call's last, and names it as the
        next transfer of the call's previous one when that one reached nobody and names none
        yet; the previous one's id, or None. ``session`` is a store session (``get``, ``add``)
        whose job runs after the previous transfer's writes (the store's jobs run in order)."""
        previous_id = self._last.pop(row.call_id, None)
        self._last[row.call_id] = row.id
        while len(self._last) > CALLS_KEPT:
            self._last.popitem(last=False)
        previous = session.get(Transfer, previous_id) if previous_id else None
        if previous is None or previous.status not in ENDED_UNREACHED or previous.next_transfer_id:
            return None
        previous.next_transfer_id = row.id
        previous.updated_at = utcnow()
        session.add(previous)
        return previous_id


def link_previous(session: Any, row: Transfer) -> str | None:
    """:meth:`TransferChains.link` for a call whose previous transfer is found in the store
    (the latest other transfer of the call); for rows written outside the live calls."""
    previous = session.exec(
        select(Transfer).where(col(Transfer.call_id) == row.call_id, col(Transfer.id) != row.id)
        .order_by(col(Transfer.created_at).desc()).limit(1)).first()
    chains = TransferChains()
    if previous is not None:
        chains._last[row.call_id] = previous.id
    return chains.link(session, row)


def queued_destination(row: Transfer | Mapping[str, Any]) -> dict[str, Any] | None:
    """The destination a running warm transfer tries after the one it is consulting now; ``row``
    is the transfer's row or its API body."""
    def value(name: str) -> Any:
        return row.get(name) if isinstance(row, Mapping) else getattr(row, name)

    if value("kind") != "warm" or value("status") in DONE:
        return None
    following = len(value("routing_attempts") or []) + 1  # finished attempts, then the current
    destinations = value("destinations") or []
    if following >= len(destinations):
        return None
    dest = destinations[following]
    return {"id": None, "kind": "warm", "status": "queued", "to": dest.get("to"),
            "label": dest.get("label"), "attempt": following}


def next_transfer(row: Transfer, following: Transfer | None) -> dict[str, Any] | None:
    """What comes after ``row``: the transfer tried after it on the call (``following``, the
    row its ``next_transfer_id`` names), else the destination a running warm transfer has
    queued next; None at the end of the chain."""
    if following is not None:
        return {"id": following.id, "kind": following.kind, "status": following.status,
                "to": following.transfer_to, "label": None, "attempt": None}
    return queued_destination(row)


def transfer_view(session: Any, row: Transfer) -> dict[str, Any]:
    """The transfer as the API shows it, with its ``next_transfer``."""
    following = session.get(Transfer, row.next_transfer_id) if row.next_transfer_id else None
    return {**serialize_transfer(row), "next_transfer": next_transfer(row, following)}


__all__ = ["Attempt", "Destination", "TransferChains", "WarmSteps", "link_previous", "next_transfer",
           "queued_destination", "transfer_view"]
