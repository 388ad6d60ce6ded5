"""Digest auth against kamailio as registrar and proxy, started here with its own config on a
free loopback port: REGISTER 401 -> 200, INVITE 407 -> 200 (relayed to sipp as the callee), and
a wrong password failing clearly without a retry loop."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.store import SipTrunk, session_scope
from tests.harness.kamailio import PASSWORD, Kamailio, requires_kamailio, start_kamailio
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import SippUas, requires_sipp
from tests.integration.sip.test_sipp_outbound import call_row, queue_call, wait_answered

pytestmark = [requires_sipp, requires_kamailio]


@pytest.fixture
async def kamailio_and_callee() -> AsyncIterator[tuple[Kamailio, SippUas]]:
    with tempfile.TemporaryDirectory() as tmp:
        async with SippUas("uas") as uas:
            kam = await start_kamailio(uas.port, Path(tmp))
            try:
                yield kam, uas
            finally:
                await kam.stop()


def add_trunk(sip: SipEngine, port: int, password: str) -> SipTrunk:
    with session_scope(sip.engine.db) as session:
        trunk = SipTrunk(organization_id=sip.engine.organization_id, name="kamailio",
                         host="127.0.0.1", port=port, username="alice", password=password,
                         register_enabled=True, register_expires_seconds=300)
        session.add(trunk)
        session.flush()
        session.expunge(trunk)
        return trunk


async def test_register_401_then_200(sip_engine: SipEngine,
                                     kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    trunk = add_trunk(sip_engine, kam.port, PASSWORD)
    registration = await sip_engine.telephony.register_trunk(trunk)
    assert registration.state == "registered", registration.error
    assert registration.sent == 2 and registration.granted_s and registration.granted_s <= 300
    await sip_engine.settled()
    with session_scope(sip_engine.engine.db) as session:
        row = session.get(SipTrunk, trunk.id)
        assert row is not None and row.registration_status == "registered"


async def test_wrong_password_fails_clearly_without_retrying(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    trunk = add_trunk(sip_engine, kam.port, "wrong")
    registration = await sip_engine.telephony.register_trunk(trunk)
    assert registration.state == "failed" and "rejected" in (registration.error or "")
    await asyncio.sleep(1.0)
    assert registration.sent == 2  # one challenge answered, the refusal not retried
    await sip_engine.settled()
    with session_scope(sip_engine.engine.db) as session:
        row = session.get(SipTrunk, trunk.id)
        assert row is not None and row.registration_status == "failed"


async def test_invite_407_then_200_through_the_proxy(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, uas = kamailio_and_callee
    call_id = queue_call(sip_engine, kam.port)
    with session_scope(sip_engine.engine.db) as session:
        from engine.store import Call

        call = session.get(Call, call_id)
        assert call is not None
        trunk = session.get(SipTrunk, call.sip_trunk_id)
        assert trunk is not None
        trunk.username, trunk.password = "alice", PASSWORD
    sip_engine.telephony.dial(call_id)
    await wait_answered(sip_engine, call_id)
    sip_engine.telephony.calls[call_id].hangup()
    assert await uas.wait() == 0, uas.stderr
    await sip_engine.settled()
    assert call_row(sip_engine, call_id).status == "completed"
    events = sip_engine.events(call_id)
    assert any(e.event_type == "auth_challenge" and e.sip_status_code == 407 for e in events)


async def test_invite_with_a_wrong_password_fails_with_407(
        sip_engine: SipEngine, kamailio_and_callee: tuple[Kamailio, SippUas]) -> None:
    kam, _ = kamailio_and_callee
    call_id = queue_call(sip_engine, kam.port)
    with session_scope(sip_engine.engine.db) as session:
        from engine.store import Call

        call = session.get(Call, call_id)
        assert call is not None
        trunk = session.get(SipTrunk, call.sip_trunk_id)
        assert trunk is not None
        trunk.username, trunk.password = "alice", "wrong"
    await sip_engine.telephony.dial(call_id)
    await sip_engine.settled()
    row = call_row(sip_engine, call_id)
    assert row.status == "failed" and row.metadata_["sip_status_code"] == 407
    assert row.disconnect_reason == "auth_failed"
    assert (row.sip_status_code, row.metadata_["error_code"]) == (407, "407")
