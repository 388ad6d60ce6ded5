"""The Asterisk English prompts (Debian asterisk-core-sounds-en-wav + -en) as a speech corpus.

Hundreds of professionally recorded 8 kHz telephone prompts with their transcripts: real human
speech no one here wrote, for recognition accuracy tests and the WER benchmark.
"""

from __future__ import annotations

import gzip
import wave
from dataclasses import dataclass
from pathlib import Path

from engine.media.polyphase import resample
from engine.speech.audio import SAMPLE_RATE

SOUNDS_DIRS = (Path("/usr/share/asterisk/sounds/en"), Path("/usr/share/asterisk/sounds/en_US_f_Allison"))
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
INSTALL_HINT = "apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en"


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str  # e.g. "vm-intro", "digits/7"
    text: str
    path: Path

    @property
    def duration_s(self) -> float:
        with wave.open(str(self.path), "rb") as w:
            return w.getnframes() / w.getframerate()

    def pcm16k(self) -> bytes:
        """The recording as 16 kHz 16-bit mono PCM."""
        with wave.open(str(self.path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError(f"{self.path}: not 16-bit mono")
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
        return pcm if rate == SAMPLE_RATE else resample(pcm, rate, SAMPLE_RATE)


def sounds_dir() -> Path | None:
    return next((d for d in SOUNDS_DIRS if d.is_dir()), None)


def prompts(min_words: int = 1) -> list[Prompt]:
    """Every prompt with a spoken transcript (no "[tone]" descriptions) and a WAV file, by key."""
    root = sounds_dir()
    if root is None or not TRANSCRIPTS.is_file():
        return []
    out: list[Prompt] = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(";") or ": " not in line:
                continue
            key, text = (part.strip() for part in line.split(": ", 1))
            path = root / f"{key}.wav"
            if "[" in text or "<" in text or not path.is_file() or len(text.split()) < min_words:
                continue
            out.append(Prompt(key, text, path))
    return sorted(out, key=lambda p: p.key)
