"""Blind transfers against fakes, in virtual time: dial and bridge (answered, busy, declined, no
answer, the caller leaving, a cancel, the recipient hanging up after the bridge) and REFER
(accepted, or refused and bridged instead)."""

from __future__ import annotations

import pytest

from engine.calls.errors import CallError
from engine.calls.transfers import NOT_CONNECTED
from engine.sip import sdp
from tests.unit.transfers.fakes import (
    ACTOR,
    CALL_ID,
    CALLER,
    FakeSipCall,
    Harness,
    ReferScript,
    answers,
    phone_trunk,
    rejects,
    rings,
    run,
)

DESK = "sip:desk@10.0.0.9:5060"


def test_answered_leg_is_bridged_and_the_agent_leaves() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, answers(after=2.0))
        started = await h.blind(DESK, ringing_timeout=20)
        assert started["status"] == "requested" and started["kind"] == "blind"
        assert started["metadata"] == {"play_dialtone": False, "method": "bridge",
                                       "requested_method": "auto"}
        transfer = h.transfers.active[CALL_ID]
        await h.until(lambda: transfer.status == "completed", "the bridge")
        assert h.now() == pytest.approx(2.0, abs=0.05)
        assert h.call.agent is not None and h.call.agent.paused
        assert h.call.participants() == ["caller", f"transfer:{transfer.id}"]
        assert h.call.control.transferred and h.call.control.status == "in_progress"
        leg = h.dialer.to(DESK)
        assert leg.caller == CALLER and leg.ringing_timeout_s == 20
        await h.end_call()
        assert leg.hangups == ["caller_hangup"] and leg.state == "ended"

        row = h.row()
        assert row.status == "completed" and row.failure_cause is None
        assert row.sip_status_code == 200 and row.completed_at is not None
        assert row.routing_attempts == [{"to": DESK, "method": "bridge", "status": "answered",
                                         "sip_status_code": 200}]
        assert [p["role"] for p in row.participants] == ["caller", "human"]
        assert row.participants[1]["sip_call_id"] == leg.call_id
        assert h.events() == ["transfer.requested", "transfer.dialing", "transfer.completed"]
        assert h.event("transfer.requested")["actor"] == ACTOR
        assert h.event("transfer.completed")["payload"]["method"] == "bridge"
        assert h.sip_events()[:2] == ["transfer.invite_sent", "transfer.response_received"]
        assert h.statuses() == ["transferring", "in_progress"]
        assert h.said() == []
        assert h.rtp.leaked() == []
        assert h.call.participants() == ["caller"]  # the recipient's leg left at the end

    run(scenario)


@pytest.mark.parametrize(("status", "cause"), [(486, "busy"), (603, "declined"),
                                               (404, "failed")])
def test_rejected_leg_fails_and_the_agent_takes_the_call_back(status: int, cause: str) -> None:
    async def scenario(h: Harness) -> None:  # a phone number goes through the call's trunk
        h.dialer.script("sip:+15550123456@10.0.0.50:5060", rejects(status, after=1.5))
        await h.blind("+15550123456", ringing_timeout=20)
        await h.finished()

        row = h.row()
        assert row.status == "failed" and row.failure_cause == cause
        assert row.sip_status_code == status and row.outbound_trunk_id is not None
        assert row.routing_attempts == [{"to": "+15550123456", "method": "bridge",
                                         "status": "failed", "failure_cause": cause,
                                         "sip_status_code": status}]
        assert h.events() == ["transfer.requested", "transfer.dialing", "transfer.failed"]
        failed = h.event("transfer.failed")
        assert failed["failure"] == cause and failed["code"] == status
        assert h.dialer.calls[0].caller == "+15550009999"  # the trunk's caller id
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario, trunk=phone_trunk())


