"""Calls and what hangs off them: transcript entries, events, transfers, usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, text
from sqlmodel import Field, SQLModel

from engine.store.base import Record
from engine.store.types import UTCDateTime

CALL_STATUSES = (
    "queued", "ringing", "in_progress", "on_hold", "transferring",
    "completed", "failed", "busy", "no_answer", "canceled",
)
LIVE_STATUSES = ("queued", "ringing", "in_progress", "on_hold", "transferring")
CALL_SORTS = ("initiated_at", "answered_at", "ended_at", "duration_seconds", "created_at",
              # the calls list's other sortable columns (migration 0006); agent by id: its name
              # lives on the agent table, which no index of ``call`` can order by
              "status", "direction", "from_number", "agent_id", "cost_total_micro_usd")


# Carried by every sort index after (organization_id, <sort>, id), so a sorted walk filtered by a
# time range, status, direction or search match (by seq) reads the index alone.
SORT_INDEX_COVER = ("initiated_at", "status", "direction", "seq")


def _sort_indexes() -> list[Index]:
    """One index per sort column, led by the organization."""
    return [
        Index(f"ix_call_{col}", "organization_id", col, "id",
              *(c for c in SORT_INDEX_COVER if c != col))
        for col in CALL_SORTS
    ]


TEST_CALLS_INDEX = "ix_call_test"

CALL_TYPES = ("phone_call", "web_call", "test_call")
CALL_TRANSPORTS = ("sip", "webrtc")
CALL_DIRECTIONS = ("inbound", "outbound")
# A call's tags: what a client may give (a person's labels, not a data store)
TAG_MAX_LENGTH = 50
TAGS_MAX = 20

# Columns the calls list filters by equality besides the tallied ones (migration 0008): each has
# an index (organization_id, <column>, initiated_at, id, seq), so a filtered walk on the default
# sort and the filter's total read the index alone.
FILTER_INDEXES = {
    "ix_call_transport_type_initiated_at": ("transport", "type"),
    "ix_call_outcome_initiated_at": ("outcome",),
    "ix_call_sentiment_initiated_at": ("sentiment",),
    "ix_call_disconnect_reason_initiated_at": ("disconnect_reason",),
}
# Calls with a recording (the ``has_recording`` filter), newest first, by organization
RECORDED_INDEX = "ix_call_recorded"


class Call(Record, table=True):
    """One call: its parties, lifecycle, recording, analysis, costs and latency."""

    __table_args__ = (
        *_sort_indexes(),
        Index("ix_call_status_initiated_at", "organization_id", "status", "initiated_at", "id"),
        Index("ix_call_direction_initiated_at", "organization_id", "direction", "initiated_at", "id"),
        Index("ix_call_agent_initiated_at", "organization_id", "agent_id", "initiated_at", "id"),
        Index("ix_call_campaign_initiated_at", "organization_id", "campaign_id", "initiated_at", "id"),
        Index("ix_call_number_initiated_at", "organization_id", "phone_number_id", "initiated_at", "id"),
        *(Index(name, "organization_id", *cols, "initiated_at", "id", "seq")
          for name, cols in FILTER_INDEXES.items()),
        Index(RECORDED_INDEX, "organization_id", "initiated_at", "id", "seq",
              sqlite_where=text("recording_path IS NOT NULL"),
              postgresql_where=text("recording_path IS NOT NULL")),
        Index("ix_call_sip_call_id", "sip_call_id"),
        Index("ix_call_seq", "seq", unique=True),
        # Test calls are few and left out of the default list: a partial index of them alone,
        # carrying what the list filters by equality, its time range and seq, so that counting
        # the test calls a filter matches, and listing their seqs, read no row
        Index(TEST_CALLS_INDEX, "organization_id", "status", "direction", "agent_id",
              "campaign_id", "phone_number_id", "initiated_at", "seq",
              sqlite_where=text("is_test = 1"), postgresql_where=text("is_test")),
    )

    # A unique integer given on insert (SQLite: by a trigger, max + 1; PostgreSQL: a sequence) and
    # never changed: the rowid of the SQLite search tables (migration 0002).
    seq: int | None = Field(default=None, sa_type=BigInteger().with_variant(Integer(), "sqlite"))

    type: str = Field(default="phone_call", max_length=20)  # phone_call | web_call | test_call
    transport: str = Field(default="sip", max_length=10)  # sip | webrtc
    direction: str = Field(default="inbound", max_length=10)  # inbound | outbound
    from_number: str = Field(default="", max_length=255)
    to_number: str = Field(default="", max_length=255)
    agent_id: str | None = Field(default=None, max_length=36)
    phone_number_id: str | None = Field(default=None, max_length=36)
    sip_trunk_id: str | None = Field(default=None, max_length=36)
    campaign_id: str | None = Field(default=None, max_length=36)
    lead_id: str | None = Field(default=None, max_length=36)
    user_id: str | None = Field(default=None, max_length=36)
    sip_call_id: str | None = Field(default=None, max_length=255)

    status: str = Field(default="queued", max_length=20)
    initiated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_seconds: int | None = Field(default=None)
    disconnect_reason: str | None = Field(default=None, max_length=50)
    sip_status_code: int | None = Field(default=None)
    ringing_timeout_seconds: int = Field(default=30)

    recording_status: str = Field(default="none", max_length=20)  # none|recording|completed|failed
    recording_path: str | None = Field(default=None, max_length=1000)
    recording_duration_ms: int | None = Field(default=None)

    transcript: str = Field(default="")
    summary: str = Field(default="")
    sentiment: str | None = Field(default=None, max_length=20)  # positive | neutral | negative
    sentiment_score: int | None = Field(default=None)  # 0..10
    outcome: str | None = Field(default=None, max_length=100)
    success: bool | None = Field(default=None)
    structured_data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    analysis_status: str = Field(default="pending", max_length=20)  # pending|heuristic|llm|failed
    post_call_webhook_status: str | None = Field(default=None, max_length=20)

    cost_stt_micro_usd: int = Field(default=0)
    cost_llm_micro_usd: int = Field(default=0)
    cost_tts_micro_usd: int = Field(default=0)
    cost_telephony_micro_usd: int = Field(default=0)
    cost_total_micro_usd: int = Field(default=0)
    # {"stt_audio_duration_seconds", "tts_characters", "llm_prompt_tokens", "llm_completion_tokens"}
    cost_details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

    latency_p50_ms: int | None = Field(default=None)
    latency_p95_ms: int | None = Field(default=None)
    # [{"turn", "eou_ms", "stt_ms", "brain_ms", "tts_ttfb_ms", "voice_to_voice_ms"}]
    latency_turns: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)

    # sip call-id, stt language, tts voice, barge_in_count, menu_matches, error_code, custom fields
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    dynamic_variables: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    notes: str = Field(default="")
    # a person's labels; ``call_tag`` holds one row per tag for the list's filter (migration 0008)
    tags: list[str] = Field(default_factory=list, sa_column=Column(
        "tags", JSON, nullable=False, server_default=text("'[]'")))
    is_test: bool = Field(default=False)
    rating: int | None = Field(default=None)
    feedback: str | None = Field(default=None)
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# One row per tag of a call, kept from ``call.tags`` by triggers (SQLite, migration 0008): the
# calls list's ``tag`` filter reads the call ids of a tag from its primary key.
CALL_TAG = Table(
    "call_tag", SQLModel.metadata,
    Column("organization_id", String(36), primary_key=True),
    Column("tag", String(TAG_MAX_LENGTH), primary_key=True),
    Column("call_id", String(36), primary_key=True),
    sqlite_with_rowid=False,
)


class TranscriptEntry(Record, table=True):
    """One utterance of a call, with who said it, when, by which engine, and the turn's latency."""

    __tablename__ = "transcript_entry"
    __table_args__ = (Index("ix_transcript_entry_call_index", "call_id", "index"),)

    call_id: str = Field(max_length=36)
    index: int = Field(default=0)
    source: str = Field(max_length=20)  # user | agent | human_agent | supervisor | system
    text: str = Field(default="")
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider: str | None = Field(default=None, max_length=50)
    model: str | None = Field(default=None, max_length=100)
    confidence: float | None = Field(default=None)
    eou_ms: int | None = Field(default=None)
    stt_ms: int | None = Field(default=None)
    brain_ms: int | None = Field(default=None)
    tts_ttfb_ms: int | None = Field(default=None)
    voice_to_voice_ms: int | None = Field(default=None)
    interrupted: bool = Field(default=False)
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )


