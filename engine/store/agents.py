"""Agents and the templates they use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from engine.store.base import Record


class Agent(Record, table=True):
    """An AI voice agent: what it says, how it hears, thinks and speaks, and its limits."""

    name: str = Field(max_length=200, index=True)
    description: str = Field(default="")
    language: str = Field(default="en-US", max_length=20)
    first_message: str = Field(default="")
    system_prompt: str = Field(default="")
    # scripted brain: greeting, intents, slots, menus, answers (see engine/agents)
    script: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # {"kind": "scripted" | "llm", "base_url", "model", "temperature", "credential_id"}
    brain: dict[str, Any] = Field(default_factory=lambda: {"kind": "scripted"}, sa_type=JSON)
    # {"engine": "whisper" | "vosk", "model", "language"}
    stt: dict[str, Any] = Field(default_factory=lambda: {"engine": "whisper"}, sa_type=JSON)
    # {"engine": "espeak-ng", "voice", "rate", "pitch"}
    tts: dict[str, Any] = Field(default_factory=lambda: {"engine": "espeak-ng"}, sa_type=JSON)
    tool_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    analysis_template_id: str | None = Field(default=None, max_length=36)
    idle_timeout_seconds: int = Field(default=10)
    idle_max_prompts: int = Field(default=1)
    max_duration_seconds: int = Field(default=1800)
    interruptible: bool = Field(default=True)
    voicemail_message: str = Field(default="")
    end_call_message: str = Field(default="")
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )


class ToolTemplate(Record, table=True):
    """A tool an agent may call: a webhook function, end the call, or transfer it."""

    __tablename__ = "tool_template"

    name: str = Field(max_length=200)
    type: str = Field(default="function", max_length=20)  # function | end_call | transfer_call
    description: str = Field(default="")
    # {"name", "description", "parameters" (JSON schema), "url", "headers", "timeout_seconds"}
    function: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # {"destinations": [{"to", "label"}], "kind": "blind" | "warm", "screening_prompt"}
    transfer: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )


class AnalysisTemplate(Record, table=True):
    """How a finished call is analysed: summary, structured data, outcome, success, sentiment."""

    __tablename__ = "analysis_template"

    name: str = Field(max_length=200)
    summary_prompt: str = Field(default="")
    structured_data_schema: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    outcomes: list[str] = Field(default_factory=list, sa_type=JSON)
    success_criteria: str = Field(default="")
    sentiment_enabled: bool = Field(default=True)
