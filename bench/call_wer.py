"""Whisper's word error rate on live SIP calls against the same prompts decoded directly.

sipp calls an engine on loopback and plays N Asterisk English prompts (real human telephone
speech, see engine/speech/corpus.py) as G.711 A-law RTP, each followed by a pause longer than the
end of turn; the agent (whisper tiny.en, a scripted brain answering "Okay.") stores what it heard
as transcript entries (source ``user``). Prints the WER of those entries against the prompts'
transcripts, and the WER of the same prompts decoded straight from their files (figures, never
pass/fail). Needs sipp and the Debian packages asterisk-core-sounds-en-wav and -en.

    python -m bench.call_wer [N] [--per-call K]     (default 20 prompts, 10 per call)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
from sqlmodel import select

from bench.results import report
from engine.app import Engine
from engine.settings import Settings
from engine.speech.audio import SAMPLE_RATE
from engine.speech.corpus import INSTALL_HINT, Prompt, prompts
from engine.speech.sipcaller import scenario, write_pcap
from engine.speech.wer import corpus_wer, wer
from engine.store import Agent, Call, PhoneNumber, TranscriptEntry, session_scope

NUMBER = "+15550177"
LEAD_S = 1.5  # silence before the first prompt (the greeting plays meanwhile)
GAP_S = 1.6  # silence after each prompt: end of turn (240 ms) plus the agent's short answer
TAIL_S = 2.5  # after the last prompt, so its final is stored before the caller hangs up
SLACK_S = 0.8  # a transcript entry belongs to the prompt it starts within this much of
PROMPT_MAX_S = 5.0
SCRIPT = {"greeting": "Hi.", "fallback": {"say": ["Okay."], "max_consecutive": 10_000}}


def select_prompts(count: int, *, max_s: float = PROMPT_MAX_S, min_words: int = 3) -> list[Prompt]:
    """``count`` sentence prompts (no digits or letters) spread evenly over the corpus."""
    corpus = [p for p in prompts(min_words=min_words) if "/" not in p.key and p.duration_s <= max_s]
    step = max(1, len(corpus) // max(1, count))
    return corpus[::step][:count]


@dataclass
class CallHeard:
    """One call's prompts and what the agent heard during each of them."""

    pairs: list[tuple[str, str]]  # (prompt text, the user entries started within its span)
    keys: list[str]
    sip_ok: bool
    stderr: str = ""


def caller_audio(chosen: Sequence[Prompt]) -> tuple[bytes, list[tuple[float, float]]]:
    """The prompts one after another with pauses, 16 kHz PCM, and each prompt's span (s)."""
    parts = [np.zeros(int(LEAD_S * SAMPLE_RATE), dtype="<i2")]
    spans: list[tuple[float, float]] = []
    at = LEAD_S
    for prompt in chosen:
        speech = np.frombuffer(prompt.pcm16k(), dtype="<i2")
        spans.append((at, at + len(speech) / SAMPLE_RATE))
        at += len(speech) / SAMPLE_RATE + GAP_S
        parts += [speech, np.zeros(int(GAP_S * SAMPLE_RATE), dtype="<i2")]
    parts.append(np.zeros(int(TAIL_S * SAMPLE_RATE), dtype="<i2"))
    return np.concatenate(parts).tobytes(), spans


def assign(entries: Sequence[tuple[float, str]], spans: Sequence[tuple[float, float]]) -> list[str]:
    """Each prompt's heard text: the entries (start s from the answer, text) starting in its span."""
    heard: list[list[str]] = [[] for _ in spans]
    for start, text in sorted(entries):
        for i, (begin, end) in enumerate(spans):
            if begin - SLACK_S <= start <= end + SLACK_S:
                heard[i].append(text)
                break
    return [" ".join(texts) for texts in heard]


def setup_engine(data_dir: Path) -> Engine:
    engine = Engine(Settings(data_dir=data_dir, sip_enabled=True, sip_host="127.0.0.1", sip_port=0))
    engine.setup()
    with session_scope(engine.db) as session:
        agent = Agent(organization_id=engine.organization_id, name="Listener", script=SCRIPT,
                      first_message=SCRIPT["greeting"], stt={"engine": "whisper", "model": "tiny.en"},
                      idle_timeout_seconds=120, tts={"voice": "en-us", "rate": 190})
        session.add(agent)
        session.add(PhoneNumber(organization_id=engine.organization_id, number=NUMBER,
                                agent_id=agent.id))
    return engine