def test_no_answer_within_the_ringing_timeout() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, rings())
        await h.blind(DESK, ringing_timeout=30)
        await h.finished()
        assert h.now() == pytest.approx(30.0, abs=0.1)  # 30 s of ringing, in no time

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "no_answer"
        assert row.routing_attempts[0]["failure_cause"] == "no_answer"
        assert "transfer.ringing_timeout" in h.sip_events()
        assert h.events()[-1] == "transfer.failed"
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario)


def test_caller_hanging_up_while_it_rings_cancels_the_transfer() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, rings())
        await h.blind(DESK)
        leg = await h.dialled(DESK)
        await h.end_call("caller_hangup")

        row = h.row()
        assert row.status == "canceled" and row.failure_cause == "caller_hangup"
        assert row.routing_attempts == [{"to": DESK, "method": "bridge", "status": "canceled"}]
        assert h.events() == ["transfer.requested", "transfer.dialing", "transfer.canceled"]
        assert h.event("transfer.canceled")["failure"] == "caller_hangup"
        assert "caller_hangup" in leg.hangups
        assert h.said() == [] and h.statuses() == ["transferring"]
        assert h.rtp.leaked() == []

    run(scenario)


def test_cancel_while_it_rings_gives_the_call_back_to_the_agent() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, rings())
        started = await h.blind(DESK, ringing_timeout=60)
        leg = await h.dialled(DESK)
        with pytest.raises(CallError) as early:
            await h.transfers.complete(CALL_ID, started["id"], ACTOR)
        assert early.value.code == "TRANSFER_NOT_READY"

        canceled = await h.transfers.cancel(CALL_ID, started["id"], ACTOR)
        assert canceled["status"] == "canceled" and canceled["failure_cause"] is None
        await h.finished()
        assert h.now() < 1.0
        assert leg.state == "ended" and leg.outcome == "canceled"

        row = h.row()
        assert row.status == "canceled" and row.sip_status_code == 487
        assert row.metadata_["canceled_by"] == ACTOR
        assert row.routing_attempts == [{"to": DESK, "method": "bridge", "status": "canceled",
                                         "sip_status_code": 487}]
        assert h.events() == ["transfer.requested", "transfer.dialing", "transfer.canceled"]
        assert h.event("transfer.canceled")["actor"] == ACTOR
        assert_agent_back(h, NOT_CONNECTED)
        with pytest.raises(CallError) as over:
            await h.transfers.cancel(CALL_ID, started["id"], ACTOR)
        assert over.value.code == "TRANSFER_FINISHED"

    run(scenario)


def test_recipient_hanging_up_after_the_bridge_ends_the_call() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, answers(after=1.0, hangs_up_after=45.0))
        await h.blind(DESK)
        await h.finished()  # the recipient's BYE ends the call, and the transfer with it
        assert h.now() == pytest.approx(46.0, abs=0.1)

        assert h.call.hangups == ["agent_hangup"] and h.call.reason == "agent_hangup"
        assert h.row().status == "completed"
        assert h.events()[-2:] == ["transfer.completed", "transfer.recipient_hangup"]
        assert h.dialer.to(DESK).end_reason == "callee_hangup"
        assert h.rtp.leaked() == []

    run(scenario)


def test_refer_accepted_hands_the_caller_over() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.refer_script = ReferScript(status=202)
        started = await h.blind(DESK)
        assert started["metadata"]["method"] == "refer"
        await h.finished()

        assert h.call.hangups == ["transferred"]
        assert h.dialer.calls == []  # nothing dialled: the caller's side calls the desk
        [refer] = h.dialer.refers
        assert refer.target_uri == DESK and refer.notify_wait_s >= 35.0
        row = h.row()
        assert row.status == "completed" and row.sip_status_code == 200
        assert row.metadata_["method"] == "refer" and row.metadata_["refer_confirmed"] is True
        assert row.routing_attempts == [{"to": DESK, "method": "refer", "status": "completed",
                                         "refer_status": 202, "sip_status_code": 200,
                                         "sipfrag": "SIP/2.0 200 OK"}]
        assert h.events() == ["transfer.requested", "transfer.dialing",
                              "transfer.refer_accepted", "transfer.refer_progress",
                              "transfer.refer_progress", "transfer.completed"]
        assert h.event("transfer.completed")["payload"]["method"] == "refer"
        assert h.call.control.transferred

    run(scenario, sip_call=FakeSipCall())


