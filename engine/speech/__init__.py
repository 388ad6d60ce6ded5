"""Speech: the frame vocabulary, the brain interface, VAD and end of turn, STT (vosk, whisper) and
TTS (espeak-ng).

Heavy engines (faster-whisper, vosk, libespeak-ng) load on first use, from their own modules:
``engine.speech.whisper_stt``, ``engine.speech.vosk_stt``, ``engine.speech.tts``.
"""

from __future__ import annotations

from engine.speech.audio import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, FrameCutter
from engine.speech.brain import Brain, BrainOutput, BrainStream
from engine.speech.frames import (
    AudioFrame,
    BrainEvent,
    BrainText,
    BrainToken,
    ControlFrame,
    DataFrame,
    EndOfTurn,
    Frame,
    HangUp,
    Interrupt,
    ToolCall,
    TranscriptFinal,
    TranscriptPartial,
    TTSChunk,
)
from engine.speech.queue import FrameQueue
from engine.speech.stt import RecognitionStream, SttEngine, SttModelMissing

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "AudioFrame",
    "Brain",
    "BrainEvent",
    "BrainOutput",
    "BrainStream",
    "BrainText",
    "BrainToken",
    "ControlFrame",
    "DataFrame",
    "EndOfTurn",
    "Frame",
    "FrameCutter",
    "FrameQueue",
    "HangUp",
    "Interrupt",
    "RecognitionStream",
    "SttEngine",
    "SttModelMissing",
    "TTSChunk",
    "ToolCall",
    "TranscriptFinal",
    "TranscriptPartial",
]