async def play_prompts(engine: Engine, chosen: Sequence[Prompt], workdir: Path) -> CallHeard:
    """One sipp call into a started engine, playing ``chosen``; what the agent stored."""
    from tests.harness.sip_engine import SipEngine
    from tests.harness.sipp import run_sipp

    assert engine.telephony is not None
    known = {call.id for call in SipEngine(engine, engine.telephony.port, NUMBER, "").calls()}
    pcm, spans = caller_audio(chosen)
    seconds = len(pcm) / 2 / SAMPLE_RATE
    pcap = write_pcap(pcm, workdir / f"prompts-{len(known)}.pcap")
    xml = scenario(pcap, seconds + 0.5, workdir / f"prompts-{len(known)}.xml")
    result = await run_sipp(xml, engine.telephony.port, NUMBER.lstrip("+"), limit_s=seconds + 30)
    sip = SipEngine(engine, engine.telephony.port, NUMBER, "")
    await sip.settled(30)
    [call] = [c for c in sip.calls() if c.id not in known]
    with session_scope(engine.db) as session:
        row = session.exec(select(Call).where(Call.id == call.id)).one()
        rows = session.exec(select(TranscriptEntry).where(TranscriptEntry.call_id == call.id)).all()
        origin: datetime | None = row.answered_at
        timed = [(e.started_at, e.source, e.text) for e in rows if e.started_at is not None]
    if origin is None or not timed:
        origin = min((t for t, _, _ in timed), default=None)
    entries = [((t - origin).total_seconds(), text) for t, source, text in timed
               if source == "user" and origin is not None]
    heard = assign(entries, spans)
    return CallHeard([(p.text, h) for p, h in zip(chosen, heard, strict=True)],
                     [p.key for p in chosen], result.returncode == 0, result.stderr[-2000:])


async def run(count: int, per_call: int, worst: int) -> int:
    chosen = select_prompts(count)
    if not chosen:
        print(f"no Asterisk prompts installed: {INSTALL_HINT}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="call-wer-"))
    try:
        engine = setup_engine(tmp)
        await engine.start()
        assert engine.telephony is not None
        models = engine.telephony.agents.models
        models.wait_warm(60)
        calls: list[CallHeard] = []
        for first in range(0, len(chosen), per_call):
            calls.append(await play_prompts(engine, chosen[first:first + per_call], tmp))
        whisper = models.whisper()
        direct = [(p.text, whisper.transcribe_blocking(p.pcm16k()).text) for p in chosen]  # type: ignore[attr-defined]
        await engine.stop()
        engine.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    on_calls = [pair for call in calls for pair in call.pairs]
    keys = [key for call in calls for key in call.keys]
    audio_s = sum(p.duration_s for p in chosen)
    print(f"call_wer: {len(chosen)} Asterisk prompts ({audio_s:.0f} s of speech) over "
          f"{len(calls)} SIP call(s), G.711 A-law on loopback, whisper tiny.en")
    print(f"  on calls: WER {corpus_wer(on_calls) * 100:.1f} %   "
          f"(prompts with nothing heard: {sum(1 for _, h in on_calls if not h.strip())})")
    print(f"  direct:   WER {corpus_wer(direct) * 100:.1f} %   (the same prompts from their files)")
    for call in calls:
        if not call.sip_ok:
            print(f"  sipp failed: {call.stderr}")
    rows = sorted(((wer(ref, hyp), key, ref, hyp, d) for (ref, hyp), key, (_, d)
                   in zip(on_calls, keys, direct, strict=True)), reverse=True)
    for error, key, ref, hyp, d in rows[:worst]:
        print(f"  {error * 100:5.0f} %  {key}: {ref!r} -> call {hyp!r} / direct {d!r}")
    report("call_wer", "whisper WER on SIP calls (G.711)", corpus_wer(on_calls) * 100, "%")
    report("call_wer", "whisper WER, same prompts direct", corpus_wer(direct) * 100, "%")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=20, help="prompts in all")
    parser.add_argument("--per-call", type=int, default=10, help="prompts played in one call")
    parser.add_argument("--worst", type=int, default=5, help="print the N worst prompts")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.count, args.per_call, args.worst))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
