"""A month of past calls for the demo organization."""

from __future__ import annotations

from engine.demo.history.build import (
    STT_MICRO_USD_PER_SECOND,
    TELEPHONY_MICRO_USD_PER_MINUTE,
    TTS_MICRO_USD_PER_CHARACTER,
    CallBuilder,
    History,
    LeadProgress,
)
from engine.demo.history.plan import CallPlan, plan_calls

__all__ = ["STT_MICRO_USD_PER_SECOND", "TELEPHONY_MICRO_USD_PER_MINUTE",
           "TTS_MICRO_USD_PER_CHARACTER", "CallBuilder", "CallPlan", "History", "LeadProgress",
           "plan_calls"]
