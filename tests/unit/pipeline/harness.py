"""A virtual-time call for the pipeline: a fake mixer ticks every 20 ms, plays a scripted caller
into the agent's sink and records every frame the agent's source gives back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.speech.audio import FRAME_BYTES
from engine.speech.brain import Brain
from engine.speech.fakes import FakeSttEngine, FakeTTS
from engine.speech.frames import BrainEvent, ToolCall
from engine.speech.pipeline import Line, Pipeline, PipelineConfig, PipelineObserver

VOICED = b"\x10\x27" * (FRAME_BYTES // 2)  # amplitude 10000
SILENT = bytes(FRAME_BYTES)
AGENT_VOICE = b"\xe8\x03" * (FRAME_BYTES // 2)  # amplitude 1000: voiced for the source


def fake_vad(pcm: bytes) -> bool:
    return pcm[1] != 0


def caller(*segments: tuple[str, float]) -> list[bytes]:
    """Frames of ("speech" | "silence", seconds) segments."""
    frames: list[bytes] = []
    for kind, seconds in segments:
        frames += [VOICED if kind == "speech" else SILENT] * round(seconds / 0.02)
    return frames


@dataclass
class Recorder(PipelineObserver):
    lines: list[Line] = field(default_factory=list)
    partials: list[tuple[int, str]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    turns: list[Line] = field(default_factory=list)
    brain_events: list[BrainEvent] = field(default_factory=list)
    tools: list[ToolCall] = field(default_factory=list)
    barge_ins: list[tuple[int, float]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)
    pipeline: Pipeline | None = None

    def partial(self, index: int, text: str, started_at: float) -> None:
        self.partials.append((index, text))

    def final(self, line: Line) -> None:
        self.lines.append(line)

    def state(self, state: str) -> None:
        self.states.append(state)

    def turn(self, line: Line) -> None:
        self.turns.append(line)

    def brain_event(self, event: BrainEvent) -> None:
        self.brain_events.append(event)

    def tool_call(self, call: ToolCall) -> None:
        self.tools.append(call)

    def barge_in(self, count: int) -> None:
        assert self.pipeline is not None
        self.barge_ins.append((count, self.pipeline.audio.now))

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))

    def hangup(self, reason: str) -> None:
        self.hangups.append(reason)

    def said(self, source: str = "agent") -> list[str]:
        return [line.text for line in self.lines if line.source == source]


@dataclass
class CallResult:
    pipeline: Pipeline
    observer: Recorder
    out: list[bool]  # per tick: a voiced agent frame went out
    ticks: int


async def run_call(brain: Brain, frames: Sequence[bytes], texts: Sequence[str | Sequence[str]] = (),
                   *, config: PipelineConfig | None = None, decode_s: float = 0.15,
                   tts_first_s: float = 0.01, frames_per_char: float = 0.5,
                   dtmf: dict[float, str] | None = None, after_hangup_s: float = 0.2) -> CallResult:
    """Plays ``frames`` as the caller (then silence until a hang-up, at most 2 s more)."""
    observer = Recorder()
    pipeline = Pipeline(brain, FakeSttEngine(list(texts), decode_s=decode_s),
                        FakeTTS(tts_first_s, frames_per_char, AGENT_VOICE), observer,
                        config or PipelineConfig(), vad=fake_vad)
    observer.pipeline = pipeline
    await pipeline.start()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    out: list[bool] = []
    keys = dict(dtmf or {})
    tick = 0
    hung_at: int | None = None
    limit = len(frames) + 100
    while tick < limit:
        await asyncio.sleep(max(0.0, t0 + tick * 0.02 - loop.time()))
        pcm = pipeline.audio.source()
        out.append(pcm is not None and pcm == AGENT_VOICE)
        pipeline.audio.sink(frames[tick] if tick < len(frames) else SILENT)
        for at in [a for a in keys if a <= tick * 0.02]:
            pipeline.dtmf(keys.pop(at))
        tick += 1
        await asyncio.sleep(0)
        if observer.hangups and hung_at is None:
            hung_at = tick
        if hung_at is not None and tick - hung_at >= after_hangup_s / 0.02:
            break
    await pipeline.close()
    return CallResult(pipeline, observer, out, tick)
