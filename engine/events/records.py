"""The ordinary records' events: ``<resource>.created|updated|deleted`` for each record the CRUD
routes serve (agents, numbers, trunks, templates, campaigns, leads, webhooks, users, provider
credentials; users' presence changes too), a campaign's leads imported in bulk, and a bulk
re-analysis job's progress."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.events.base import REGISTRY, Event, Record, registered


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordEvent(Event):
    """A record was created, updated or deleted: ``record`` is the record as the API shows it
    (only its ``id`` for a deletion)."""

    record: Record = field(default_factory=dict)

    @property
    def resource(self) -> str:
        """The record's kind, as in the event's type: ``agent``, ``phone_number``..."""
        return self.type.partition(".")[0]

    @property
    def change(self) -> str:
        """``created``, ``updated`` or ``deleted``."""
        return self.type.partition(".")[2]

    @property
    def record_id(self) -> str:
        return str(self.record.get("id") or "")

    def payload(self) -> Record:
        return dict(self.record)

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"record": dict(data)}


class RecordCreated(RecordEvent):
    __slots__ = ()


class RecordUpdated(RecordEvent):
    __slots__ = ()


class RecordDeleted(RecordEvent):
    __slots__ = ()


def record_event(type_: str, *, organization_id: str, record: Record) -> RecordEvent:
    """The event ``type_`` (``agent.created``...) of a record; LookupError for a type that is not
    a record's."""
    cls = REGISTRY.get(type_)
    if cls is None or not issubclass(cls, RecordEvent):
        raise LookupError(f"no record event {type_!r}: add its class to engine/events/records.py")
    return cls(organization_id=organization_id, record=record)


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignLeadsImported(Event):
    """Leads were added to a campaign in bulk (``POST /v1/campaigns/{id}/leads/bulk``)."""

    type: ClassVar[str] = "campaign.leads_imported"
    derived: ClassVar[tuple[str, ...]] = ("id",)

    campaign_id: str
    imported: int

    def payload(self) -> Record:
        return {"id": self.campaign_id, **Event.payload(self)}


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisJobProgress(Event):
    """A bulk re-analysis (``POST /v1/calls/analysis``) moved on: ``done`` of ``total`` calls
    analysed (``failed`` of them could not be), ``status`` queued, running, completed or failed
    (``error`` says why). ``GET /v1/calls/analysis/{job_id}`` answers the same."""

    type: ClassVar[str] = "analysis_job.progress"
    derived: ClassVar[tuple[str, ...]] = ("id",)

    job_id: str
    status: str
    total: int = 0
    done: int = 0
    failed: int = 0
    template_id: str | None = None
    error: str | None = None

    def payload(self) -> Record:
        return {"id": self.job_id, **Event.payload(self)}


# -- agent ------------------------------------------------------------------------------------------


@registered
class AgentCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "agent.created"


@registered
class AgentUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "agent.updated"


@registered
class AgentDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "agent.deleted"


# -- tool template ----------------------------------------------------------------------------------


@registered
class ToolTemplateCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "tool_template.created"


@registered
class ToolTemplateUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "tool_template.updated"


@registered
class ToolTemplateDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "tool_template.deleted"


# -- analysis template ------------------------------------------------------------------------------


@registered
class AnalysisTemplateCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "analysis_template.created"


@registered
class AnalysisTemplateUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "analysis_template.updated"


@registered
class AnalysisTemplateDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "analysis_template.deleted"


# -- phone number -----------------------------------------------------------------------------------


@registered
class PhoneNumberCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "phone_number.created"


@registered
class PhoneNumberUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "phone_number.updated"


@registered
class PhoneNumberDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "phone_number.deleted"


# -- sip trunk --------------------------------------------------------------------------------------


@registered
class SipTrunkCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "sip_trunk.created"


@registered
class SipTrunkUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "sip_trunk.updated"


@registered
class SipTrunkDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "sip_trunk.deleted"


# -- campaign ---------------------------------------------------------------------------------------


@registered
class CampaignCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "campaign.created"


@registered
class CampaignUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "campaign.updated"


@registered
class CampaignDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "campaign.deleted"


# -- lead -------------------------------------------------------------------------------------------


@registered
class LeadCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "lead.created"


@registered
class LeadUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "lead.updated"


@registered
class LeadDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "lead.deleted"


# -- webhook ----------------------------------------------------------------------------------------


@registered
class WebhookCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "webhook.created"


@registered
class WebhookUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "webhook.updated"


@registered
class WebhookDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "webhook.deleted"


# -- user -------------------------------------------------------------------------------------------


@registered
class UserCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "user.created"


@registered
class UserUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "user.updated"


@registered
class UserDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "user.deleted"


# -- provider credential ----------------------------------------------------------------------------


@registered
class ProviderCredentialCreated(RecordCreated):
    __slots__ = ()
    type: ClassVar[str] = "provider_credential.created"


@registered
class ProviderCredentialUpdated(RecordUpdated):
    __slots__ = ()
    type: ClassVar[str] = "provider_credential.updated"


@registered
class ProviderCredentialDeleted(RecordDeleted):
    __slots__ = ()
    type: ClassVar[str] = "provider_credential.deleted"


__all__ = ["AgentCreated", "AgentDeleted", "AgentUpdated", "AnalysisJobProgress",
           "AnalysisTemplateCreated",
           "AnalysisTemplateDeleted", "AnalysisTemplateUpdated", "CampaignCreated",
           "CampaignDeleted", "CampaignLeadsImported", "CampaignUpdated", "LeadCreated",
           "LeadDeleted", "LeadUpdated", "PhoneNumberCreated", "PhoneNumberDeleted",
           "PhoneNumberUpdated", "ProviderCredentialCreated", "ProviderCredentialDeleted",
           "ProviderCredentialUpdated", "RecordCreated", "RecordDeleted", "RecordEvent",
           "RecordUpdated", "SipTrunkCreated", "SipTrunkDeleted", "SipTrunkUpdated",
           "ToolTemplateCreated", "ToolTemplateDeleted", "ToolTemplateUpdated", "UserCreated",
           "UserDeleted", "UserUpdated", "WebhookCreated", "WebhookDeleted", "WebhookUpdated",
           "record_event"]
