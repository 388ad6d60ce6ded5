"""Voice activity and end of turn on 20 ms frames: webrtcvad plus a turn detector.

:class:`TurnDetector` turns per-frame voiced/unvoiced decisions into turn signals. Time comes
only from the frames (their media-clock ``pts``), so the detector is deterministic and runs in
virtual time. Besides the end of turn it signals *silence began* early, so recognition and the
brain can start speculatively, and *speech resumed*, so that speculative work is discarded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from engine.speech.audio import FRAME_MS, SAMPLE_RATE

# webrtcvad aggressiveness. Measured on the Asterisk English prompts (8 kHz resampled to 16 kHz):
# mode 2 keeps 99 % of the pauses inside an utterance under 200 ms; mode 3 cuts speech into many
# more pieces (23 % of internal pauses >= 200 ms), mode 1 hears more line noise as speech.
VAD_MODE = 2
# Speech starts after this many voiced frames among the last VAD_START_WINDOW (60 ms in 100 ms):
# one or two voiced frames are clicks and line pops, not a caller.
VAD_START_FRAMES = 3
VAD_START_WINDOW = 5
# End of turn after this much silence. Measured (mode 2, Asterisk prompts): 0.9 % of the pauses
# inside one utterance reach 240 ms, 1.3 % reach 200 ms; vosk's own endpointer waits 500-1000 ms.
VAD_STOP_MS = 240
# "Silence began" after this much silence: speculative recognition and reply start here, 140 ms
# before the end of turn. Measured (mode 2): 28 % of internal pauses reach 100 ms and get
# discarded when speech resumes; at 60 ms it would be 55 %.
VAD_SPECULATIVE_MS = 100


class TurnSignal(Enum):
    SPEECH_STARTED = "speech_started"
    SILENCE_BEGAN = "silence_began"  # speculative: the turn may be over
    SPEECH_RESUMED = "speech_resumed"  # discard what silence_began started
    END_OF_TURN = "end_of_turn"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """A turn signal at media time ``at`` (s); ``last_voiced_at`` ends the caller's last voiced frame."""

    signal: TurnSignal
    at: float
    speech_started_at: float
    last_voiced_at: float


class WebRtcVad:
    """webrtcvad on 20 ms frames of 16 kHz 16-bit mono PCM."""

    def __init__(self, mode: int = VAD_MODE, sample_rate: int = SAMPLE_RATE) -> None:
        try:
            import webrtcvad
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise RuntimeError(
                "voice activity detection needs webrtcvad: pip install webrtcvad-wheels"
            ) from exc
        self._vad = webrtcvad.Vad(mode)
        self.sample_rate = sample_rate

    def __call__(self, pcm: bytes) -> bool:
        return bool(self._vad.is_speech(pcm, self.sample_rate))


class TurnDetector:
    """Decides speech start, silence onset, resumption and end of turn from 20 ms frames."""

    def __init__(
        self,
        is_speech: Callable[[bytes], bool] | None = None,
        *,
        start_frames: int = VAD_START_FRAMES,
        start_window: int = VAD_START_WINDOW,
        stop_ms: int = VAD_STOP_MS,
        speculative_ms: int = VAD_SPECULATIVE_MS,
        frame_ms: int = FRAME_MS,
    ) -> None:
        self.is_speech = is_speech or WebRtcVad()
        self.start_frames = start_frames
        self.frame_s = frame_ms / 1000
        self.stop_frames = max(1, round(stop_ms / frame_ms))
        self.speculative_frames = max(1, min(round(speculative_ms / frame_ms), self.stop_frames))
        self._window: deque[bool] = deque(maxlen=start_window)
        self.speaking = False  # inside a turn (started, not yet ended)
        self.pausing = False  # silence began inside the turn
        self._silent_frames = 0
        self._started_at = 0.0
        self._last_voiced_end = 0.0

    def reset(self) -> None:
        self._window.clear()
        self.speaking = self.pausing = False
        self._silent_frames = 0

    def push(self, pcm: bytes, pts: float) -> list[TurnEvent]:
        """Feeds one frame starting at media time ``pts``; returns the signals it caused."""
        return self.push_decision(self.is_speech(pcm), pts)

    def push_decision(self, voiced: bool, pts: float) -> list[TurnEvent]:
        """Feeds one frame's voiced/unvoiced decision (for fakes and tests in virtual time)."""
        self._window.append(voiced)
        end = pts + self.frame_s
        out: list[TurnEvent] = []
        onset = sum(self._window) >= self.start_frames
        if voiced:
            self._last_voiced_end = end
        if not self.speaking:
            if onset:
                self.speaking = True
                self._silent_frames = 0
                first_voiced = len(self._window) - list(self._window).index(True)
                self._started_at = end - first_voiced * self.frame_s
                out.append(self._event(TurnSignal.SPEECH_STARTED, end))
            return out
        if voiced:
            self._silent_frames = 0
            if self.pausing and onset:
                self.pausing = False
                out.append(self._event(TurnSignal.SPEECH_RESUMED, end))
            return out
        self._silent_frames += 1
        if not self.pausing and self._silent_frames == self.speculative_frames:
            self.pausing = True
            out.append(self._event(TurnSignal.SILENCE_BEGAN, end))
        if self._silent_frames >= self.stop_frames:
            out.append(self._event(TurnSignal.END_OF_TURN, end))
            self.speaking = self.pausing = False
            self._silent_frames = 0
            self._window.clear()
        return out

    def _event(self, signal: TurnSignal, at: float) -> TurnEvent:
        return TurnEvent(signal, round(at, 6), round(self._started_at, 6), round(self._last_voiced_end, 6))
