"""Accepting and declining a warm transfer by voice: the matcher, and the listener on fake audio
(frames marked voiced or silent, a scripted recogniser)."""

from __future__ import annotations

import asyncio

import pytest

from engine.calls.transfers.consult import ConsultListener, Heard, recipient_decision
from engine.media import FRAME_BYTES, SILENCE
from engine.speech.fakes import FakeSttEngine

VOICED = b"\x10\x00" * (FRAME_BYTES // 2)


@pytest.mark.parametrize("text", [
    "Yes, put them through.", "Yeah.", "yep", "Sure!", "Okay, go ahead.", "OK", "Accept.",
    "Put them through, please.", "Alright, connect them.", "No problem, put them through.",
    "I'm not sure... okay, yes.", "Yes please",
])
def test_accepting_words(text: str) -> None:
    assert recipient_decision(text) == "accept"


@pytest.mark.parametrize("text", [
    "No, not now.", "No.", "Nope", "Decline.", "I can't take it right now.", "Not now, sorry.",
    "No thanks", "Sorry, I cannot.", "Not right now, I'm in a meeting.", "No, sure not.",
])
def test_declining_words(text: str) -> None:
    assert recipient_decision(text) == "decline"


@pytest.mark.parametrize("text", [
    "", "Thank you.", "Hello?", "Who is this?", "I'm not sure.", "yesterday", "nobody", "knot",
    "Is it yes or no?", "Snowboard", "okayish",
])
def test_words_that_decide_nothing(text: str) -> None:
    assert recipient_decision(text) is None


def test_the_first_word_said_wins() -> None:
    assert recipient_decision("Yes. Well, no.") == "accept"
    assert recipient_decision("No... actually yes.") == "decline"


def voiced_by_marker(pcm: bytes) -> bool:
    return pcm == VOICED


async def drained(listener: ConsultListener, frames: int) -> None:
    """Until the listener has taken ``frames`` frames and its decodes are done."""
    for _ in range(200):
        await asyncio.sleep(0)
        if listener.frames >= frames and not listener._inbox:
            break
    for _ in range(50):
        await asyncio.sleep(0)


async def test_the_listener_reports_each_utterance_with_its_decision() -> None:
    heard: list[Heard] = []
    stt = FakeSttEngine(["Hello, who's calling?", "Yes, put them through."], decode_s=0.0)
    listener = ConsultListener(stt, heard.append, vad=voiced_by_marker)
    listener.start()
    try:
        frames = [SILENCE] * 10 + [VOICED] * 30 + [SILENCE] * 20 + [VOICED] * 25 + [None] * 20
        for pcm in frames:
            listener.feed(pcm)
        await drained(listener, len(frames))
    finally:
        await listener.close()
    assert [(h.text, h.decision) for h in heard] == [("Hello, who's calling?", None),
                                                     ("Yes, put them through.", "accept")]
    first, second = heard
    assert first.started_at == pytest.approx(0.2) and first.ended_at == pytest.approx(0.8)
    assert second.started_at == pytest.approx(1.2) and second.ended_at == pytest.approx(1.7)
    assert stt.decodes == 2


async def test_silence_and_empty_recognitions_report_nothing() -> None:
    heard: list[Heard] = []
    stt = FakeSttEngine([""], decode_s=0.0)
    listener = ConsultListener(stt, heard.append, vad=voiced_by_marker)
    listener.start()
    try:
        frames = [SILENCE] * 50 + [VOICED] * 10 + [SILENCE] * 20
        for pcm in frames:
            listener.feed(pcm)
        await drained(listener, len(frames))
    finally:
        await listener.close()
    assert heard == [] and stt.decodes == 1


async def test_a_closed_listener_takes_no_more_audio() -> None:
    heard: list[Heard] = []
    listener = ConsultListener(FakeSttEngine(["No."], decode_s=0.0), heard.append,
                               vad=voiced_by_marker)
    listener.start()
    await listener.close()
    for pcm in [VOICED] * 20 + [SILENCE] * 20:
        listener.feed(pcm)
    await asyncio.sleep(0)
    assert listener.frames == 0 and not listener._inbox and heard == []
