"""A transfer's events, ``transfer.*``: each step of a blind or warm transfer (the same name as the
step in the call's event log), and the offer of a warm transfer to a console user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.events.base import REGISTRY, Event, Record, registered, wire_name


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferEvent(Event):
    """Anything that happens to one of the call's transfers."""

    call_id_in_data: ClassVar[bool] = True

    transfer_id: str

    @property
    def step(self) -> str:
        """The name of the step without ``transfer.`` (``dialing``, ``completed``...)."""
        return self.type.removeprefix("transfer.")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStep(TransferEvent):
    """A step of a transfer, with where the transfer is: its kind (blind, warm), destination,
    status, and for a warm transfer the destination's label and attempt number; a failure's
    cause and SIP status code."""

    kind: str | None = None
    to: str | None = None
    status: str | None = None
    label: str | None = None
    attempt: int | None = None
    failure_cause: str | None = None
    sip_status_code: int | None = None


@registered
class TransferRequested(TransferStep):
    __slots__ = ()
    type: ClassVar[str] = "transfer.requested"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferDialing(TransferStep):
    """The destination is being called: ``method`` refer, bridge (dial and bridge), sip (a warm
    transfer's consultation call) or user (offered to a console user)."""

    type: ClassVar[str] = "transfer.dialing"

    method: str | None = None
    user_id: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferReferProgress(TransferStep):
    """A NOTIFY of a REFER: the status line of the transferee's call to the target."""

    type: ClassVar[str] = "transfer.refer_progress"

    sipfrag: str | None = None


@registered
class TransferReferAccepted(TransferStep):
    __slots__ = ()
    type: ClassVar[str] = "transfer.refer_accepted"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferReferRefused(TransferStep):
    """The peer refused the REFER; ``fallback`` says what the engine does instead (bridge)."""

    type: ClassVar[str] = "transfer.refer_refused"

    fallback: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferReferTimeout(TransferStep):
    """The REFER (or its final NOTIFY) got no answer in time; ``fallback`` as for refused."""

    type: ClassVar[str] = "transfer.refer_timeout"

    fallback: str | None = None


@registered
class TransferScreening(TransferStep):
    """A warm transfer's destination answered and hears the briefing."""

    __slots__ = ()
    type: ClassVar[str] = "transfer.screening"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRecipientSaid(TransferStep):
    """What the destination said while screened, and the decision read from it (accept,
    decline, or None)."""

    type: ClassVar[str] = "transfer.recipient_said"

    text: str | None = None
    decision: str | None = None
    briefing_playing: bool | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferBridging(TransferStep):
    """The caller is being bridged to the destination (``forced`` by a supervisor; a console
    user's ``user_id`` and ``participant_id``)."""

    type: ClassVar[str] = "transfer.bridging"

    forced: bool | None = None
    user_id: str | None = None
    participant_id: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCompleted(TransferStep):
    """The caller talks to the destination: by REFER (``confirmed`` by a final NOTIFY), by a
    bridge (``codec``), or a warm transfer ``accepted`` by its destination (``forced``)."""

    type: ClassVar[str] = "transfer.completed"

    method: str | None = None
    confirmed: bool | None = None
    codec: str | None = None
    accepted: str | None = None
    forced: bool | None = None


@registered
class TransferFailed(TransferStep):
    __slots__ = ()
    type: ClassVar[str] = "transfer.failed"


@registered
class TransferCanceled(TransferStep):
    __slots__ = ()
    type: ClassVar[str] = "transfer.canceled"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFallback(TransferStep):
    """Nobody accepted a warm transfer: the fallback ``strategy`` (return_to_agent,
    take_message, end_call), the ``message`` spoken and the ``result``."""

    type: ClassVar[str] = "transfer.fallback"

    strategy: str | None = None
    message: str | None = None
    result: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferNextDestination(TransferStep):
    """A warm transfer moves on to its next destination; ``previous`` is the attempt before."""

    type: ClassVar[str] = "transfer.next_destination"

    previous: Record | None = None


@registered
class TransferAttemptFailed(TransferStep):
    """One destination of a warm transfer did not take the call (``failure_cause``: declined,
    no_answer, busy, unavailable...)."""

    __slots__ = ()
    type: ClassVar[str] = "transfer.attempt_failed"


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferOffered(TransferEvent):
    """A warm transfer rings a console user (``user:<id>``): who calls, from which agent, the
    briefing, the last turns and the data collected, and how long it rings."""

    type: ClassVar[str] = "transfer.offered"

    user_id: str
    to: str | None = None
    label: str | None = None
    summary: str | None = None
    screening_prompt: str | None = None
    caller: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    ringing_timeout: float | None = None
    last_turns: list[Record] = field(default_factory=list)
    call_data: Record = field(default_factory=dict, metadata=wire_name("data"))


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferOfferEnded(TransferEvent):
    """The offer to a console user stopped ringing: ``reason`` answered, declined (with the
    user's ``declined_reason``), no_answer or canceled."""

    type: ClassVar[str] = "transfer.offer_ended"

    user_id: str
    reason: str
    declined_reason: str | None = None


def transfer_step(name: str, *, organization_id: str, call_id: str,
                  data: Mapping[str, Any]) -> TransferEvent:
    """The event of a transfer's step ``name`` (``dialing``, ``refer_refused``...) with its
    ``data``; LookupError for a step that has no class here."""
    cls = REGISTRY.get(f"transfer.{name}")
    if cls is None or not issubclass(cls, TransferEvent):
        raise LookupError(f"no transfer event {name!r}: add its class to engine/events/transfers.py")
    return cls.from_wire({"type": cls.type, "organization_id": organization_id,
                          "call_id": call_id, "data": data})


__all__ = [
    "TransferAttemptFailed",
    "TransferBridging",
    "TransferCanceled",
    "TransferCompleted",
    "TransferDialing",
    "TransferEvent",
    "TransferFailed",
    "TransferFallback",
    "TransferNextDestination",
    "TransferOfferEnded",
    "TransferOffered",
    "TransferRecipientSaid",
    "TransferReferAccepted",
    "TransferReferProgress",
    "TransferReferRefused",
    "TransferReferTimeout",
    "TransferRequested",
    "TransferScreening",
    "TransferStep",
    "transfer_step",
]
