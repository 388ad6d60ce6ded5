"""Whisper's word error rate and speed over the whole Asterisk English prompt corpus.

Prints WER, real-time factor and CPU-seconds per audio-second (figures, never pass/fail).
Needs the Debian packages asterisk-core-sounds-en-wav and asterisk-core-sounds-en.

    .venv/bin/python bench/stt_wer.py [--limit N] [--model DIR] [--beam N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.results import report
from engine.speech.audio import SAMPLE_RATE
from engine.speech.corpus import INSTALL_HINT, prompts
from engine.speech.wer import corpus_wer, wer
from engine.speech.whisper_stt import WHISPER_BEAM_SIZE, WhisperEngine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N prompts (0: all)")
    parser.add_argument("--model", default=None, help="a CTranslate2 Whisper model directory")
    parser.add_argument("--beam", type=int, default=WHISPER_BEAM_SIZE)
    parser.add_argument("--worst", type=int, default=10, help="print the N worst prompts")
    args = parser.parse_args(argv)

    corpus = prompts()
    if not corpus:
        print(f"no Asterisk prompts installed: {INSTALL_HINT}", file=sys.stderr)
        return 1
    if args.limit:
        corpus = corpus[: args.limit]
    engine = WhisperEngine(args.model, beam_size=args.beam)
    engine.load()
    print(f"model {engine.model_path} loaded in {engine.load_s:.2f} s")
    print(f"{len(corpus)} prompts, beam {args.beam}")

    pairs: list[tuple[str, str]] = []
    rows: list[tuple[float, str, str, str]] = []
    latencies: list[float] = []
    audio_s = wall_s = 0.0
    cpu_started = time.process_time()
    for prompt in corpus:
        pcm = prompt.pcm16k()
        started = time.perf_counter()
        result = engine.transcribe_blocking(pcm)
        elapsed = time.perf_counter() - started
        wall_s += elapsed
        latencies.append(elapsed)
        audio_s += len(pcm) / 2 / SAMPLE_RATE
        pairs.append((prompt.text, result.text))
        rows.append((wer(prompt.text, result.text), prompt.key, prompt.text, result.text))
    cpu_s = time.process_time() - cpu_started

    print(f"WER {corpus_wer(pairs) * 100:.1f} % over {len(pairs)} prompts ({audio_s:.0f} s of audio)")
    print(f"speed: {audio_s / wall_s:.1f}x real time; {cpu_s / audio_s:.3f} CPU-s per audio-s")
    quantiles = statistics.quantiles(latencies, n=20)
    print(f"per prompt: p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {quantiles[-1] * 1000:.0f} ms")
    for error, key, ref, hyp in sorted(rows, reverse=True)[: args.worst]:
        print(f"  {error * 100:5.0f} %  {key}: {ref!r} -> {hyp!r}")
    report("stt_wer", "whisper tiny.en WER, Asterisk prompts", corpus_wer(pairs) * 100, "%")
    report("stt_wer", "whisper CPU per audio second", cpu_s / audio_s, "CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
