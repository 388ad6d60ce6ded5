from __future__ import annotations

import asyncio

import engine.speech as speech
from engine.speech.audio import FRAME_BYTES, FRAME_SAMPLES, FrameCutter, frames_of
from engine.speech.frames import (
    AudioFrame,
    BrainText,
    ControlFrame,
    DataFrame,
    EndOfTurn,
    HangUp,
    Interrupt,
    TranscriptFinal,
    TTSChunk,
)
from engine.speech.queue import FrameQueue


def test_public_api_is_pinned() -> None:
    assert set(speech.__all__) >= {"AudioFrame", "TTSChunk", "Interrupt", "HangUp", "EndOfTurn", "FrameQueue"}
    for name in speech.__all__:
        assert hasattr(speech, name)


def test_frame_format_is_20ms_16khz_16bit_mono() -> None:
    assert (FRAME_SAMPLES, FRAME_BYTES) == (320, 640)
    frame = AudioFrame(bytes(FRAME_BYTES), pts=1.5)
    assert frame.duration_ms == 20 and frame.pts == 1.5
    assert TTSChunk(bytes(FRAME_BYTES)).duration_ms == 20


def test_control_and_data_kinds() -> None:
    for control in (Interrupt(), EndOfTurn(speculative=True), HangUp()):
        assert isinstance(control, ControlFrame) and not isinstance(control, DataFrame)
    for data in (AudioFrame(b""), TranscriptFinal("hi"), BrainText("hello")):
        assert isinstance(data, DataFrame)


def test_frame_cutter_keeps_remainders() -> None:
    cutter = FrameCutter()
    assert cutter.feed(bytes(600)) == []
    frames = cutter.feed(bytes(700))
    assert [len(f) for f in frames] == [640, 640]
    tail = cutter.flush()
    assert tail is not None and len(tail) == 640
    assert cutter.flush() is None
    assert [len(f) for f in frames_of(bytes(1000))] == [640, 640]


def test_control_frames_preempt_queued_data() -> None:
    async def main() -> list[object]:
        queue = FrameQueue()
        for i in range(3):
            queue.put(TTSChunk(bytes(640), text=str(i)))
        queue.put(Interrupt())
        first = await queue.get()
        dropped = queue.clear_data()
        queue.put(BrainText("next"))
        return [first, dropped, await queue.get(), len(queue)]

    first, dropped, after, left = asyncio.run(main())
    assert isinstance(first, Interrupt)
    assert dropped == 3
    assert after == BrainText("next") and left == 0
