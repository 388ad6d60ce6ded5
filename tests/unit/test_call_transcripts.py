"""Transcript files from entries: the plain text's speakers, and subtitle cues that are timed from
the answer, follow on when an entry has no time, last by their words when it has no end, and
never run backwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.calls import transcripts

ANSWER = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


@dataclass
class Line:
    source: str
    text: str
    started_at: datetime | None = None
    ended_at: datetime | None = None


def at(seconds: float) -> datetime:
    return ANSWER + timedelta(seconds=seconds)


def test_plain_text_names_each_speaker() -> None:
    lines = [Line("agent", "Hello!"), Line("user", " I  need\nhelp "), Line("system", ""),
             Line("human_agent", "Dana here."), Line("supervisor", "Noted."),
             Line("ivr_bot", "Press one.")]
    assert transcripts.plain_text(lines) == ("Agent: Hello!\nCaller: I need help\n"
                                             "Human agent: Dana here.\nSupervisor: Noted.\n"
                                             "Ivr bot: Press one.")


def test_cues_are_timed_and_never_run_backwards() -> None:
    lines = [
        Line("agent", "Hello there", at(-1), at(1.5)),  # before the answer: from zero
        Line("user", "one two three four five"),  # no times: after the previous, by its words
        Line("agent", "Sure", at(4), at(3)),  # an end before its start: by its words
        Line("user", "Thanks", at(9.25), at(10)),
    ]
    cues = transcripts.cues(lines, ANSWER)
    assert [(c.start_ms, c.end_ms, c.speaker) for c in cues] == [
        (0, 1500, "Agent"),
        (1500, 1500 + 5 * transcripts.MS_PER_WORD, "Caller"),
        (4000, 4000 + transcripts.MIN_CUE_MS, "Agent"),
        (9250, 10000, "Caller"),
    ]


def test_without_an_answer_the_first_entry_starts_the_clock() -> None:
    cues = transcripts.cues([Line("user", "Hi", at(30), at(31)), Line("agent", "Hello", at(32), at(33))],
                            None)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(0, 1000), (2000, 3000)]


def test_file_formats() -> None:
    cues = [transcripts.Cue(0, 1500, "Agent", "Hi <there> & welcome"),
            transcripts.Cue(3_723_004, 3_724_000, "Caller", "Bye")]
    assert transcripts.webvtt(cues) == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\n<v Agent>Hi &lt;there&gt; &amp; welcome\n\n"
        "2\n01:02:03.004 --> 01:02:04.000\n<v Caller>Bye\n")
    assert transcripts.srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nAgent: Hi <there> & welcome\n\n"
        "2\n01:02:03,004 --> 01:02:04,000\nCaller: Bye\n")
    assert transcripts.webvtt([]) == "WEBVTT\n" and transcripts.srt([]) == ""
