"""Hearing in virtual time: the preroll, turn signals, and recognition in line behind the audio."""

from __future__ import annotations

import asyncio

from engine.speech.audio import FRAME_BYTES
from engine.speech.frames import AudioFrame, TranscriptFinal, TranscriptPartial
from engine.speech.pipeline import PREROLL_MS
from engine.speech.pipeline.hearing import Hearing
from engine.speech.pipeline.records import Transcript, Usage
from engine.speech.stt import RecognitionStream, SttEngine
from engine.speech.vad import TurnSignal
from engine.speech.virtual_time import run_virtual
from tests.unit.pipeline.harness import Recorder, fake_vad


def frame(tick: int, voiced: bool) -> AudioFrame:
    """A frame marked with its tick in its first byte; voiced frames have a loud second byte."""
    pcm = bytes([tick % 256, 0x27 if voiced else 0]) + bytes(FRAME_BYTES - 2)
    return AudioFrame(pcm, pts=tick * 0.02)


class SpyStream(RecognitionStream):
    """Logs what the recogniser was given, in order; decodes take ``decode_s`` of virtual time."""

    def __init__(self, decode_s: float = 0.05, partial: str = "", fail: bool = False) -> None:
        self.log: list[object] = []
        self.decode_s = decode_s
        self.partial = partial
        self.fail = fail

    async def accept(self, pcm: bytes) -> TranscriptPartial | None:
        self.log.append(pcm[0])
        return TranscriptPartial(self.partial) if self.partial else None

    async def peek(self) -> TranscriptFinal:
        self.log.append("peek")
        await asyncio.sleep(self.decode_s)
        if self.fail:
            raise RuntimeError("decoder crashed")
        return TranscriptFinal("peeked")

    async def finish(self, *, reuse_peek: bool = False) -> TranscriptFinal:
        self.log.append(("finish", reuse_peek))
        await asyncio.sleep(self.decode_s)
        return TranscriptFinal("final")


class SpyEngine(SttEngine):
    provider = "spy"
    model = "spy-model"

    def __init__(self, stream: SpyStream) -> None:
        self.stream = stream

    def open_stream(self, language: str | None = None) -> SpyStream:
        return self.stream


def hearing(stream: SpyStream) -> tuple[Hearing, Recorder, Usage]:
    observer, usage = Recorder(), Usage()
    ears = Hearing(SpyEngine(stream), Transcript(observer), observer, usage, fake_vad)
    ears.open(None)
    return ears, observer, usage


def test_the_preroll_gives_the_recogniser_the_onset_before_speech_was_decided() -> None:
    async def scenario() -> tuple[list[object], list[tuple[int, TurnSignal]], float]:
        stream = SpyStream()
        ears, _, usage = hearing(stream)
        runner = asyncio.get_running_loop().create_task(ears.run())
        signals = []
        for tick in range(30):
            for event in ears.hear(frame(tick, voiced=tick >= 20)):
                signals.append((tick, event.signal))
        await asyncio.sleep(0)
        ears.stop()
        await runner
        return stream.log, signals, usage.stt_audio_s

    fed, signals, audio_s = run_virtual(scenario())
    assert signals == [(22, TurnSignal.SPEECH_STARTED)]  # 3 voiced frames in 5
    preroll = PREROLL_MS // 20
    assert fed == list(range(23 - preroll, 30))  # the preroll's frames first, in order, then live
    assert round(audio_s, 2) == round(len(fed) * 0.02, 2)


def test_frames_after_the_end_of_turn_wait_in_the_preroll_again() -> None:
    ears, _, usage = hearing(SpyStream())
    pattern = [True] * 10 + [False] * 20
    signals = [e.signal for i, voiced in enumerate(pattern) for e in ears.hear(frame(i, voiced))]
    assert signals == [TurnSignal.SPEECH_STARTED, TurnSignal.SILENCE_BEGAN, TurnSignal.END_OF_TURN]
    assert not ears.speaking
    fed = usage.stt_audio_s
    ears.hear(frame(30, False))
    assert usage.stt_audio_s == fed  # not in a turn: held back, not fed


def test_peeks_and_finals_are_answered_after_exactly_the_audio_queued_before_them() -> None:
    async def scenario() -> tuple[list[object], str, str, bool, bool]:
        stream = SpyStream()
        ears, _, _ = hearing(stream)
        runner = asyncio.get_running_loop().create_task(ears.run())
        for tick in range(5):
            ears.hear(frame(tick, voiced=True))
        peek = ears.peek()
        quiet = not ears.voiced_since_peek
        ears.hear(frame(5, voiced=True))
        voiced = ears.voiced_since_peek
        final = ears.finish(reuse_peek=False)
        peeked, finished = await peek, await final
        ears.stop()
        await runner
        return stream.log, peeked.text, finished.text, quiet, voiced

    log, peeked, finished, quiet, voiced = run_virtual(scenario())
    assert log == [0, 1, 2, 3, 4, "peek", 5, ("finish", False)]
    assert (peeked, finished) == ("peeked", "final")
    assert quiet and voiced


def test_a_cancelled_peek_is_never_decoded_and_a_failed_one_answers_empty() -> None:
    async def scenario() -> tuple[list[object], str, list[str]]:
        stream = SpyStream(fail=True)
        ears, observer, _ = hearing(stream)
        runner = asyncio.get_running_loop().create_task(ears.run())
        ears.peek().cancel()  # a speculation discarded before its turn came
        failed = await ears.peek()
        ears.stop()
        await runner
        return stream.log, failed.text, [kind for kind, _ in observer.events]

    log, text, events = run_virtual(scenario())
    assert log == ["peek"]  # once: the cancelled one was skipped
    assert text == "" and events == ["stt.error"]


def test_a_turns_partials_share_one_line_number_taken_at_the_first() -> None:
    async def scenario() -> tuple[list[tuple[int, str]], int | None, int | None]:
        stream = SpyStream(partial="hello")
        ears, observer, _ = hearing(stream)
        runner = asyncio.get_running_loop().create_task(ears.run())
        for tick in range(8):
            ears.hear(frame(tick, voiced=True))
        await asyncio.sleep(0.01)
        first = ears.take_line_index()
        again = ears.take_line_index()
        ears.stop()
        await runner
        return observer.partials, first, again

    partials, first, again = run_virtual(scenario())
    assert {index for index, _ in partials} == {0} and first == 0
    assert again is None  # the next turn takes its own


def test_reset_forgets_the_turn_in_progress() -> None:
    ears, _, _ = hearing(SpyStream())
    for tick in range(5):
        ears.hear(frame(tick, voiced=True))
    assert ears.speaking
    ears.reset()
    assert not ears.speaking
