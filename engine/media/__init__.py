"""Media: 20 ms PCM frames, resampling, the media clock, per-call mixers, the recorder, and
generated sources (tones, hold music, a PCM player). Knows nothing of SIP or WebRTC."""

from engine.media.clock import MediaClock
from engine.media.frame import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, SILENCE, Frame
from engine.media.mixer import (
    AGENT_MASKS,
    BARGE_MASKS,
    CALLER_MASKS,
    HUMAN_MASKS,
    LISTEN_MASKS,
    MUSIC_MASKS,
    WHISPER_MASKS,
    Masks,
    Mixer,
    Participant,
)
from engine.media.player import Player
from engine.media.recorder import Recorder
from engine.media.resample import Resampler
from engine.media.tones import HoldMusic, Tone

__all__ = [
    "AGENT_MASKS",
    "BARGE_MASKS",
    "CALLER_MASKS",
    "FRAME_BYTES",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "HUMAN_MASKS",
    "LISTEN_MASKS",
    "MUSIC_MASKS",
    "SAMPLE_RATE",
    "SILENCE",
    "WHISPER_MASKS",
    "Frame",
    "HoldMusic",
    "Masks",
    "MediaClock",
    "Mixer",
    "Participant",
    "Player",
    "Recorder",
    "Resampler",
    "Tone",
]
