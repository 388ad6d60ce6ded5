"""Warm transfers decided by voice over real SIP on loopback: sipp recipients answer and play a
pcap of espeak-ng speech (A-law, as a phone would send it). One says "Yes, put them through"
once the briefing is over and is bridged to the caller without a key pressed; one says "No, not
now" while the briefing still plays, so the next destination (busy) is tried and the agent takes
the call back. The words are in the attempts, the ``transfer.recipient_said`` events and the
transcript's system lines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.calls.greeting import synthesize_async
from engine.calls.summary import briefing
from engine.calls.transfers import NOT_CONNECTED
from engine.calls.transfers.consult import recipient_decision
from engine.speech.sipcaller import CallerLine, render_lines, write_pcap
from tests.harness import sipp_steps
from tests.harness.callers import start_caller
from tests.harness.rtp import MediaSocket
from tests.harness.sip_engine import ControlEngine
from tests.harness.sipp import SCENARIOS, SippUas, requires_sipp
from tests.integration.transfers.test_warm_transfer import said, stored_transfer

pytestmark = requires_sipp

BUSY = SCENARIOS / "uas_busy.xml"  # 486
SUMMARY = "The caller wants to change a delivery address."
VOICE, RATE = "en-us+f3", 175  # the control engine's agent speaks the briefing with these
AFTER_BRIEFING_S = 2.0  # the "yes" starts this long after the briefing's audio ends


def speaking_recipient(tmp_path: Path, name: str, words: str, pause_s: float) -> Path:
    """A sipp UAS scenario for a warm transfer's recipient: it answers, says ``words`` ``pause_s``
    after the ACK, and stays until the engine's BYE."""
    audio = render_lines([CallerLine(0.0, words)], tail_s=1.5)
    pcap = write_pcap(audio.pcm, tmp_path / f"{name}.pcap")
    path = tmp_path / f"{name}.xml"
    path.write_text(sipp_steps.scenario(
        "recipient speaking",
        sipp_steps.answer_call("recipient", port="[media_port]", ringing_contact=False),
        sipp_steps.pause(int(pause_s * 1000)),
        sipp_steps.play_pcap_audio(pcap),
        sipp_steps.recv_bye(60000)))
    return path


async def briefing_seconds(screening_prompt: str | None = None) -> float:
    """How long the engine's spoken briefing lasts (the same text, voice and rate)."""
    pcm = await synthesize_async(briefing(SUMMARY, screening_prompt), VOICE, RATE)
    return len(pcm) / 2 / 16000


def events_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == kind]


def system_lines(call: dict[str, Any]) -> list[str]:
    return [e["text"] for e in call["transcript"]["entries"] if e["source"] == "system"]


