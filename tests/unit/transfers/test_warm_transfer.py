"""Warm transfers against fakes, in virtual time: destinations consulted in turn (declined by key
2, accepted by key 1, no decision in time), each fallback, a supervisor's complete and cancel,
and console users (away, declining, answering, leaving)."""

from __future__ import annotations

import pytest

from engine.calls.errors import CallError
from engine.calls.transfers import (
    GOODBYE,
    NOT_CONNECTED,
    TAKE_MESSAGE,
    TAKE_MESSAGE_INSTRUCTION,
)
from engine.calls.transfers.consultation import SCREENING_DECISION_S
from engine.sip import sdp
from tests.unit.transfers.fakes import (
    ACTOR,
    BRIEFING_PCM,
    CALL_ID,
    FakeJoins,
    Harness,
    answers,
    phone_trunk,
    rejects,
    rings,
    run,
)

FIRST = "sip:first@10.0.0.11:5060"
SECOND = "sip:second@10.0.0.12:5060"
BRIEFING_S = 0.1  # how long BRIEFING_PCM plays


@pytest.fixture(autouse=True)
def briefings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The warm briefing is "synthesized" as a few frames of PCM (no espeak); its texts kept."""
    texts: list[str] = []

    async def synthesize(text: str, voice: str | None = None,
                         rate_wpm: int | None = None) -> bytes:
        texts.append(text)
        return BRIEFING_PCM

    monkeypatch.setattr("engine.calls.transfers.consultation.synthesize_async", synthesize)
    return texts


def test_first_declines_by_key_2_and_second_accepts_by_key_1(briefings: list[str]) -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0, keys=((2.0, "2"),), via="info"))
        h.dialer.script(SECOND, answers(after=1.0, keys=((3.0, "1"),), via="rtp"))
        started = await h.warm([
            {"to": FIRST, "label": "First"},
            {"to": SECOND, "label": "Second", "screening_prompt": "Transfer for the second desk."},
        ], summary="The caller wants to change a delivery address.", ringing_timeout=15)
        assert started["kind"] == "warm" and started["status"] == "requested"
        transfer = h.transfers.find_warm(CALL_ID, started["id"])
        tag = transfer.id[:8]

        # screening the second: the caller hears music, the agent is muted and paused
        await h.until(lambda: transfer.status == "screening" and transfer.attempt is not None
                      and transfer.attempt.index == 1, "the second screening")
        assert sorted(h.call.participants()) == ["agent", f"briefing:{tag}", "caller",
                                                 f"consult:{tag}:1", f"transfer_music:{tag}"]
        agent = h.call.agent
        assert agent is not None and agent.paused and agent.participant.muted
        assert h.call.control.status == "transferring"

        await h.until(lambda: transfer.status == "completed", "the bridge")
        assert h.call.participants() == ["caller", f"consult:{tag}:1"]  # music and agent gone
        assert h.call.control.transferred and h.call.control.status == "in_progress"
        await h.end_call()

        row = h.row()
        assert row.status == "completed" and row.failure_cause is None
        assert row.transfer_to == SECOND and row.sip_status_code == 200
        declined, accepted = row.routing_attempts
        assert (declined["label"], declined["status"], declined["failure_cause"],
                declined["reason"]) == ("First", "failed", "declined", "declined by key 2")
        assert declined["kind"] == "sip" and declined["started_at"] and declined["ended_at"]
        assert (accepted["label"], accepted["status"], accepted["sip_status_code"]) == (
            "Second", "accepted", 200)
        assert [p["role"] for p in row.participants] == ["caller", "human"]
        assert h.events() == ["transfer.requested", "transfer.dialing", "transfer.screening",
                              "transfer.attempt_failed", "transfer.next_destination",
                              "transfer.dialing", "transfer.screening", "transfer.bridging",
                              "transfer.completed"]
        assert h.event("transfer.next_destination")["payload"]["attempt"] == 1
        assert "transfer.dtmf_info" in h.sip_events()  # the first keyed by SIP INFO
        assert h.dialer.to(FIRST).hangups[0] == "declined"
        assert briefings[1].startswith("Transfer for the second desk. The caller wants to")
        assert h.system_lines() == [
            f"Warm transfer: the caller is on hold; trying First ({FIRST}), then Second "
            f"({SECOND}).",
            f"Transfer to First ({FIRST}): declined.",
            f"Caller connected to Second ({SECOND})."]
        assert h.statuses() == ["transferring", "in_progress"]
        assert h.said() == []
        assert h.rtp.leaked() == [] and h.call.participants() == ["caller"]

    run(scenario)


def test_no_decision_after_the_briefing_fails_the_attempt() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0))  # answers, listens, never keys
        await h.warm([{"to": FIRST}], summary="Billing question.")
        await h.finished()
        assert h.now() == pytest.approx(1.0 + BRIEFING_S + SCREENING_DECISION_S, abs=0.1)

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "no_answer"
        [attempt] = row.routing_attempts
        assert attempt["failure_cause"] == "no_answer"
        assert attempt["reason"] == "no decision in time"
        assert h.dialer.to(FIRST).hangups[0] == "no_decision"
        assert h.events()[-3:] == ["transfer.attempt_failed", "transfer.failed",
                                   "transfer.fallback"]
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario)


def test_all_destinations_fail_and_the_agent_takes_the_call_back() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script("sip:+15550123456@10.0.0.50:5060", rejects(486))
        h.dialer.script(SECOND, rings())
        message = "Sorry, the desk is busy. Anything else?"
        await h.warm([{"to": "+15550123456", "label": "Desk"}, {"to": SECOND}],
                     ringing_timeout=10,
                     fallback={"strategy": "return_to_agent", "message": message})
        await h.finished()
        assert h.now() == pytest.approx(0.5 + 10.0, abs=0.2)  # busy, then 10 s of ringing

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "no_answer"  # the last cause
        assert row.outbound_trunk_id is not None
        assert [(a["failure_cause"], a["sip_status_code"]) for a in row.routing_attempts] == [
            ("busy", 486), ("no_answer", 487)]
        assert row.metadata_["fallback_result"] == {
            "strategy": "return_to_agent", "message": message, "result": "returned_to_agent"}
        events = h.events()
        assert events.index("transfer.failed") < events.index("transfer.fallback")
        assert events.count("transfer.attempt_failed") == 2
        assert_agent_back(h, message)

    run(scenario, trunk=phone_trunk())


def test_take_message_fallback_instructs_the_agent() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, rings())
        await h.warm([{"to": FIRST, "label": "Desk"}], ringing_timeout=5,
                     fallback={"strategy": "take_message"})
        await h.finished()

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "no_answer"
        assert row.metadata_["fallback_result"]["result"] == "taking_message"
        agent = h.call.agent
        assert agent is not None and agent.context == [TAKE_MESSAGE_INSTRUCTION]
        assert_agent_back(h, TAKE_MESSAGE)

    run(scenario)


def test_end_call_fallback_says_goodbye_and_hangs_up() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0, hangs_up_after=0.05))  # during the briefing
        await h.warm([{"to": FIRST, "label": "Desk"}], fallback={"strategy": "end_call"})
        await h.finished()

        row = h.row()
        assert row.status == "failed" and row.failure_cause == "declined"
        assert row.routing_attempts[0]["reason"] == "recipient hung up"
        assert row.metadata_["fallback_result"] == {"strategy": "end_call", "message": GOODBYE,
                                                    "result": "ended"}
        agent = h.call.agent
        assert agent is not None and [(s.text, s.end_after, s.interruptible)
                                      for s in agent.said] == [(GOODBYE, True, False)]
        assert h.call.control.status == "ending" and h.statuses() == ["transferring"]
        await h.until(h.call.ended.is_set, "the hangup after the goodbye")
        assert h.call.hangups == ["supervisor_hangup"]

    run(scenario)


def test_end_call_fallback_without_an_agent_hangs_up_at_once() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, rejects(603))
        await h.warm([{"to": FIRST}], fallback={"strategy": "end_call"})
        await h.finished()
        assert h.row().failure_cause == "declined"
        assert h.call.hangups == ["transfer_failed"]

    run(scenario, agent=False)


def test_supervisor_completes_a_screened_leg() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0))  # never keys: the supervisor decides
        started = await h.warm([{"to": FIRST}], ringing_timeout=10)
        transfer = h.transfers.active[CALL_ID]
        await h.until(lambda: transfer.status == "screening", "screening")

        done = await h.transfers.complete(CALL_ID, started["id"], ACTOR)
        assert done["status"] == "completed" and done["metadata"]["forced_by"] == ACTOR
        assert h.call.agent is not None
        assert h.call.agent.participant not in (h.call.mixer.participants if h.call.mixer else [])
        for action in (h.transfers.complete, h.transfers.cancel):
            with pytest.raises(CallError) as over:
                await action(CALL_ID, started["id"], ACTOR)
            assert over.value.code == "TRANSFER_FINISHED"
        await h.end_call()

        row = h.row()
        assert row.routing_attempts[0]["reason"] == f"forced by {ACTOR}"
        bridging = h.event("transfer.bridging")
        assert bridging["actor"] == ACTOR and bridging["payload"]["forced"] is True
        assert "has been speaking with Order desk" in row.summary  # generated from the call
        assert "I want to change my delivery address." in row.summary

    run(scenario)


def test_supervisor_cancels_while_it_rings() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, rings())
        started = await h.warm([{"to": FIRST}], ringing_timeout=60, fallback={
            "strategy": "return_to_agent", "message": "Back with you now."})
        leg = await h.dialled(FIRST)
        with pytest.raises(CallError) as early:
            await h.transfers.complete(CALL_ID, started["id"], ACTOR)
        assert early.value.code == "TRANSFER_NOT_READY"

        canceled = await h.transfers.cancel(CALL_ID, started["id"], ACTOR)
        assert canceled["status"] == "canceled" and canceled["failure_cause"] is None
        assert canceled["routing_attempts"][0]["status"] == "canceled"
        await h.finished()
        await h.until(lambda: leg.state == "ended", "the 487 to our CANCEL")
        assert h.now() < 1.0 and leg.outcome == "canceled"

        row = h.row()
        assert row.metadata_["canceled_by"] == ACTOR
        assert h.events()[-1] == "transfer.canceled"
        assert h.event("transfer.canceled")["actor"] == ACTOR
        assert h.system_lines()[-1] == f"Transfer canceled by {ACTOR}."
        assert_agent_back(h, "Back with you now.")

    run(scenario)


def test_caller_hanging_up_during_the_consultation_cancels_it() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0))
        await h.warm([{"to": FIRST}, {"to": SECOND}])
        transfer = h.transfers.active[CALL_ID]
        await h.until(lambda: transfer.status == "screening", "screening")
        await h.end_call()

        row = h.row()
        assert row.status == "canceled" and row.failure_cause == "caller_hangup"
        assert [a["status"] for a in row.routing_attempts] == ["canceled"]
        assert h.dialer.to(FIRST).state == "ended"
        assert [c.target.uri for c in h.dialer.calls] == [FIRST]  # the second is not dialled
        assert h.said() == [] and h.rtp.leaked() == []

    run(scenario)


def test_supervisor_cancels_during_the_screening() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0))
        started = await h.warm([{"to": FIRST}, {"to": SECOND}])
        transfer = h.transfers.active[CALL_ID]
        await h.until(lambda: transfer.status == "screening", "screening")
        canceled = await h.transfers.cancel(CALL_ID, started["id"], ACTOR)
        assert canceled["status"] == "canceled"
        await h.finished()

        assert h.dialer.to(FIRST).hangups[0] == "canceled"
        assert [c.target.uri for c in h.dialer.calls] == [FIRST]
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario)


def test_recipient_hanging_up_after_the_bridge_ends_the_call() -> None:
    async def scenario(h: Harness) -> None:
        h.dialer.script(FIRST, answers(after=1.0, keys=((1.0, "1"),), hangs_up_after=60.0))
        await h.warm([{"to": FIRST}])
        await h.finished()
        assert h.now() == pytest.approx(61.0, abs=0.1)
        assert h.row().status == "completed"
        assert h.call.hangups == ["agent_hangup"]
        assert h.events()[-2:] == ["transfer.completed", "transfer.recipient_hangup"]
        assert h.rtp.leaked() == []

    run(scenario)


def test_answer_whose_media_cannot_open_hangs_the_leg_up() -> None:
    async def scenario(h: Harness) -> None:
        h.rtp.refuse = sdp.SdpError("no common codec")
        h.dialer.script(FIRST, answers(after=1.0))
        await h.warm([{"to": FIRST}])
        await h.finished()
        assert h.row().status == "failed"
        assert h.dialer.to(FIRST).state == "ended"
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario)


# -- console users -------------------------------------------------------------------------------

def test_console_users_away_skipped_declined_then_answered() -> None:
    async def scenario(h: Harness) -> None:
        away, dana, marc = h.user("Away", "away"), h.user("Dana"), h.user("Marc")
        started = await h.warm([{"to": f"user:{away}"}, {"to": f"user:{dana}"},
                                {"to": f"user:{marc}", "summary": "Wants Marc."}],
                               ringing_timeout=20)
        tid = started["id"]
        await h.until(lambda: len(h.bus("transfer.offered")) == 1, "the offer to Dana")
        [offered] = h.bus("transfer.offered")
        assert offered["user_id"] == dana and offered["ringing_timeout"] == 20
        assert offered["data"] == {"order_number": "A-1234"} and offered["last_turns"]
        with pytest.raises(CallError) as wrong:
            await h.transfers.answer(CALL_ID, tid, marc, "v=0 offer", ACTOR)
        assert wrong.value.code == "TRANSFER_NOT_OFFERED"

        row = await h.transfers.decline(CALL_ID, tid, dana, "in a meeting", ACTOR)
        assert [a["failure_cause"] for a in row["routing_attempts"]] == ["unavailable",
                                                                         "declined"]
        assert row["routing_attempts"][0]["reason"] == "presence away"
        assert row["routing_attempts"][1]["reason"] == "in a meeting"
        assert h.bus("transfer.offer_ended")[0] == {
            "call_id": CALL_ID, "transfer_id": tid, "user_id": dana, "reason": "declined",
            "declined_reason": "in a meeting"}

        await h.until(lambda: len(h.bus("transfer.offered")) == 2, "the offer to Marc")
        assert h.bus("transfer.offered")[1]["summary"] == "Wants Marc."
        answer = await h.transfers.answer(CALL_ID, tid, marc, "v=0 offer", ACTOR)
        assert answer == {"sdp": FakeJoins.answer_sdp, "type": "answer", "participant_id": "pid-1",
                          "call_id": CALL_ID, "transfer_id": tid}
        assert h.joins.joins == [("v=0 offer", "agent", ACTOR)]
        assert h.call.participants() == ["caller"]  # the user's media is the join's own
        assert h.call.control.transferred
        assert h.store.user(marc).presence == "busy"
        await h.end_call()

        row_ = h.row()
        assert row_.status == "completed"
        assert [a["failure_cause"] for a in row_.routing_attempts] == ["unavailable", "declined",
                                                                       None]
        assert row_.participants[-1]["user_id"] == marc
        assert [(u["id"], u["presence"]) for u in h.bus("user.updated")] == [
            (marc, "busy"), (marc, "available")]
        assert h.store.user(marc).presence == "available"
        assert h.bus("transfer.offer_ended")[-1]["reason"] == "answered"
        lines = h.system_lines()
        assert lines[-1] == "Caller connected to Marc." and not any("user:" in x for x in lines)

    run(scenario)


def test_console_user_leaving_ends_the_call() -> None:
    async def scenario(h: Harness) -> None:
        marc = h.user("Marc")
        started = await h.warm([{"to": f"user:{marc}"}])
        await h.until(lambda: h.bus("transfer.offered") != [], "the offer")
        answer = await h.transfers.answer(CALL_ID, started["id"], marc, "v=0 offer", ACTOR)
        assert h.row().status == "completed"

        await h.joins.leave(h.call, answer["participant_id"], ACTOR)
        await h.finished()
        assert h.call.hangups == ["agent_hangup"]
        assert h.events()[-1] == "transfer.recipient_hangup"
        assert h.store.user(marc).presence == "available"

    run(scenario)


def test_console_user_offer_times_out_to_the_fallback() -> None:
    async def scenario(h: Harness) -> None:
        dana = h.user("Dana")
        started = await h.warm([{"to": f"user:{dana}"}], ringing_timeout=20)
        await h.finished()
        assert h.now() == pytest.approx(20.0, abs=0.1)

        assert h.row().failure_cause == "no_answer"
        assert h.bus("transfer.offer_ended")[0]["reason"] == "no_answer"
        with pytest.raises(CallError) as late:
            await h.transfers.answer(CALL_ID, started["id"], dana, "v=0 offer", ACTOR)
        assert late.value.code == "TRANSFER_FINISHED"
        assert h.joins.joins == []
        assert_agent_back(h, NOT_CONNECTED)

    run(scenario)


def assert_agent_back(h: Harness, message: str) -> None:
    """The agent has the call again: in the mixer, unmuted, listening, saying ``message``; no
    music left, the call ``in_progress``, no RTP port left behind."""
    agent = h.call.agent
    assert agent is not None and not agent.paused and not agent.participant.muted
    assert h.call.participants() == ["caller", "agent"]
    assert h.said() == [message]
    assert h.statuses()[-1] == "in_progress"
    assert h.call.control.status == "in_progress" and not h.call.control.transferred
    assert h.call.hangups == []
    assert h.rtp.leaked() == []
