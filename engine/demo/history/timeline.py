"""Timing of a generated conversation: when each line starts and ends, and each turn's latency.

The stage latencies follow the pipeline of DESIGN §5–6: end of turn after a short silence,
speculative recognition started at silence onset (so the reply waits for the slower of the two),
a scripted brain that answers in milliseconds (a webhook tool adds its round trip), espeak-ng's
first chunk almost at once, then the jitter buffer and packetization on the way out.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.demo.conversations import Turn

AGENT_CHARS_PER_SECOND = 14.5  # espeak-ng at ~175 words per minute
CALLER_SECONDS_PER_WORD = 0.34  # conversational speech, ~175 words per minute with pauses
EOU_MEDIAN_MS = 240  # end-of-turn silence (speech issue: start at 200–300 ms)
STT_MEDIAN_MS = {"whisper": 270, "vosk": 70}  # whisper tiny.en ~290 ms per utterance on 2 cores
TOOL_MEDIAN_MS = 140  # webhook round trip of the order lookup
OUTPUT_PATH_MS = (18, 45)  # jitter buffer + 20 ms packetization, loopback to the trunk
CONFIDENCE = {"whisper": (0.82, 0.97), "vosk": (0.74, 0.95)}


@dataclass
class TimedLine:
    turn: Turn
    started_at: datetime
    ended_at: datetime
    interrupted: bool = False
    latency: dict[str, int] | None = None  # on agent lines that answer a caller
    confidence: float | None = None


@dataclass
class Timeline:
    lines: list[TimedLine] = field(default_factory=list)
    barge_ins: int = 0

    @property
    def turn_latencies(self) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        for line in self.lines:
            if line.latency is not None:
                turns.append({"turn": len(turns) + 1, **line.latency})
        return turns


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def turn_latency(rng: random.Random, stt_engine: str, with_tool: bool) -> dict[str, int]:
    """One turn's stage latencies (ms) and the resulting voice-to-voice figure."""
    eou = int(min(max(rng.gauss(EOU_MEDIAN_MS, 25), 190), 340))
    stt = int(_lognormal(rng, STT_MEDIAN_MS.get(stt_engine, 200), 0.25))
    brain = int(_lognormal(rng, 3.0, 0.4)) + (int(_lognormal(rng, TOOL_MEDIAN_MS, 0.35)) if with_tool
                                               else 0)
    tts = max(1, int(_lognormal(rng, 1.5, 0.5)))
    out = rng.randint(*OUTPUT_PATH_MS)
    v2v = max(eou, stt) + brain + tts + out
    return {"eou_ms": eou, "stt_ms": stt, "brain_ms": brain, "tts_ttfb_ms": tts,
            "voice_to_voice_ms": v2v}


def lay_out(turns: list[Turn], rng: random.Random, answered_at: datetime, stt_engine: str
            ) -> Timeline:
    """Times for every line, starting at the answer."""
    timeline = Timeline()
    t = answered_at + timedelta(milliseconds=rng.randint(250, 600))
    previous: TimedLine | None = None
    for turn in turns:
        t += timedelta(seconds=turn.pause_s)
        if turn.source == "agent" or turn.source == "human_agent":
            latency = None
            if previous is not None and previous.turn.source == "user" and turn.source == "agent":
                latency = turn_latency(rng, stt_engine, turn.tool is not None)
                t = previous.ended_at + timedelta(milliseconds=latency["voice_to_voice_ms"])
            elif turn.source == "human_agent":
                t += timedelta(milliseconds=rng.randint(400, 1200))
            seconds = len(turn.text) / AGENT_CHARS_PER_SECOND
            line = TimedLine(turn, t, t + timedelta(seconds=seconds), latency=latency)
            if turn.barge_in:
                line.ended_at = t + timedelta(seconds=seconds * rng.uniform(0.45, 0.8))
                line.interrupted = True
                timeline.barge_ins += 1
            t = line.ended_at
        elif turn.source == "user":
            if previous is not None and previous.interrupted:
                start = previous.ended_at - timedelta(milliseconds=rng.randint(90, 180))
            else:
                start = t + timedelta(milliseconds=rng.randint(300, 1400))
            if turn.dtmf:
                seconds = 0.25
            else:
                seconds = len(turn.text.split()) * CALLER_SECONDS_PER_WORD + rng.uniform(0.1, 0.5)
            line = TimedLine(turn, start, start + timedelta(seconds=seconds))
            if not turn.dtmf:
                lo, hi = CONFIDENCE.get(stt_engine, (0.8, 0.95))
                line.confidence = round(rng.uniform(lo, hi), 3)
            t = line.ended_at
        else:  # system lines mark an event in the conversation; they take no time
            line = TimedLine(turn, t, t)
        timeline.lines.append(line)
        previous = line
    return timeline


__all__ = ["TimedLine", "Timeline", "lay_out", "turn_latency"]
