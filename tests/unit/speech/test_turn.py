"""Speculative end of turn in virtual time: recognition and reply start at silence onset."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.agents.brain import collect, spoken_text
from engine.agents.scripted import ScriptedBrain
from engine.speech.fakes import FakeSttEngine
from engine.speech.turn import SpeculativeTurn
from engine.speech.vad import VAD_SPECULATIVE_MS, VAD_STOP_MS, TurnDetector, TurnEvent, TurnSignal
from engine.speech.virtual_time import run_virtual

SCRIPT = {
    "greeting": "Hi.",
    "intents": [{"name": "order", "keywords": ["order"], "slots": ["number"],
                 "actions": [{"say": "Order {number} found."}]}],
    "slots": {"number": {"type": "digits", "min_length": 3, "prompt": "What's the number?"}},
}


async def converse(
    pattern: str, texts: list[str | list[str]], decode_s: float, speculate: bool = True
) -> dict[str, object]:
    """Plays a voiced/silent frame pattern in media time; returns when the reply was ready."""
    loop = asyncio.get_running_loop()
    stt = FakeSttEngine(texts, decode_s=decode_s)
    stream = stt.open_stream()
    brain = ScriptedBrain(SCRIPT)
    await collect(brain.greet())
    snapshot = brain.checkpoint()

    async def work(speculative: bool) -> str:
        nonlocal snapshot
        snapshot = brain.checkpoint()
        final = await (stream.peek() if speculative else stream.finish())
        return spoken_text(await collect(brain.on_user_text(final.text)))

    turn: SpeculativeTurn[str] = SpeculativeTurn(work, lambda: brain.rollback(snapshot), speculate=speculate)
    detector = TurnDetector(is_speech=lambda _: False)
    t0 = loop.time()
    replies: list[tuple[float, float, str]] = []
    for i, mark in enumerate(pattern):
        # the media clock: frame i is complete 20 ms after it began
        await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - loop.time()))
        for event in detector.push_decision(mark == "#", i * 0.02):
            task = turn.on_event(event)
            if task is not None:
                reply = await task
                if event.signal is TurnSignal.END_OF_TURN and turn.speculative_hits:
                    await stream.finish(reuse_peek=True)
                replies.append((event.at, loop.time() - t0, reply))
    return {"replies": replies, "discarded": turn.discarded, "decodes": stt.decodes, "brain": brain}


def test_reply_is_ready_at_the_end_of_turn_when_decoding_fits_the_speculative_window() -> None:
    decode_s = (VAD_STOP_MS - VAD_SPECULATIVE_MS) / 1000 - 0.02  # fits the window
    wall = time.perf_counter()
    out = run_virtual(converse("#" * 40 + "." * 20, ["order 427"], decode_s))
    assert time.perf_counter() - wall < 0.5  # virtual time: no real waiting
    [(eot_at, ready_at, reply)] = out["replies"]  # type: ignore[misc]
    assert reply == "Order 427 found."
    assert ready_at == pytest.approx(eot_at)  # the same frame tick
    assert out["decodes"] == 1


def test_without_speculation_the_reply_waits_for_the_decode() -> None:
    out = run_virtual(converse("#" * 40 + "." * 20, ["order 427"], 0.12, speculate=False))
    [(eot_at, ready_at, _)] = out["replies"]  # type: ignore[misc]
    assert ready_at >= eot_at + 0.12


def test_resumed_speech_discards_the_speculative_reply_and_its_brain_state() -> None:
    pause = "." * (VAD_SPECULATIVE_MS // 20 + 3)
    # "order" ... pause (speculative "order" asks for the number) ... "order 427" ... end
    out = run_virtual(converse("#" * 30 + pause + "#" * 30 + "." * 20, [["order", "order 427"]], 0.04))
    assert out["discarded"] == 1
    [(_, _, reply)] = out["replies"]  # type: ignore[misc]
    assert reply == "Order 427 found."  # a reply from the whole turn, as if no speculation ran
    brain = out["brain"]
    assert isinstance(brain, ScriptedBrain) and brain.state.slot is None


def signal(kind: TurnSignal, at: float = 0.0) -> TurnEvent:
    return TurnEvent(kind, at, 0.0, at)


def test_work_starts_at_the_signal_and_finished_work_is_handed_to_on_drop_when_dropped() -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        started: list[str] = []
        dropped: list[str] = []

        def work(speculative: bool) -> asyncio.Future[str]:
            started.append("peek" if speculative else "final")  # synchronous: at the signal
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            future.set_result(f"answer {len(started)}")
            return future

        turn: SpeculativeTurn[str] = SpeculativeTurn(work, on_drop=dropped.append)
        assert not turn.speculating
        turn.on_event(signal(TurnSignal.SILENCE_BEGAN))
        assert started == ["peek"] and turn.speculating
        await asyncio.sleep(0.01)  # the speculative work finishes
        turn.on_event(signal(TurnSignal.SPEECH_RESUMED))  # ... and is dropped: undo it
        assert dropped == ["answer 1"] and not turn.speculating
        turn.on_event(signal(TurnSignal.SILENCE_BEGAN))
        await asyncio.sleep(0.01)
        task = turn.on_event(signal(TurnSignal.END_OF_TURN))  # handed over, not dropped
        assert task is not None and await task == "answer 2"
        return started, dropped, turn.discarded

    started, dropped, discarded = run_virtual(scenario())
    assert started == ["peek", "peek"] and dropped == ["answer 1"] and discarded == 1


def test_work_still_running_is_cancelled_not_dropped() -> None:
    async def scenario() -> tuple[bool, list[str]]:
        dropped: list[str] = []
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def work(speculative: bool) -> str:
            return await gate

        turn: SpeculativeTurn[str] = SpeculativeTurn(work, on_drop=dropped.append)
        turn.on_event(signal(TurnSignal.SILENCE_BEGAN))
        await asyncio.sleep(0)
        turn.cancel()
        await asyncio.sleep(0)
        return gate.cancelled(), dropped

    cancelled, dropped = run_virtual(scenario())
    assert cancelled and dropped == []  # the awaited future was cancelled with the work