def test_refused_refer_falls_back_to_dial_and_bridge() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.refer_script = ReferScript(status=501)
        h.dialer.script(DESK, answers(after=1.0))
        await h.blind(DESK, method="auto")
        transfer = h.transfers.active[CALL_ID]
        await h.until(lambda: transfer.status == "completed", "the bridge")
        assert h.call.participants() == ["caller", f"transfer:{transfer.id}"]
        await h.end_call()

        row = h.row()
        assert row.status == "completed" and row.sip_status_code == 200
        assert row.metadata_["method"] == "bridge"
        assert row.metadata_["refer_outcome"] == "refused"
        refer, bridge = row.routing_attempts
        assert refer["method"] == "refer" and refer["status"] == "refused"
        assert refer["refer_status"] == 501
        assert bridge == {"to": DESK, "method": "bridge", "status": "answered",
                          "sip_status_code": 200}
        events = h.events()
        assert events.index("transfer.refer_refused") < events.index("transfer.completed")
        assert h.event("transfer.refer_refused")["payload"]["fallback"] == "bridge"
        assert h.event("transfer.refer_refused")["code"] == 501

    run(scenario, sip_call=FakeSipCall())


def test_refused_refer_fails_when_refer_was_asked_for() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.refer_script = ReferScript(status=603)
        await h.blind(DESK, method="refer")
        await h.finished()
        row = h.row()
        assert row.status == "failed" and row.failure_cause == "declined"
        assert h.dialer.calls == []
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario, sip_call=FakeSipCall())


def assert_agent_back(h: Harness, message: str) -> None:
    """The agent has the call again: in the mixer, unmuted, listening, saying ``message``;
    the call ``in_progress`` and no RTP port left behind."""
    agent = h.call.agent
    assert agent is not None and not agent.paused
    assert agent.participant in (h.call.mixer.participants if h.call.mixer else [])
    assert not agent.participant.muted
    assert h.said() == [message]
    assert h.statuses()[-1] == "in_progress"
    assert h.call.control.status == "in_progress" and not h.call.control.transferred
    assert h.call.hangups == []
    assert h.rtp.leaked() == []


def test_answer_whose_media_cannot_open_fails_and_hangs_the_leg_up() -> None:
    async def scenario(h: Harness) -> None:
        h.rtp.refuse = sdp.SdpError("no common codec")
        h.dialer.script(DESK, answers(after=1.0))
        await h.blind(DESK)
        await h.finished()

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "failed"
        assert h.events()[-1] == "transfer.failed"
        assert_agent_back(h, NOT_CONNECTED)
        leg = h.dialer.to(DESK)
        assert leg.state == "ended", "the answered leg is left up, nobody on it"

    run(scenario)


def test_caller_leaving_after_the_refer_was_accepted_completes_it_unconfirmed() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.refer_script = ReferScript(status=202, timeout=True)  # 202, then no NOTIFY
        await h.blind(DESK)
        await h.until(lambda: "transfer.refer_accepted" in h.events(), "the 202")
        await h.end_call("caller_hangup")  # the caller's phone took the transfer and left

        row = h.row()
        assert row.status == "completed" and row.metadata_["refer_confirmed"] is False
        assert h.dialer.refers[0].gave_up and h.dialer.calls == []
        assert h.call.hangups == ["caller_hangup"]

    run(scenario, sip_call=FakeSipCall())


def test_ringback_plays_while_it_rings_and_stops_on_failure() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(DESK, rejects(486, after=3.0))
        await h.blind(DESK, play_dialtone=True)
        await h.dialled(DESK)
        assert h.call.participants() == ["caller", "agent", "ringback"]
        await h.finished()
        assert h.call.participants() == ["caller", "agent"]
        assert h.row().failure_cause == "busy"

    run(scenario)
