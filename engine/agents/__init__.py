"""Agent brains: ``scripted`` (offline default, runs Agent.script) and ``llm`` (chat completions)."""

from __future__ import annotations

from engine.agents.factory import BRAIN_KINDS, build_brain
from engine.agents.llm import LlmBrain, LlmConfig
from engine.agents.scripted import ScriptedBrain
from engine.agents.tools import END_CALL, FUNCTION, TRANSFER_CALL, ToolError, ToolRunner, ToolSpec
from engine.speech.brain import Brain, BrainOutput, collect, spoken_text

__all__ = [
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
]
