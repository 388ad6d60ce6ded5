"""Events: what the engine tells its clients as it happens, over ``WS /v1/events``.

Each event type is a frozen dataclass (``engine.events.calls``, ``.transfers``, ``.records``,
``.stream``) that knows its wire ``type``, its organization and call, and builds its ``data``.
The engine sends one with ``bus.emit(TranscriptFinal.from_row(row))``; a client turns what the
socket sends back into one with :func:`parse_event`, which answers :class:`UnknownEvent` for a
type it does not know::

    match parse_event(message):
        case TranscriptFinal(call_id=call_id, text=text): ...
        case CallUpdated() as change if change.status == "completed": ...

The event types import nothing of the engine (the console imports them); the bus is
:class:`EventBus`.
"""

from engine.events.base import Event, MissingField, Record, UnknownEvent, Wire, parse_event
from engine.events.bus import SUBSCRIBER_QUEUE, EventBus, Subscription
from engine.events.calls import (
    LATENCY_STAGES,
    AgentSpeaking,
    CallChange,
    CallControl,
    CallCreated,
    CallParticipantJoined,
    CallParticipantLeft,
    CallUpdated,
    CallWhisper,
    MetricsTurn,
    TranscriptFinal,
    TranscriptPartial,
)
from engine.events.records import (
    AgentCreated,
    AgentDeleted,
    AgentUpdated,
    AnalysisTemplateCreated,
    AnalysisTemplateDeleted,
    AnalysisTemplateUpdated,
    CampaignCreated,
    CampaignDeleted,
    CampaignLeadsImported,
    CampaignUpdated,
    LeadCreated,
    LeadDeleted,
    LeadUpdated,
    PhoneNumberCreated,
    PhoneNumberDeleted,
    PhoneNumberUpdated,
    ProviderCredentialCreated,
    ProviderCredentialDeleted,
    ProviderCredentialUpdated,
    RecordCreated,
    RecordDeleted,
    RecordEvent,
    RecordUpdated,
    SipTrunkCreated,
    SipTrunkDeleted,
    SipTrunkUpdated,
    ToolTemplateCreated,
    ToolTemplateDeleted,
    ToolTemplateUpdated,
    UserCreated,
    UserDeleted,
    UserUpdated,
    WebhookCreated,
    WebhookDeleted,
    WebhookUpdated,
    record_event,
)
from engine.events.stream import Snapshot, StreamOverflow
from engine.events.transfers import (
    TransferAttemptFailed,
    TransferBridging,
    TransferCanceled,
    TransferCompleted,
    TransferDialing,
    TransferEvent,
    TransferFailed,
    TransferFallback,
    TransferNextDestination,
    TransferOffered,
    TransferOfferEnded,
    TransferRecipientSaid,
    TransferReferAccepted,
    TransferReferProgress,
    TransferReferRefused,
    TransferReferTimeout,
    TransferRequested,
    TransferScreening,
    TransferStep,
)

__all__ = ["LATENCY_STAGES", "SUBSCRIBER_QUEUE", "AgentCreated", "AgentDeleted", "AgentSpeaking",
           "AgentUpdated", "AnalysisTemplateCreated", "AnalysisTemplateDeleted",
           "AnalysisTemplateUpdated", "CallChange", "CallControl", "CallCreated",
           "CallParticipantJoined", "CallParticipantLeft", "CallUpdated", "CallWhisper",
           "CampaignCreated", "CampaignDeleted", "CampaignLeadsImported", "CampaignUpdated",
           "Event", "EventBus", "LeadCreated", "LeadDeleted", "LeadUpdated", "MetricsTurn",
           "MissingField", "PhoneNumberCreated", "PhoneNumberDeleted", "PhoneNumberUpdated",
           "ProviderCredentialCreated", "ProviderCredentialDeleted", "ProviderCredentialUpdated",
           "Record", "RecordCreated", "RecordDeleted", "RecordEvent", "RecordUpdated",
           "SipTrunkCreated", "SipTrunkDeleted", "SipTrunkUpdated", "Snapshot", "StreamOverflow",
           "Subscription", "ToolTemplateCreated", "ToolTemplateDeleted", "ToolTemplateUpdated",
           "TranscriptFinal", "TranscriptPartial", "TransferAttemptFailed", "TransferBridging",
           "TransferCanceled", "TransferCompleted", "TransferDialing", "TransferEvent",
           "TransferFailed", "TransferFallback", "TransferNextDestination", "TransferOfferEnded",
           "TransferOffered", "TransferRecipientSaid", "TransferReferAccepted",
           "TransferReferProgress", "TransferReferRefused", "TransferReferTimeout",
           "TransferRequested", "TransferScreening", "TransferStep", "UnknownEvent", "UserCreated",
           "UserDeleted", "UserUpdated", "WebhookCreated", "WebhookDeleted", "WebhookUpdated",
           "Wire", "parse_event", "record_event"]
