"""The public face (``__all__``) of each engine package, pinned.

A package's face is what other packages take from it. Changing one is a decision: update the
expected list here in the same change, and keep the face true (every name exported is used
outside the package or is a type its users hand over or get back; nothing they use is missing).

- ``CURATED_FACES``: faces that list what the rest of the engine, the console, the CLI, the tests
  and the benchmarks import from the package (its other modules are its insides).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import engine

CURATED_FACES: dict[str, list[str]] = {
    "engine.agents": [
        "BRAIN_KINDS",
        "END_CALL",
        "FUNCTION",
        "TRANSFER_CALL",
        "Brain",
        "BrainOutput",
        "LlmBrain",
        "LlmConfig",
        "ScriptedBrain",
        "ToolError",
        "ToolRunner",
        "ToolSpec",
        "build_brain",
        "collect",
        "spoken_text",
    ],
    "engine.campaigns": [
        "RETRYABLE",
        "SETTABLE_LEAD_STATUSES",
        "Attempt",
        "CallingWindow",
        "Dialer",
        "LifecycleError",
        "Pacer",
        "Placer",
        "RetryPolicy",
        "TelephonyPlacer",
        "WindowError",
        "attempt_outcome",
        "campaign_stats",
        "check_lead_status",
        "check_leads_editable",
        "lead_zone",
        "next_attempt",
        "number_zone",
        "transition",
        "zone",
    ],
    "engine.speech": [
        "FRAME_BYTES",
        "FRAME_MS",
        "FRAME_SAMPLES",
        "SAMPLE_RATE",
        "AudioFrame",
        "Brain",
        "BrainEvent",
        "BrainOutput",
        "BrainStream",
        "BrainText",
        "BrainToken",
        "ControlFrame",
        "DataFrame",
        "EndOfTurn",
        "Frame",
        "FrameCutter",
        "FrameQueue",
        "HangUp",
        "Interrupt",
        "RecognitionStream",
        "SttEngine",
        "SttModelMissing",
        "TTSChunk",
        "ToolCall",
        "TranscriptFinal",
        "TranscriptPartial",
    ],
    "engine.api": ["ApiHost", "create_app"],
    "engine.calls": [
        "Analysis",
        "CallError",
        "CallsService",
        "Leg",
        "LiveCall",
        "LiveCalls",
        "Route",
        "SipInboundLeg",
        "SipOutboundLeg",
        "Utterance",
        "WebRtcLeg",
        "analyse",
    ],
    "engine.events": [
        "LATENCY_STAGES",
        "SUBSCRIBER_QUEUE",
        "AgentCreated",
        "AgentDeleted",
        "AgentSpeaking",
        "AgentUpdated",
        "AnalysisCompleted",
        "AnalysisJobProgress",
        "AnalysisTemplateCreated",
        "AnalysisTemplateDeleted",
        "AnalysisTemplateUpdated",
        "CallChange",
        "CallControl",
        "CallCreated",
        "CallParticipantJoined",
        "CallParticipantLeft",
        "CallUpdated",
        "CallWhisper",
        "CallbackChanged",
        "CampaignCreated",
        "CampaignDeleted",
        "CampaignLeadsImported",
        "CampaignProgress",
        "CampaignUpdated",
        "Event",
        "EventBus",
        "LeadCreated",
        "LeadDeleted",
        "LeadUpdated",
        "MetricsTurn",
        "MissingField",
        "PhoneNumberCreated",
        "PhoneNumberDeleted",
        "PhoneNumberUpdated",
        "ProviderCredentialCreated",
        "ProviderCredentialDeleted",
        "ProviderCredentialUpdated",
        "Record",
        "RecordCreated",
        "RecordDeleted",
        "RecordEvent",
        "RecordUpdated",
        "SipTrunkCreated",
        "SipTrunkDeleted",
        "SipTrunkUpdated",
        "Snapshot",
        "StreamOverflow",
        "Subscription",
        "ToolTemplateCreated",
        "ToolTemplateDeleted",
        "ToolTemplateUpdated",
        "TranscriptFinal",
        "TranscriptPartial",
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
        "UnknownEvent",
        "UserCreated",
        "UserDeleted",
        "UserUpdated",
        "WebhookCreated",
        "WebhookDeleted",
        "WebhookUpdated",
        "Wire",
        "parse_event",
        "record_event",
        "transfer_step",
    ],
    "engine.demo": ["seed_if_empty"],
    "engine.media": [
        "AGENT",
        "AGENT_MASKS",
        "BARGE_MASKS",
        "BINS",
        "BIN_S",
        "BRIEFING_MASKS",
        "CALLER_MASKS",
        "CONSULT_MASKS",
        "FRAME_BYTES",
        "FRAME_MS",
        "FRAME_SAMPLES",
        "HUMAN_MASKS",
        "LATE_S",
        "LISTEN_MASKS",
        "MUSIC_MASKS",
        "PACER_PRIORITY",
        "SAMPLE_RATE",
        "SAMPLE_WIDTH",
        "SILENCE",
        "TICK_S",
        "WHISPER_MASKS",
        "BatchResampler",
        "FrameCutter",
        "HoldMusic",
        "Lateness",
        "Masks",
        "MediaClock",
        "MediaLoop",
        "Mixer",
        "Participant",
        "Player",
        "PolyphaseResampler",
        "Recorder",
        "Resampler",
        "Tone",
        "request_realtime",
        "resample",
    ],
    # a module, not a package: what the engine's peer legs and the console's phone share
    "engine.rtc": [
        "FRAME_MS",
        "LOOPBACK",
        "FrameSource",
        "PacedTrack",
        "PcmConverter",
        "audio_frames",
        "frame_samples",
        "include_loopback",
        "pcm_frame",
        "rtc_configuration",
    ],
    "engine.simulator": [
        "CallResult",
        "NumberPlan",
        "Persona",
        "PersonaError",
        "SimulatedCallees",
        "SimulatedCaller",
        "Turn",
        "demo_plan",
        "load_persona",
        "persona_names",
        "simulate",
    ],
    "engine.sip": [
        "NOTIFY_WAIT_S",
        "Credentials",
        "IncomingCall",
        "OutgoingCall",
        "Peer",
        "ReInvite",
        "Refer",
        "ReferResult",
        "Registration",
        "Response",
        "RtpBatch",
        "RtpLeg",
        "RtpPorts",
        "UserAgent",
        "sdp",
    ],
    "engine.store": [
        "ANALYSIS_JOB_STATUSES",
        "CALLBACK_STATUSES",
        "CALL_SORTS",
        "CALL_STATUSES",
        "LIVE_STATUSES",
        "REHEARSAL_STATUSES",
        "WEBHOOK_EVENTS",
        "Agent",
        "AnalysisJob",
        "AnalysisRun",
        "AnalysisTemplate",
        "ApiKey",
        "BatchWriter",
        "Call",
        "CallEvent",
        "Campaign",
        "DoNotCall",
        "Lead",
        "Organization",
        "PhoneNumber",
        "ProviderCredential",
        "Rehearsal",
        "ScheduledCallback",
        "SipTrunk",
        "ToolTemplate",
        "TranscriptEntry",
        "Transfer",
        "UsageLog",
        "User",
        "Webhook",
        "WebhookDelivery",
        "as_utc",
        "column_pairs",
        "default_factory",
        "iso",
        "jsonable",
        "make_engine",
        "migrate",
        "new_id",
        "parse_iso",
        "row_dict",
        "row_values",
        "session_scope",
        "sqlite_url",
        "table_of",
        "utcnow",
    ],
    "engine.webhooks": [
        "ASSISTANT_DEADLINE_S",
        "BACKOFF_BASE_S",
        "BACKOFF_ENV",
        "DELIVERY_HEADER",
        "EVENT_HEADER",
        "MAX_ATTEMPTS",
        "RETRIED_EVENTS",
        "SIGNATURE_HEADER",
        "TIMESTAMP_HEADER",
        "Delivery",
        "DeliveryLog",
        "MemoryDeliveryLog",
        "Sender",
        "Target",
        "ToolRunner",
        "WebhookDispatcher",
        "WebhookError",
        "backoff_delays",
        "sign",
        "targets_for",
        "verify",
    ],
    "engine.webrtc": ["OfferError", "OfferingPeer", "PeerLeg", "check_offer"],
}

FACES: dict[str, list[str]] = CURATED_FACES


def test_every_engine_package_has_its_face_pinned() -> None:
    packages = {f"engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__) if m.ispkg}
    assert packages - FACES.keys() == set()


@pytest.mark.parametrize("name", sorted(FACES))
def test_the_face_is_as_pinned(name: str) -> None:
    assert getattr(importlib.import_module(name), "__all__", None) == FACES[name]


@pytest.mark.parametrize("name", sorted(FACES))
def test_every_name_of_the_face_imports(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in FACES[name] if not hasattr(module, n)]
    assert missing == []
    assert len(set(FACES[name])) == len(FACES[name])


@pytest.mark.parametrize("name", sorted(n for n in CURATED_FACES
                                        if importlib.import_module(n).__file__.endswith("__init__.py")))
def test_a_curated_package_exposes_nothing_beyond_its_face(name: str) -> None:
    """Its ``__init__`` binds the face and nothing else (its submodules, ``annotations`` and
    ``TYPE_CHECKING`` aside), and no submodule shadows a name of the face."""
    module = importlib.import_module(name)
    face = set(CURATED_FACES[name])
    public = {n for n, value in vars(module).items()
              if not n.startswith("_") and n not in ("annotations", "TYPE_CHECKING")
              and (n in face or not isinstance(value, ModuleType))}
    assert public == face
    # a name imported from a submodule, then overwritten by a submodule of the same name
    # (``from .polyphase import resample`` before ``import .resample``) is a module, not the name
    tree = ast.parse(inspect.getsource(module))
    from_submodules = {alias.asname or alias.name for node in tree.body
                       if isinstance(node, ast.ImportFrom) and node.module != name
                       for alias in node.names}
    shadowed = sorted(n for n in from_submodules & face if isinstance(getattr(module, n), ModuleType))
    assert shadowed == []
