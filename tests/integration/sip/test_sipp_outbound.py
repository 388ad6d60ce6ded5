"""Outbound calls against sipp as the callee: answered, busy (486 ACKed), never answered (CANCEL
after the ringing timeout), and a first INVITE lost on the way (Timer A retransmits)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from engine.store import Call, CallEvent, PhoneNumber, SipTrunk, session_scope
from engine.store.vocabulary import call_problems
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import SCENARIOS, SippUas, requires_sipp

pytestmark = requires_sipp

CALLEE = "+15550199"


def queue_call(sip: SipEngine, port: int, ringing_timeout: int = 30) -> str:
    """A trunk to 127.0.0.1:port, a number on it, and a queued outbound call (as the API stores)."""
    engine = sip.engine
    with session_scope(engine.db) as session:
        trunk = SipTrunk(organization_id=engine.organization_id, name="sipp", host="127.0.0.1",
                         port=port)
        session.add(trunk)
        number = session.exec(select(PhoneNumber)).first()
        assert number is not None
        number.sip_trunk_id = trunk.id
        call = Call(organization_id=engine.organization_id, type="phone_call", transport="sip",
                    direction="outbound", from_number=number.number, to_number=CALLEE,
                    agent_id=sip.agent_id, phone_number_id=number.id, sip_trunk_id=trunk.id,
                    status="queued", ringing_timeout_seconds=ringing_timeout)
        session.add(call)
        return call.id


def call_row(sip: SipEngine, call_id: str) -> Call:
    with session_scope(sip.engine.db) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


async def wait_answered(sip: SipEngine, call_id: str, within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        session = sip.telephony.calls.get(call_id)
        if session is not None and session.answered_at is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the call was not answered")


def sip_codes(events: list[CallEvent]) -> list[int]:
    return [e.sip_status_code for e in events if e.sip_status_code is not None]


async def test_answered_call_is_completed_with_media(sip_engine: SipEngine) -> None:
    async with SippUas("uas") as uas:
        call_id = queue_call(sip_engine, uas.port)
        await asyncio.sleep(0.2)  # sipp binds its port
        sip_engine.telephony.dial(call_id)
        await wait_answered(sip_engine, call_id)
        await asyncio.sleep(1.0)  # a second of media both ways
        sip_engine.telephony.calls[call_id].hangup()
        assert await uas.wait() == 0, uas.stderr
    await sip_engine.settled()
    call = call_row(sip_engine, call_id)
    assert call.status == "completed" and call.disconnect_reason == "agent_hangup"
    assert call.sip_status_code == 200 and call_problems(call.model_dump()) == []
    assert call.answered_at is not None and call.recording_status == "completed"
    assert call.metadata_["rtp"]["frames_sent"] > 20
    codes = sip_codes(sip_engine.events(call_id))
    assert 180 in codes and 200 in codes


async def test_busy_is_acked_and_kept_as_486(sip_engine: SipEngine) -> None:
    async with SippUas(SCENARIOS / "uas_busy.xml") as uas:
        call_id = queue_call(sip_engine, uas.port)
        await asyncio.sleep(0.2)
        sip_engine.telephony.dial(call_id)
        assert await uas.wait() == 0, uas.stderr  # sipp's scenario ends only on our ACK
    await sip_engine.settled()
    call = call_row(sip_engine, call_id)
    assert call.status == "busy" and call.metadata_["sip_status_code"] == 486
    assert call.answered_at is None
    assert (call.disconnect_reason, call.sip_status_code) == ("busy", 486)
    assert call_problems(call.model_dump()) == [] and "error_code" not in call.metadata_


async def test_ringing_timeout_cancels_and_is_no_answer(sip_engine: SipEngine) -> None:
    async with SippUas(SCENARIOS / "uas_ring_forever.xml") as uas:
        call_id = queue_call(sip_engine, uas.port, ringing_timeout=2)
        await asyncio.sleep(0.2)
        sip_engine.telephony.dial(call_id)
        assert await uas.wait() == 0, uas.stderr  # CANCEL received, 487 ACKed
    await sip_engine.settled()
    call = call_row(sip_engine, call_id)
    assert call.status == "no_answer" and call.metadata_["sip_status_code"] == 487
    assert (call.disconnect_reason, call.sip_status_code) == ("no_answer", 487)
    assert call_problems(call.model_dump()) == []
    events = sip_engine.events(call_id)
    assert any(e.event_type == "cancel_sent" for e in events)
    assert any(e.event_type == "ringing_timeout" for e in events)


class DropFirstInvite(asyncio.DatagramProtocol):
    """A loopback relay in front of sipp that loses the first INVITE datagram."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.invites = 0
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.target:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        self.client = addr
        if data.startswith(b"INVITE "):
            self.invites += 1
            if self.invites == 1:
                return  # lost
        self.transport.sendto(data, self.target)


async def test_first_invite_lost_is_retransmitted_and_answered(sip_engine: SipEngine) -> None:
    async with SippUas("uas") as uas:
        loop = asyncio.get_running_loop()
        transport, relay = await loop.create_datagram_endpoint(
            lambda: DropFirstInvite(("127.0.0.1", uas.port)), local_addr=("127.0.0.1", 0))
        try:
            call_id = queue_call(sip_engine, transport.get_extra_info("sockname")[1])
            await asyncio.sleep(0.2)
            sip_engine.telephony.dial(call_id)
            await wait_answered(sip_engine, call_id)
            assert relay.invites >= 2  # Timer A sent it again
            sip_engine.telephony.calls[call_id].hangup()
            assert await uas.wait() == 0, uas.stderr
        finally:
            transport.close()
    await sip_engine.settled()
    assert call_row(sip_engine, call_id).status == "completed"


@pytest.mark.parametrize("missing", ["trunk"])
async def test_call_without_trunk_fails_clearly(sip_engine: SipEngine, missing: str) -> None:
    engine = sip_engine.engine
    with session_scope(engine.db) as session:
        call = Call(organization_id=engine.organization_id, type="phone_call", transport="sip",
                    direction="outbound", from_number="+15550100", to_number=CALLEE,
                    agent_id=sip_engine.agent_id, status="queued")
        session.add(call)
        call_id = call.id
    await sip_engine.telephony.dial(call_id)
    await sip_engine.settled()
    row = call_row(sip_engine, call_id)
    assert row.status == "failed" and "trunk" in row.metadata_["error_message"]
    assert (row.disconnect_reason, row.metadata_["error_code"]) == ("error", "dial_failed")
    assert call_problems(row.model_dump()) == []
