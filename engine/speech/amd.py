"""Answering-machine detection: from the first seconds a callee sends after answering, decide
whether a person or a machine picked up, and, for a machine, when its greeting is over.

:class:`AnsweringMachineDetector` is pure: it is fed the callee's audio frame by frame (16-bit
mono PCM at 8 or 16 kHz, any frame length) and, when the speech recogniser has had a look, the
number of words heard; time is the audio's own (the frames fed), so the same audio always gives
the same decision at the same moment. It decides

- **machine** on a voicemail beep (a steady tone of 400-2000 Hz for 200 ms or more, found with
  an FFT of each frame), on continuous speech longer than a person's greeting ("long greeting"),
  or on many words before the first pause ("many words");
- **human** on a short greeting followed by silence (a person says "Hello?" and waits);
- **unknown** when the callee stays silent, or nothing is clear, by the end of the window
  (4 s by default).

After a machine decision, :meth:`AnsweringMachineDetector.message_cue` says when a message can be
left: once the beep has ended, or once the greeting has been followed by a silence, or at a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Decision = Literal["human", "machine", "unknown"]

# The decision is made within this long after the answer: Twilio's AMD answers within ~4 s
# for most calls, and the campaign issue asks for 4 s by default.
DECISION_WINDOW_MS = 4000
# A frame is speech when its RMS is above this (16-bit scale): Asterisk app_amd's
# silence_threshold default (256, ≈ -42 dBFS), above G.711's idle-channel noise.
SPEECH_RMS = 256.0
# Continuous speech (pauses shorter than AFTER_GREETING_SILENCE_MS joined) longer than this is a
# machine's greeting. Measured on espeak-ng at 140-200 wpm: a person's greeting ("Hi, this is
# Sam speaking.") lasts 1.4-2.1 s, the shortest carrier prompt ("The person you are calling is
# not available. …") 3.5 s; Asterisk's greeting default is 1.5 s for live recordings.
LONG_GREETING_MS = 2600
# Silence this long after a short greeting means a person waiting for an answer: Asterisk
# app_amd's after_greeting_silence default (800 ms). The longest pause inside one greeting,
# measured on espeak-ng at 140 wpm (a sentence end), is 480 ms.
AFTER_GREETING_SILENCE_MS = 800
# Words the recogniser heard before the first pause; this many is a machine: people's greetings
# are at most 6-7 words ("Hello, who is this?"), voicemail greetings' first sentence 8 or more
# ("Hi, you've reached the voicemail of Alex Morgan.").
MACHINE_MIN_WORDS = 8
# The beep: a tone in this band (answering machines beep at 440-1400 Hz; 400-2000 Hz leaves room
# either side) ...
BEEP_MIN_HZ = 400.0
BEEP_MAX_HZ = 2000.0
# ... holding this share of a frame's energy within ±BEEP_SPREAD_BINS of its peak bin (a pure
# tone under a Hann window: > 0.99; measured on espeak-ng's speech in six voices at 8 kHz, 1.8 %
# of 20 ms frames pass, in runs of one frequency 140 ms long at most) ...
BEEP_PURITY = 0.8
BEEP_SPREAD_BINS = 2
# ... at one frequency (peak bins ±1 apart frame to frame: 50 Hz bins of a 20 ms frame) ...
BEEP_DRIFT_BINS = 1
# ... for at least this long (the campaign issue's 200 ms; machines beep 0.3-1 s).
BEEP_MIN_MS = 200
# After a machine decision with no beep yet: a silence this long ends the greeting (longer than
# a greeting's pauses, and the 0.3-0.5 s many boxes leave before their beep).
GREETING_END_SILENCE_MS = 1500
# The message is left at the latest this long after the answer, beep or not (voicemail
# greetings run 5-20 s).
MESSAGE_CAP_MS = 30000
# The recogniser is asked for the words once the first utterance pauses this long after at
# least WORDS_MIN_SPEECH_MS of speech (a comma's pause in espeak-ng is 100-260 ms).
WORDS_PAUSE_MS = 200
WORDS_MIN_SPEECH_MS = 1200

Samples = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AmdSettings:
    """How the detector decides (the defaults are the named constants above)."""

    window_ms: int = DECISION_WINDOW_MS
    long_greeting_ms: int = LONG_GREETING_MS
    after_greeting_silence_ms: int = AFTER_GREETING_SILENCE_MS
    machine_min_words: int = MACHINE_MIN_WORDS
    speech_rms: float = SPEECH_RMS
    beep_min_ms: int = BEEP_MIN_MS
    greeting_end_silence_ms: int = GREETING_END_SILENCE_MS
    message_cap_ms: int = MESSAGE_CAP_MS

    def __post_init__(self) -> None:
        for name in ("window_ms", "long_greeting_ms", "after_greeting_silence_ms",
                     "machine_min_words", "beep_min_ms", "greeting_end_silence_ms",
                     "message_cap_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: expected more than 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class AmdResult:
    """What was decided, why, and how long after the answer (ms of the callee's audio)."""

    decision: Decision
    cause: str
    decision_ms: int

    def as_dict(self) -> dict[str, object]:
        return {"decision": self.decision, "cause": self.cause, "decision_ms": self.decision_ms}


def tone_hz(samples: Samples, sample_rate: int, speech_rms: float = SPEECH_RMS) -> float | None:
    """The frequency of a loud pure tone in the band that fills ``samples`` (one frame), or
    None (quiet, speech, noise, or a tone outside 400-2000 Hz)."""
    if len(samples) < 16 or float(np.sqrt(np.mean(samples ** 2))) < speech_rms:
        return None
    power = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return None
    peak = int(np.argmax(power))
    near = float(power[max(peak - BEEP_SPREAD_BINS, 0):peak + BEEP_SPREAD_BINS + 1].sum())
    hz = peak * sample_rate / len(samples)
    if near < BEEP_PURITY * total or not BEEP_MIN_HZ <= hz <= BEEP_MAX_HZ:
        return None
    return hz


class BeepDetector:
    """Finds a steady tone of 400-2000 Hz lasting ``min_ms``: :meth:`feed` a frame at a time."""

    def __init__(self, sample_rate: int, min_ms: int = BEEP_MIN_MS,
                 speech_rms: float = SPEECH_RMS) -> None:
        self.sample_rate = sample_rate
        self.min_ms = min_ms
        self.speech_rms = speech_rms
        self.run_ms = 0.0  # the tone in progress (0: none)
        self.hz: float | None = None  # its frequency
        self.beeps = 0  # tones that reached min_ms
        self.ended = False  # the last beep has ended (a frame without it came after)

    @property
    def beeping(self) -> bool:
        """A tone of at least ``min_ms`` is going on now."""
        return self.run_ms >= self.min_ms

    def feed(self, samples: Samples) -> bool:
        """Takes one frame; True on the frame a tone reaches ``min_ms``."""
        frame_ms = 1000.0 * len(samples) / self.sample_rate
        hz = tone_hz(samples, self.sample_rate, self.speech_rms)
        bin_hz = self.sample_rate / max(len(samples), 1)
        if hz is not None and (self.hz is None or abs(hz - self.hz) <= BEEP_DRIFT_BINS * bin_hz):
            self.hz = hz if self.hz is None else self.hz
            before = self.run_ms
            self.run_ms += frame_ms
            if before < self.min_ms <= self.run_ms:
                self.beeps += 1
                self.ended = False
                return True
            return False
        if self.beeping:
            self.ended = True
        self.run_ms = frame_ms if hz is not None else 0.0
        self.hz = hz
        return False


class AnsweringMachineDetector:
    """Decides human / machine / unknown from a callee's first seconds (see the module)."""

    def __init__(self, sample_rate: int, settings: AmdSettings | None = None) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError(f"sample_rate: expected 8000 or 16000, got {sample_rate}")
        self.sample_rate = sample_rate
        self.settings = settings = settings or AmdSettings()
        self.beep = BeepDetector(sample_rate, settings.beep_min_ms, settings.speech_rms)
        self.result: AmdResult | None = None
        self.now_ms = 0.0  # audio fed so far
        self.speech_ms = 0.0  # speech heard in all (tones apart)
        self.utterance_ms = 0.0  # the utterance in progress: its first speech to its last
        self.silence_ms = 0.0  # since the last speech (or the answer)
        self.words: int | None = None  # what the recogniser counted, once asked
        self.words_asked = False
        self._utterance_start: float | None = None
        self._cue: str | None = None

    # -- input ---------------------------------------------------------------------------------

    def feed(self, pcm: bytes) -> AmdResult | None:
        """Takes the callee's next frame; the decision on the frame it is made (then None)."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        frame_ms = 1000.0 * len(samples) / self.sample_rate
        self.now_ms += frame_ms
        new_beep = self.beep.feed(samples)
        toned = self.beep.run_ms > 0
        loud = float(np.sqrt(np.mean(samples ** 2))) >= self.settings.speech_rms \
            if len(samples) else False
        if loud and not toned:
            if self._utterance_start is None or \
                    self.silence_ms >= self.settings.after_greeting_silence_ms:
                self._utterance_start = self.now_ms - frame_ms
            self.utterance_ms = self.now_ms - self._utterance_start
            self.speech_ms += frame_ms
            self.silence_ms = 0.0
        else:
            self.silence_ms += frame_ms
        if self.result is not None:
            self._follow_greeting()
            return None
        decided = self._decide(new_beep)
        if decided is not None:
            self.result = AmdResult(decided[0], decided[1], round(self.now_ms))
            if decided[0] == "machine":
                self._follow_greeting()
        return self.result if decided is not None else None

    def heard_words(self, count: int) -> AmdResult | None:
        """The recogniser's word count of the speech so far (see :attr:`wants_words`); the
        decision when it makes one."""
        self.words = count
        if self.result is None and count >= self.settings.machine_min_words:
            self.result = AmdResult("machine", "many words", round(self.now_ms))
            self._follow_greeting()
            return self.result
        return None

    @property
    def wants_words(self) -> bool:
        """The first utterance has paused after enough speech: time to count its words (asked
        once; the answer goes to :meth:`heard_words`)."""
        if self.result is not None or self.words_asked:
            return False
        if self.speech_ms >= WORDS_MIN_SPEECH_MS and self.silence_ms >= WORDS_PAUSE_MS:
            self.words_asked = True
            return True
        return False

    # -- the decision --------------------------------------------------------------------------

    def _decide(self, new_beep: bool) -> tuple[Decision, str] | None:
        s = self.settings
        if new_beep:
            return "machine", "beep"
        if self.utterance_ms >= s.long_greeting_ms:
            return "machine", "long greeting"
        if self.speech_ms > 0 and self.silence_ms >= s.after_greeting_silence_ms:
            return "human", "short greeting then silence"
        if self.now_ms >= s.window_ms:
            if self.speech_ms == 0:
                return "unknown", "silence"
            return "unknown", "no clear greeting"
        return None

    # -- after a machine -----------------------------------------------------------------------

    def _follow_greeting(self) -> None:
        if self._cue is not None or self.result is None or self.result.decision != "machine":
            return
        s = self.settings
        if self.beep.beeps and self.beep.ended:
            self._cue = "beep"
        elif (not self.beep.run_ms and self.speech_ms > 0
              and self.silence_ms >= s.greeting_end_silence_ms):
            self._cue = "end of greeting"
        elif self.now_ms >= s.message_cap_ms:
            self._cue = "cap"

    @property
    def message_cue(self) -> str | None:
        """For a machine: why a message may be left now ("beep": the beep has ended; "end of
        greeting": silence followed the greeting; "cap": the wait's limit), or None (wait)."""
        return self._cue


__all__ = ["AFTER_GREETING_SILENCE_MS", "BEEP_MAX_HZ", "BEEP_MIN_HZ", "BEEP_MIN_MS",
           "DECISION_WINDOW_MS", "GREETING_END_SILENCE_MS", "LONG_GREETING_MS",
           "MACHINE_MIN_WORDS", "MESSAGE_CAP_MS", "SPEECH_RMS", "AmdResult", "AmdSettings",
           "AnsweringMachineDetector", "BeepDetector", "Decision", "tone_hz"]
