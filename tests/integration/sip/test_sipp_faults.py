"""Fault scenarios scripted with sipp: duplicate INVITE, late ACKs, CANCEL, RTP timeout with a
withheld BYE response. Each checks both the wire (sipp's verdict) and the call row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from engine.sip.message import Request, Response, parse
from engine.store.vocabulary import call_problems
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import SCENARIOS, requires_sipp, run_sipp

pytestmark = requires_sipp


@pytest.fixture
def sent(sip_engine: SipEngine) -> Iterator[Counter[str]]:
    """Counts what the engine sends: 'INVITE 200', 'BYE', ..."""
    counts: Counter[str] = Counter()
    udp = sip_engine.telephony.ua.endpoint.transports["UDP"]
    original = udp.send

    def send(data: bytes, peer):  # type: ignore[no-untyped-def]
        message = parse(data)
        if isinstance(message, Response):
            counts[f"{message.cseq.method} {message.status}"] += 1
        elif isinstance(message, Request):
            counts[message.method] += 1
        original(data, peer)

    udp.send = send  # type: ignore[method-assign]
    yield counts
    udp.send = original  # type: ignore[method-assign]


async def test_duplicate_invite_is_absorbed(sip_engine: SipEngine) -> None:
    result = await run_sipp(SCENARIOS / "duplicate_invite.xml", sip_engine.port, "15550100")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    [call] = sip_engine.calls()
    assert call.status == "completed" and call.disconnect_reason == "caller_hangup"
    assert sip_engine.telephony.ua.endpoint.stats["absorbed"] >= 1


async def test_200_is_retransmitted_until_the_late_ack(sip_engine: SipEngine,
                                                       sent: Counter[str]) -> None:
    result = await run_sipp(SCENARIOS / "late_ack.xml", sip_engine.port, "15550100")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    assert sent["INVITE 200"] >= 2  # T1 = 500 ms: at 0.5 s and 1.5 s before the ACK at 2.5 s
    [call] = sip_engine.calls()
    assert call.status == "completed"
    steps = [e.event_type for e in sip_engine.events(call.id)]
    assert steps.count("ack_received") == 1


async def test_unknown_number_gets_404_retransmitted_until_acked(sip_engine: SipEngine,
                                                                 sent: Counter[str]) -> None:
    result = await run_sipp(SCENARIOS / "rejected_late_ack.xml", sip_engine.port, "19990000")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    assert sent["INVITE 404"] >= 2  # Timer G until the ACK
    assert sip_engine.calls() == []


async def test_cancel_while_ringing(sip_engine: SipEngine, sent: Counter[str]) -> None:
    sip_engine.telephony.media.answer_after_s = 5.0
    result = await run_sipp(SCENARIOS / "cancel.xml", sip_engine.port, "15550100")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    [call] = sip_engine.calls()
    assert call.status == "canceled" and call.disconnect_reason == "canceled"
    assert call.sip_status_code == 487 and call_problems(call.model_dump()) == []
    assert call.answered_at is None and call.ended_at is not None
    steps = [(e.event_type, e.sip_status_code) for e in sip_engine.events(call.id)]
    assert ("cancel_received", None) in steps and ("response_sent", 487) in steps
    assert sent["CANCEL 200"] == 1 and sent["INVITE 200"] == 0


async def test_rtp_timeout_ends_the_call_and_bye_is_retransmitted(sip_engine: SipEngine,
                                                                  sent: Counter[str]) -> None:
    sip_engine.telephony.rtp_timeout_s = 1.5
    result = await run_sipp(SCENARIOS / "rtp_timeout.xml", sip_engine.port, "15550100")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()
    [call] = sip_engine.calls()
    assert call.status == "completed" and call.disconnect_reason == "rtp_timeout"
    assert call.metadata_["error_code"] == "rtp_timeout" and "RTP" in call.metadata_["error_message"]
    assert call.sip_status_code == 200 and call_problems(call.model_dump()) == []
    assert sent["BYE"] >= 2  # the 200 was held back for 1.2 s: Timer E retransmitted
    steps = [(e.event_type, e.sip_status_code) for e in sip_engine.events(call.id)]
    assert ("bye_sent", None) in steps and ("response_received", 200) in steps
