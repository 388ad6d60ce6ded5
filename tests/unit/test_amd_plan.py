"""What an outbound call's row asks of answering-machine detection, and its message filled."""

from __future__ import annotations

from engine.calls.amd_gate import AmdPlan, amd_plan, fill_message


def test_the_mode_comes_from_the_rows_metadata_and_is_off_when_missing() -> None:
    assert amd_plan(None) is None and amd_plan({}) is None and amd_plan({"amd_mode": "off"}) is None
    assert amd_plan({"amd_mode": "made up"}) is None  # a mode no one knows: no detection
    assert amd_plan({"amd_mode": "detect"}) == AmdPlan("detect")
    plan = amd_plan({"amd_mode": "detect_and_leave_message", "voicemail_message": "Call back."})
    assert plan == AmdPlan("detect_and_leave_message", "Call back.") and plan.leaves_message
    assert not AmdPlan("detect_and_leave_message", " ").leaves_message  # nothing to say: hang up
    assert not AmdPlan("detect", "Call back.").leaves_message


def test_the_message_is_filled_with_the_calls_variables() -> None:
    variables = {"first_name": "Robin", "order": {"id": 42}}
    assert fill_message("Hi {{first_name}}, order {{ order.id }} is ready. {missing}Bye {first_name}.",
                        variables) == "Hi Robin, order 42 is ready. Bye Robin."
