"""Voice-to-voice latency over real SIP/RTP on loopback with the scripted brain.

sipp calls an engine on loopback and plays N espeak-ng caller turns (G.711 A-law); the agent
(whisper tiny.en, scripted brain, espeak-ng) answers each. Prints voice-to-voice p50/p95/max
(the caller's last voiced frame into the agent's mixer -> the agent's first voiced frame out of
it, on the media clock), the per-stage breakdown, and STT CPU-seconds per audio-second (the
engine process's CPU time during the call over the audio fed to the recogniser).

    python bench/voice_latency.py [TURNS]      (default 20; DESIGN §8 targets p50 <= 350 ms,
                                                p95 <= 600 ms)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

from sqlmodel import select

from engine.app import Engine
from engine.calls.metrics import stage_summary
from engine.settings import Settings
from engine.speech.sipcaller import CallerLine, render_lines, scenario, write_pcap
from engine.store import Agent, Call, PhoneNumber, TranscriptEntry, session_scope

NUMBER = "+15550199"
TURN_GAP_S = 4.5  # caller line every this many seconds: the agent's short answer fits between
SCRIPT = {"greeting": "Hello.", "fallback": {"say": ["Okay."], "max_consecutive": 1000},
          "intents": [{"name": "echo", "keywords": ["weather", "today", "number"],
                       "actions": [{"say": "Sure thing."}]}]}
PHRASES = ("What is the weather like today?", "Tell me the number please.",
           "I would like some help today.")


async def run(turns: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    try:
        engine = Engine(Settings(data_dir=tmp, sip_enabled=True, sip_host="127.0.0.1", sip_port=0))
        engine.setup()
        with session_scope(engine.db) as session:
            agent = Agent(organization_id=engine.organization_id, name="Bench", script=SCRIPT,
                          idle_timeout_seconds=60, tts={"voice": "en-us", "rate": 190})
            session.add(agent)
            session.add(PhoneNumber(organization_id=engine.organization_id, number=NUMBER,
                                    agent_id=agent.id))
        await engine.start()
        engine.telephony.agents.models.wait_warm(60)
        lines = [CallerLine(2.0 + i * TURN_GAP_S, PHRASES[i % len(PHRASES)]) for i in range(turns)]
        audio = render_lines(lines, tail_s=3.0)
        pcap = write_pcap(audio.pcm, tmp / "caller.pcap")
        xml = scenario(pcap, audio.seconds + 0.5, tmp / "caller.xml")
        from tests.integration.sip.conftest import run_sipp

        stt = engine.telephony.agents.models.whisper()
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
        print(f"voice_latency: {len(rows)} answered turns of {turns} (whisper tiny.en, scripted "
              f"brain, espeak-ng, G.711 over SIP/RTP on loopback)")
        for stage, figures in stage_summary(rows).items():
            print(f"  {stage:18} p50 {figures['p50']!s:>6}  p95 {figures['p95']!s:>6}  "
                  f"max {figures['max']!s:>6}")
        discards = (call.metadata_ or {}).get("speculative_discards")
        print(f"  speculation: {reuse[0]} peeks, {reuse[1]} finals reused the peek (hits), "
              f"{reuse[2]} finals decoded again (misses), {discards} discarded on resumed speech")
        print(f"  engine CPU {cpu:.1f} s for {stt_s:.1f} s of recognised audio: "
              f"{cpu / stt_s if stt_s else float('nan'):.3f} CPU-s per audio-s (whole engine)")
        print("  targets: voice_to_voice p50 <= 350 ms, p95 <= 600 ms")
        print("  vosk: no English vosk model is installed; the Korean run is not part of this version")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
