"""What a call cost, from local rates: STT seconds, TTS characters, LLM tokens, telephony minutes.

Everything runs on this machine, so these are notional list prices that make a call show the
same cost fields as hosted platforms do. Each rate can be changed with an environment variable
(``SWITCHBOARD_RATE_<NAME>``, micro-USD per unit).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

# $0.006 per minute of recognised speech: the hosted Whisper API's list price.
STT_MICRO_USD_PER_SECOND = 100
# $15 per million characters: standard cloud TTS voices' list price.
TTS_MICRO_USD_PER_CHARACTER = 15
# $0.15 / $0.60 per million prompt / completion tokens: a small hosted chat model's list price.
LLM_MICRO_USD_PER_PROMPT_TOKEN = 0.15
LLM_MICRO_USD_PER_COMPLETION_TOKEN = 0.60
# $0.0085 per minute: US SIP trunk termination/origination, billed per started minute.
TELEPHONY_MICRO_USD_PER_MINUTE = 8_500
RATE_ENV_PREFIX = "SWITCHBOARD_RATE_"


@dataclass(frozen=True)
class Rates:
    stt_per_second: float = STT_MICRO_USD_PER_SECOND
    tts_per_character: float = TTS_MICRO_USD_PER_CHARACTER
    llm_per_prompt_token: float = LLM_MICRO_USD_PER_PROMPT_TOKEN
    llm_per_completion_token: float = LLM_MICRO_USD_PER_COMPLETION_TOKEN
    telephony_per_minute: float = TELEPHONY_MICRO_USD_PER_MINUTE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Rates:
        """Defaults, each overridden by ``SWITCHBOARD_RATE_<FIELD>`` when set."""
        values: dict[str, float] = {}
        for f in fields(cls):
            raw = environ.get(RATE_ENV_PREFIX + f.name.upper())
            if raw:
                values[f.name] = float(raw)
        return cls(**values)


@dataclass
class CallUsage:
    stt_seconds: float = 0.0
    tts_characters: int = 0
    llm_prompt_tokens: int = 0
    llm_completion_tokens: int = 0
    telephony_seconds: float = 0.0
    stt_provider: str = ""
    tts_provider: str = ""
    llm_provider: str = ""


def call_costs(usage: CallUsage, rates: Rates | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call's cost fields and its usage-log rows (``kind``, ``quantity``, ``unit``, cost)."""
    rates = rates or Rates()
    minutes = math.ceil(usage.telephony_seconds / 60) if usage.telephony_seconds > 0 else 0
    stt = round(usage.stt_seconds * rates.stt_per_second)
    tts = round(usage.tts_characters * rates.tts_per_character)
    llm = round(usage.llm_prompt_tokens * rates.llm_per_prompt_token
                + usage.llm_completion_tokens * rates.llm_per_completion_token)
    telephony = round(minutes * rates.telephony_per_minute)
    call = {
        "cost_stt_micro_usd": stt, "cost_tts_micro_usd": tts, "cost_llm_micro_usd": llm,
        "cost_telephony_micro_usd": telephony, "cost_total_micro_usd": stt + tts + llm + telephony,
        "cost_details": {"stt_audio_duration_seconds": round(usage.stt_seconds, 2),
                         "tts_characters": usage.tts_characters,
                         "llm_prompt_tokens": usage.llm_prompt_tokens,
                         "llm_completion_tokens": usage.llm_completion_tokens,
                         "telephony_minutes": minutes},
    }
    rows = [
        {"kind": "stt", "quantity": round(usage.stt_seconds, 2), "unit": "seconds",
         "cost_micro_usd": stt, "provider": usage.stt_provider or None},
        {"kind": "tts", "quantity": float(usage.tts_characters), "unit": "characters",
         "cost_micro_usd": tts, "provider": usage.tts_provider or None},
        {"kind": "telephony", "quantity": float(minutes), "unit": "minutes",
         "cost_micro_usd": telephony, "provider": "sip"},
    ]
    if usage.llm_prompt_tokens or usage.llm_completion_tokens:
        rows.append({"kind": "llm", "quantity": float(usage.llm_prompt_tokens
                                                      + usage.llm_completion_tokens),
                     "unit": "tokens", "cost_micro_usd": llm, "provider": usage.llm_provider or None})
    return call, rows


# -- how costs read: currency, and each line's metered unit and price unit ------------------------

CURRENCY = "USD"  # every amount is in micro-USD (millionths of a US dollar), as integers
AMOUNT_UNIT = "micro_usd"
# kind -> (the metered unit of its usage rows, the unit its price is quoted per, how many metered
# units that is): STT is metered in seconds and priced per minute like the hosted Whisper API, TTS
# per 1,000 characters and LLM tokens per million, as their providers' list prices are.
PRICE_UNITS: dict[str, tuple[str, str, float]] = {
    "stt": ("seconds", "per minute", 60.0),
    "tts": ("characters", "per 1k characters", 1_000.0),
    "llm": ("tokens", "per 1M tokens", 1_000_000.0),
    "telephony": ("minutes", "per minute", 1.0),
}


def price_unit(kind: str) -> str | None:
    """``per minute``, ``per 1k characters``...: the unit ``kind``'s price is quoted per."""
    unit = PRICE_UNITS.get(kind)
    return unit[1] if unit is not None else None


def _line(kind: str, metric: str, quantity: float, rate_per_unit: float, cost: int,
          provider: str | None = None) -> dict[str, Any]:
    unit, per, scale = PRICE_UNITS[kind]
    return {"kind": kind, "metric": metric, "quantity": quantity, "unit": unit,
            "rate_micro_usd": round(rate_per_unit * scale, 4), "rate_unit": per,
            "cost_micro_usd": cost, "currency": CURRENCY, "provider": provider}


def cost_lines(costs: Mapping[str, int], details: Mapping[str, Any],
               rates: Rates | None = None) -> list[dict[str, Any]]:
    """A call's cost line by line: what was metered (``quantity`` in ``unit``), at what price
    (``rate_micro_usd`` ``rate_unit``), for how much. ``costs`` holds the call's ``stt``, ``tts``,
    ``llm`` and ``telephony`` amounts, ``details`` its ``cost_details``; the LLM line is split
    into prompt and completion tokens (the conversation's and its analysis's together), whose
    amounts add up to the call's LLM cost."""
    rates = rates or Rates.from_env()

    def number(key: str) -> float:
        value = details.get(key)
        return float(value) if isinstance(value, int | float) else 0.0

    prompt = number("llm_prompt_tokens") + number("analysis_llm_prompt_tokens")
    completion = number("llm_completion_tokens") + number("analysis_llm_completion_tokens")
    llm = int(costs.get("llm") or 0)
    prompt_cost = min(llm, round(prompt * rates.llm_per_prompt_token))
    return [
        _line("stt", "audio_seconds", number("stt_audio_duration_seconds"), rates.stt_per_second,
              int(costs.get("stt") or 0)),
        _line("tts", "characters", number("tts_characters"), rates.tts_per_character,
              int(costs.get("tts") or 0)),
        _line("llm", "prompt_tokens", prompt, rates.llm_per_prompt_token, prompt_cost),
        _line("llm", "completion_tokens", completion, rates.llm_per_completion_token,
              llm - prompt_cost),
        _line("telephony", "minutes", number("telephony_minutes"), rates.telephony_per_minute,
              int(costs.get("telephony") or 0)),
    ]


__all__ = ["AMOUNT_UNIT", "CURRENCY", "PRICE_UNITS", "CallUsage", "Rates", "call_costs",
           "cost_lines", "price_unit"]