class CallEvent(Record, table=True):
    """An append-only log of what happened on a call; also the supervisor's audit trail."""

    __tablename__ = "call_event"
    __table_args__ = (Index("ix_call_event_call_occurred", "call_id", "occurred_at"),)

    call_id: str = Field(max_length=36)
    provider: str = Field(max_length=20)  # sip | webrtc | engine | supervisor
    event_type: str = Field(max_length=50)
    status: str | None = Field(default=None, max_length=30)
    failure_cause: str | None = Field(default=None, max_length=100)
    sip_status_code: int | None = Field(default=None)
    sip_status: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Transfer(Record, table=True):
    """A blind or warm transfer of a call, with its routing attempts and fallback."""

    __table_args__ = (Index("ix_transfer_call", "call_id"),)

    call_id: str = Field(max_length=36)
    kind: str = Field(default="blind", max_length=10)  # blind | warm
    # requested | dialing | screening | consulting | bridging | completed | failed | canceled
    status: str = Field(default="requested", max_length=20)
    transfer_to: str = Field(default="", max_length=255)
    destinations: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    consultation_room: str | None = Field(default=None, max_length=100)
    participants: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    outbound_trunk_id: str | None = Field(default=None, max_length=36)
    screening_prompt: str = Field(default="")
    summary: str = Field(default="")
    failure_cause: str | None = Field(default=None, max_length=50)
    sip_status_code: int | None = Field(default=None)
    routing_attempts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    next_transfer_id: str | None = Field(default=None, max_length=36)
    # {"strategy": "return_to_agent" | "take_message" | "end_call", "message"}
    fallback: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    ringing_timeout_seconds: int = Field(default=30)
    requested_by: str | None = Field(default=None, max_length=200)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )


class UsageLog(Record, table=True):
    """A metered quantity (STT seconds, TTS characters, LLM tokens, telephony minutes) and its cost."""

    __tablename__ = "usage_log"
    __table_args__ = (Index("ix_usage_log_org_occurred", "organization_id", "occurred_at"),)

    call_id: str | None = Field(default=None, index=True, max_length=36)
    kind: str = Field(max_length=20)  # stt | tts | llm | telephony
    quantity: float = Field(default=0.0)
    unit: str = Field(max_length=20)  # seconds | characters | tokens | minutes
    cost_micro_usd: int = Field(default=0)
    provider: str | None = Field(default=None, max_length=50)
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
