"""Media: 20 ms PCM frames, resampling, the media clock and loop, per-call mixers, the recorder,
and generated sources (tones, hold music, a PCM player). Knows nothing of SIP or WebRTC.

The face is what the legs, speech and the calls take from media: the frame format, the mixer
with its participants' roles and masks, the clock (with its lateness figures) and the thread it
runs on, the resamplers, and the sources and recorder a call adds to its mixer."""

from engine.media.clock import BIN_S, BINS, LATE_S, TICK_S, Lateness, MediaClock
from engine.media.frame import (
    FRAME_BYTES,
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    SILENCE,
    FrameCutter,
)
from engine.media.loop import MediaLoop
from engine.media.mixer import (
    AGENT,
    AGENT_MASKS,
    BARGE_MASKS,
    BRIEFING_MASKS,
    CALLER_MASKS,
    CONSULT_MASKS,
    HUMAN_MASKS,
    LISTEN_MASKS,
    MUSIC_MASKS,
    WHISPER_MASKS,
    Masks,
    Mixer,
    Participant,
)
from engine.media.player import Player
from engine.media.polyphase import PolyphaseResampler, resample
from engine.media.realtime import PACER_PRIORITY, request_realtime
from engine.media.recorder import Recorder
from engine.media.resampler import BatchResampler, Resampler
from engine.media.tones import HoldMusic, Tone

__all__ = [
    "AGENT",
    "AGENT_MASKS",
    "BARGE_MASKS",
    "BINS",
    "BIN_S",
    "BRIEFING_MASKS",
    "CALLER_MASKS",
    "CONSULT_MASKS",
    "FRAME_BYTES",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "HUMAN_MASKS",
    "LATE_S",
    "LISTEN_MASKS",
    "MUSIC_MASKS",
    "PACER_PRIORITY",
    "SAMPLE_RATE",
    "SAMPLE_WIDTH",
    "SILENCE",
    "TICK_S",
    "WHISPER_MASKS",
    "BatchResampler",
    "FrameCutter",
    "HoldMusic",
    "Lateness",
    "Masks",
    "MediaClock",
    "MediaLoop",
    "Mixer",
    "Participant",
    "Player",
    "PolyphaseResampler",
    "Recorder",
    "Resampler",
    "Tone",
    "request_realtime",
    "resample",
]