async def test_the_recipient_says_yes_after_the_briefing(control_engine: ControlEngine,
                                                         tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    pause = await briefing_seconds() + AFTER_BRIEFING_S
    scenario = speaking_recipient(tmp_path, "yes", "Yes, put them through.", pause)
    caller_media = await MediaSocket.open()
    async with SippUas(scenario) as uas:
        sipp = start_caller(engine, tmp_path, caller_media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            agent = session.agent.participant  # type: ignore[union-attr]
            to = f"sip:sales@127.0.0.1:{uas.port}"
            await client.warm_transfer(call_id, [{"to": to, "label": "Sales"}],
                                       summary=SUMMARY, ringing_timeout=15)
            transfer = engine.telephony.transfers.active[call_id]
            await engine.wait_for(lambda: transfer.status == "screening", 20, "the screening")
            attempt = transfer.attempt
            assert attempt is not None and attempt.listener is not None
            row = await stored_transfer(engine, call_id, "completed", within=pause + 40)
            assert agent not in session.mixer.participants  # type: ignore[union-attr]
            assert session.control.transferred and attempt.listener is None
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await asyncio.wait_for(sipp, 30)
            assert result.returncode == 0, result.stderr
            assert await uas.wait() == 0, uas.stderr
        finally:
            caller_media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    assert row["status"] == "completed" and row["transfer_to"] == to
    [accepted] = row["routing_attempts"]
    assert accepted["status"] == "accepted" and accepted["reason"] is None  # not forced
    assert recipient_decision(accepted["answer_text"]) == "accept", accepted
    # the VAD ends a turn at the comma's pause: "Yes." decides before "put them through" ends
    # (whisper tiny.en hears espeak's "Yes." as "Yes." or "Yeah.")
    assert accepted["answer_text"].lower().startswith(("yes", "yeah")), accepted
    events = await client.call_events(call_id)
    assert not events_of(events, "transfer.dtmf_info")  # no key: the words did it
    [heard] = events_of(events, "transfer.recipient_said")
    assert heard["payload"]["text"] == accepted["answer_text"]
    assert heard["payload"]["decision"] == "accept" and heard["payload"]["label"] == "Sales"
    assert heard["payload"]["briefing_playing"] is False
    kinds = [e["event_type"] for e in events if e["event_type"].startswith("transfer.")
             and e["provider"] == "engine"]
    assert kinds.index("transfer.screening") < kinds.index("transfer.recipient_said") \
        < kinds.index("transfer.bridging") < kinds.index("transfer.completed"), kinds
    call = await client.get_call(call_id)
    lines = system_lines(call)
    assert lines == [f"Warm transfer: the caller is on hold; trying Sales ({to}).",
                     f"Caller connected to Sales ({to})."], lines
    entries = call["transcript"]["entries"]
    indexes = [e["index"] for e in entries]
    assert len(set(indexes)) == len(indexes), indexes  # numbered in line with the agent's
    greeting = next(e for e in entries if e["source"] == "agent")
    started = next(e for e in entries if e["source"] == "system")
    assert greeting["index"] < started["index"]
    assert started["metadata"] == {"event": "transfer", "step": "started",
                                   "transfer_id": row["id"]}


async def test_the_recipient_says_no_during_the_briefing(control_engine: ControlEngine,
                                                         tmp_path: Path) -> None:
    engine, client = control_engine, control_engine.client
    assert await briefing_seconds("Transfer for the returns desk.") > 6.0
    scenario = speaking_recipient(tmp_path, "no", "No, not now.", 1.5)
    media = await MediaSocket.open()
    async with SippUas(scenario) as first, SippUas(BUSY) as second:
        sipp = start_caller(engine, tmp_path, media)
        try:
            session = await engine.live_session(25)
            call_id = session.call_id
            pipeline = session.agent.pipeline  # type: ignore[union-attr]
            voice_to = f"sip:returns@127.0.0.1:{first.port}"
            busy_to = f"sip:busy@127.0.0.1:{second.port}"
            await client.warm_transfer(call_id, [
                {"to": voice_to, "label": "Returns",
                 "screening_prompt": "Transfer for the returns desk."},
                {"to": busy_to, "label": "Backup"},
            ], summary=SUMMARY, ringing_timeout=15)
            row = await stored_transfer(engine, call_id, "failed", within=60)
            assert await first.wait(30) == 0, first.stderr  # declined: our BYE
            assert await second.wait(30) == 0, second.stderr
            await engine.wait_for(lambda: said(session, NOT_CONNECTED), 15,
                                  "the agent taking the call back")
            assert not pipeline.paused and session.control.status == "in_progress"
            assert (await client.control(call_id, "end_call"))["result"] == "ending"
            result = await asyncio.wait_for(sipp, 30)
            assert result.returncode == 0, result.stderr
        finally:
            media.close()
    await engine.settled(20)

    [row] = await client.call_transfers(call_id)
    assert row["status"] == "failed" and row["failure_cause"] == "busy"
    declined, busy = row["routing_attempts"]
    assert declined["label"] == "Returns" and declined["failure_cause"] == "declined"
    assert declined["reason"] == "declined by voice"
    assert recipient_decision(declined["answer_text"]) == "decline", declined
    assert declined["answer_text"].lower().startswith("no"), declined
    assert busy["label"] == "Backup" and busy["failure_cause"] == "busy"
    assert busy["answer_text"] is None
    assert row["metadata"]["fallback_result"]["result"] == "returned_to_agent"
    events = await client.call_events(call_id)
    [heard] = events_of(events, "transfer.recipient_said")
    assert heard["payload"]["decision"] == "decline"
    assert heard["payload"]["text"] == declined["answer_text"]
    assert heard["payload"]["briefing_playing"] is True, heard["payload"]
    kinds = [e["event_type"] for e in events if e["event_type"].startswith("transfer.")
             and e["provider"] == "engine"]
    assert kinds.index("transfer.recipient_said") < kinds.index("transfer.attempt_failed") \
        < kinds.index("transfer.next_destination") < kinds.index("transfer.fallback"), kinds
    lines = system_lines(await client.get_call(call_id))
    assert lines == [
        f"Warm transfer: the caller is on hold; trying Returns ({voice_to}), "
        f"then Backup ({busy_to}).",
        f'Transfer to Returns ({voice_to}): declined (said "{declined["answer_text"]}").',
        f"Transfer to Backup ({busy_to}): busy.",
        "Transfer failed: nobody accepted; the agent took the call back.",
    ], lines
