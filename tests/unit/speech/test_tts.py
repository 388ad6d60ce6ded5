"""espeak-ng through libespeak-ng: real synthesis, 20 ms frames at 16 kHz, streaming, cancelling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from engine.speech.audio import FRAME_BYTES
from engine.speech.espeak import Espeak, EspeakError, VoiceSettings
from engine.speech.tts import EspeakTTS

FIRST_CHUNK_BUDGET_S = 0.05  # measured: under 1 ms from request to the first 20 ms frame


def test_catalogue_lists_voices_and_resolves_the_demo_agents_voices() -> None:
    voices = Espeak.shared().voices()
    ids = {v.id for v in voices}
    assert "gmw/en-us" in ids and len(voices) > 50
    tts = EspeakTTS()
    for voice in ("en-us+f3", "en-gb-x-rp", "en-us+m3", "ko", "English (America)", "gmw/en-us"):
        pcm = EspeakTTS(VoiceSettings(voice=voice)).render("Hello.")
        assert len(pcm) > 12800, voice  # over 0.4 s of speech
    with pytest.raises(EspeakError, match="no voice"):
        EspeakTTS(VoiceSettings(voice="xx-nonexistent")).render("Hello.")
    assert tts.voices() == voices


def test_synthesis_gives_20ms_frames_at_16khz_with_speech_in_them() -> None:
    async def main() -> tuple[list[bytes], list[bool], float | None]:
        tts = EspeakTTS(VoiceSettings(rate=175))
        chunks = [c async for c in tts.synthesize("Hello there. Your order has shipped.")]
        return [c.pcm for c in chunks], [c.first for c in chunks], tts.first_chunk_s

    frames, firsts, first_chunk_s = asyncio.run(main())
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert 1.5 < len(frames) * 0.02 < 5.0  # two short sentences at 175 wpm
    assert firsts.count(True) == 2  # one first chunk per sentence
    samples = np.frombuffer(b"".join(frames), "<i2").astype(float)
    assert np.sqrt(np.mean(samples**2)) > 500
    assert first_chunk_s is not None and first_chunk_s < FIRST_CHUNK_BUDGET_S


def test_rate_changes_duration() -> None:
    slow = EspeakTTS(VoiceSettings(rate=120)).render("This is a sentence of a certain length.")
    fast = EspeakTTS(VoiceSettings(rate=260)).render("This is a sentence of a certain length.")
    assert len(slow) > 1.5 * len(fast)


def test_first_sentence_is_spoken_while_the_rest_is_still_coming() -> None:
    async def main() -> tuple[str, bool]:
        tts = EspeakTTS()
        rest_may_come = asyncio.Event()

        async def brain() -> AsyncIterator[str]:
            yield "Sure thing. "
            await rest_may_come.wait()  # the brain is still thinking
            yield "Let me check that for you."

        heard: list[str] = []
        async for chunk in tts.stream(brain()):
            if chunk.first:
                heard.append(chunk.text)
            if not rest_may_come.is_set():
                first_text, was_set = chunk.text, rest_may_come.is_set()
                rest_may_come.set()
        assert heard == ["Sure thing.", "Let me check that for you."]
        return first_text, was_set

    first_text, was_set = asyncio.run(main())
    assert first_text == "Sure thing." and not was_set


def test_closing_the_stream_stops_synthesis_and_the_loop_never_waits() -> None:
    async def main() -> tuple[int, float]:
        tts = EspeakTTS()
        gaps: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        stream = tts.synthesize("This long sentence is interrupted by the caller after a few frames " * 4)
        got = 0
        async for _ in stream:
            got += 1
            if got == 5:
                break
        await stream.aclose()
        # the espeak worker is free again right away: a new utterance starts at once
        started = time.perf_counter()
        async for chunk in tts.synthesize("Next."):
            assert chunk.first
            break
        latency = time.perf_counter() - started
        stop.set()
        await beat
        assert max(gaps) < 0.05
        return got, latency

    got, latency = asyncio.run(main())
    assert got == 5 and latency < 0.2
