"""A call's transcript as files people read: plain text ("Agent: …" lines), WebVTT and SRT
subtitles timed from the entries (relative to the start of the call's recording, its answer)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from engine.store.timeutil import as_utc

# Who said it, as a transcript names them (entry sources: engine.store.calls.TranscriptEntry)
SPEAKERS = {"user": "Caller", "agent": "Agent", "human_agent": "Human agent",
            "supervisor": "Supervisor", "system": "System"}
# An entry without an end time is shown this long per word, at least MIN_CUE_MS: ~150 words a
# minute, conversational speech rate (the same figure the espeak-ng voices default to, 175 wpm,
# rounded down for pauses).
MS_PER_WORD = 400
MIN_CUE_MS = 1000

FORMATS = ("text", "json", "vtt", "srt")
MEDIA_TYPES = {"text": "text/plain; charset=utf-8", "json": "application/json",
               "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8"}


class Entry(Protocol):
    """What a transcript is made of (a stored transcript entry has these)."""

    @property
    def source(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def ended_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Cue:
    """One timed line of a subtitle file, in milliseconds from the start of the call."""

    start_ms: int
    end_ms: int
    speaker: str
    text: str


def speaker(source: str) -> str:
    return SPEAKERS.get(source, source.replace("_", " ").capitalize() or "Unknown")


def _said(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if e.text and e.text.strip()]


def plain_text(entries: Iterable[Entry]) -> str:
    """``Agent: …`` / ``Caller: …`` lines, one per entry that has words."""
    return "\n".join(f"{speaker(e.source)}: {' '.join(e.text.split())}" for e in _said(entries))


def _ms(moment: datetime | None, origin: datetime) -> int | None:
    if moment is None:
        return None
    return max(0, round((as_utc(moment) - origin).total_seconds() * 1000))


def cues(entries: Sequence[Entry], origin: datetime | None) -> list[Cue]:
    """The entries with words as cues timed from ``origin`` (the call's answer; without one, the
    first entry's start). An entry without a start follows the one before; one without an end
    lasts by its words; cues never run backwards."""
    said = _said(entries)
    if origin is None:
        origin = next((e.started_at for e in said if e.started_at is not None), None)
    base = as_utc(origin) if origin is not None else None
    out: list[Cue] = []
    previous_end = 0
    for e in said:
        start = _ms(e.started_at, base) if base is not None else None
        start = previous_end if start is None else start
        end = _ms(e.ended_at, base) if base is not None else None
        text = " ".join(e.text.split())
        if end is None or end <= start:
            end = start + max(MIN_CUE_MS, MS_PER_WORD * len(text.split()))
        out.append(Cue(start, end, speaker(e.source), text))
        previous_end = max(previous_end, end)
    return out


def _stamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(timed: Sequence[Cue]) -> str:
    """A WebVTT file: one cue per entry, the speaker as its voice (``<v Agent>``)."""
    blocks = ["WEBVTT"]
    for n, cue in enumerate(timed, start=1):
        blocks.append(f"{n}\n{_stamp(cue.start_ms, '.')} --> {_stamp(cue.end_ms, '.')}\n"
                      f"<v {_vtt_escape(cue.speaker)}>{_vtt_escape(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def srt(timed: Sequence[Cue]) -> str:
    """A SubRip file: numbered cues, the speaker before the words."""
    blocks = [f"{n}\n{_stamp(cue.start_ms, ',')} --> {_stamp(cue.end_ms, ',')}\n"
              f"{cue.speaker}: {cue.text}" for n, cue in enumerate(timed, start=1)]
    return "\n\n".join(blocks) + "\n" if blocks else ""


__all__ = ["FORMATS", "MEDIA_TYPES", "MIN_CUE_MS", "MS_PER_WORD", "SPEAKERS", "Cue", "Entry",
           "cues", "plain_text", "speaker", "srt", "webvtt"]
