"""REFER in an answered outbound call against sipp as the transferee: accepted (202, NOTIFY
sipfrag 100 then 200, each answered 200) and declined (603, a typed refusal)."""

from __future__ import annotations

import asyncio

from engine.sip.refer import Refer, ReferResult
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import SCENARIOS, SippUas, requires_sipp
from tests.integration.sip.test_sipp_outbound import call_row, queue_call, wait_answered

pytestmark = requires_sipp

TARGET = "sip:+15550142@127.0.0.1"


async def refer_in_call(sip: SipEngine, scenario: str) -> ReferResult:
    async with SippUas(SCENARIOS / scenario) as uas:
        call_id = queue_call(sip, uas.port)
        await asyncio.sleep(0.2)  # sipp binds its port
        sip.telephony.dial(call_id)
        await wait_answered(sip, call_id)
        session = sip.telephony.calls[call_id]
        assert session.leg.sip is not None and session.leg.sip.dialog is not None
        loop = asyncio.get_running_loop()
        result: asyncio.Future[ReferResult] = loop.create_future()
        Refer(sip.telephony.ua, session.leg.sip.dialog, TARGET,
              lambda r: result.done() or result.set_result(r)).start()
        outcome = await asyncio.wait_for(result, 15.0)
        session.hangup()
        assert await uas.wait() == 0, uas.stderr
    await sip.settled()
    assert call_row(sip, call_id).status == "completed"
    return outcome


async def test_accepted_refer_reports_notify_progress(sip_engine: SipEngine) -> None:
    result = await refer_in_call(sip_engine, "uas_refer.xml")
    assert result.outcome == "completed" and result.refer_status == 202
    assert result.final_status == 200 and result.final_line == "SIP/2.0 200 OK"
    assert result.progress == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]


async def test_declined_refer_is_refused(sip_engine: SipEngine) -> None:
    result = await refer_in_call(sip_engine, "uas_refer_declined.xml")
    assert result.outcome == "refused" and result.refer_status == 603
    assert result.final_status is None and not result.accepted
