"""Number plans of simulated callees: which behaviour answers which dialled number."""

from __future__ import annotations

import itertools
import re
import struct

import pytest

from engine.simulator.callee import BEEP_LINE, SimulatedCallees, beep_frames, voicemail_persona
from engine.simulator.number_plan import (
    DEMO_BY_LAST_DIGIT,
    DEMO_NUMBERS,
    FICTITIOUS_RANGE,
    Busy,
    FastAnswer,
    NoAnswer,
    NumberPlan,
    PersonaAnswer,
    RangeRule,
    Voicemail,
    behaviour_of,
    demo_plan,
    digits,
)
from engine.simulator.personas import Hangup, PersonaError, Say, Silence, persona_names


def test_the_demo_plan_names_a_number_for_each_kind_of_callee() -> None:
    plan = demo_plan()
    assert plan.behaviour("+12025550101") == PersonaAnswer("order_status")
    assert plan.behaviour("+12025550110") == Voicemail()
    assert plan.behaviour("+12025550120") == Busy()
    assert plan.behaviour("+12025550130") == NoAnswer()
    kinds = {type(plan.behaviour(number)) for number in DEMO_NUMBERS}
    assert kinds == {PersonaAnswer, Voicemail, Busy, NoAnswer}


def test_numbers_are_compared_by_their_digits() -> None:
    plan = demo_plan()
    for spelling in ("+1 (202) 555-0101", "12025550101", "+12025550101", "1-202-555-0101"):
        assert plan.behaviour(spelling) == PersonaAnswer("order_status"), spelling
    assert digits("+1 (202) 555-0101") == "12025550101"


def test_a_lead_in_the_fictitious_range_is_answered_by_its_last_digit() -> None:
    plan = demo_plan()
    for last in range(10):
        number = f"+1312555014{last}"  # another area code, not listed
        assert plan.behaviour(number) == DEMO_BY_LAST_DIGIT[last], number
        assert plan.behaviour(number) == plan.behaviour(number)  # the same every time
    assert plan.behaviour("+13125550146") == Busy()
    assert plan.behaviour("+13125550140") == Voicemail()


def test_a_number_outside_the_plan_is_unknown() -> None:
    plan = demo_plan()
    assert plan.behaviour("+13125550200") is None  # 555-0200 is outside the range
    assert plan.behaviour("+14155551234") is None
    assert plan.behaviour("") is None
    assert plan.behaviour("reception") is None


def test_the_demo_plan_plays_only_personas_that_exist() -> None:
    assert set(demo_plan().personas()) <= set(persona_names())
    assert "order_status" in demo_plan().personas()


def test_a_custom_plan_is_a_mapping_of_number_to_behaviour() -> None:
    plan = NumberPlan.from_mapping({"+15550001": "persona:wants_human", "+15550002": "voicemail",
                                    "+15550003": "busy", "+15550004": "no_answer",
                                    "+15550005": "order_status",
                                    "+15550006": Voicemail(greeting="Leave it.", limit_s=5)})
    assert plan.behaviour("15550001") == PersonaAnswer("wants_human")
    assert plan.behaviour("+15550002") == Voicemail()
    assert plan.behaviour("+15550003") == Busy()
    assert plan.behaviour("+15550004") == NoAnswer()
    assert plan.behaviour("+15550005") == PersonaAnswer("order_status")
    assert plan.behaviour("+15550006") == Voicemail(greeting="Leave it.", limit_s=5)
    assert plan.behaviour("+12025550101") is None  # no range rule unless given
    assert plan.personas() == ["order_status", "wants_human"]


def test_a_custom_plan_may_keep_the_demo_range() -> None:
    plan = NumberPlan.from_mapping({"+13125550146": "order_status"},
                                   ranges=(RangeRule(FICTITIOUS_RANGE, DEMO_BY_LAST_DIGIT),))
    assert plan.behaviour("+13125550146") == PersonaAnswer("order_status")  # listed first
    assert plan.behaviour("+13125550156") == Busy()


@pytest.mark.parametrize(("plan", "field"), [
    ({"+1555": "fax machine"}, "plan['+1555']"),
    ({"+1555": ""}, "plan['+1555']"),
    ({"+1555": 3}, "plan['+1555']"),
    ({"no digits": "busy"}, "plan['no digits']"),
    ({"+1555": "busy", "1555": "voicemail"}, "plan['1555']"),
])
def test_a_wrong_entry_names_its_number(plan: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(field)):
        NumberPlan.from_mapping(plan)  # type: ignore[arg-type]


def test_a_range_rule_needs_ten_behaviours_and_a_pattern() -> None:
    with pytest.raises(ValueError, match="by_last_digit"):
        RangeRule(FICTITIOUS_RANGE, (Busy(),) * 9)
    with pytest.raises(ValueError, match="pattern"):
        RangeRule("1(", (Busy(),) * 10)


def test_behaviour_words() -> None:
    assert behaviour_of("No_Answer") == NoAnswer()
    assert behaviour_of("no-answer") == NoAnswer()
    assert behaviour_of(" persona:interrupter ") == PersonaAnswer("interrupter")
    assert behaviour_of(Busy()) == Busy()
    assert behaviour_of("fast_answer") == behaviour_of("Fast-Answer") == FastAnswer()


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan")])
def test_a_fast_answer_hangs_up_after_some_time(seconds: float) -> None:
    assert FastAnswer(hangup_s=2.5).hangup_s == 2.5
    with pytest.raises(ValueError, match="hangup_s"):
        FastAnswer(hangup_s=seconds)


def test_the_callees_refuse_a_bad_codec_or_plan() -> None:
    with pytest.raises(ValueError, match="codec"):
        SimulatedCallees(codec="g729")
    with pytest.raises(ValueError, match=r"plan\['\+1'\]"):
        SimulatedCallees({"+1": "fax machine"})
    with pytest.raises(ValueError, match="port"):
        SimulatedCallees(port=70000)
    with pytest.raises(ValueError, match="keep"):
        SimulatedCallees(keep=0)
    assert SimulatedCallees({"+1": "busy"}).plan.behaviour("1") == Busy()


async def test_a_persona_the_plan_names_must_exist_before_any_call_is_taken() -> None:
    callees = SimulatedCallees({"+1": "persona:fax"})
    with pytest.raises(PersonaError, match="unknown persona 'fax'"):
        await callees.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = callees.port


def test_a_voicemail_box_greets_beeps_and_keeps_silent_until_its_limit() -> None:
    box = Voicemail(greeting="Leave a message.", limit_s=7)
    persona = voicemail_persona(box)
    assert persona.steps == (Say("Leave a message."), Say(BEEP_LINE), Silence(7), Hangup())
    assert persona.voice.voice == box.voice and persona.voice.rate == box.rate


def test_the_beep_is_a_loud_tone_near_one_kilohertz_after_a_pause() -> None:
    line = beep_frames()
    pcm = b"".join(line.frames)
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    lead = int(0.3 * 16000)
    assert not any(samples[:lead])
    tone = samples[lead:lead + 8000]
    crossings = sum(1 for a, b in itertools.pairwise(tone) if a < 0 <= b)
    assert 480 <= crossings <= 520  # ~1000 Hz over half a second
    assert 0.25 * 32767 <= max(tone) <= 0.35 * 32767
    assert line.last_voiced == len(line.frames) - 1
