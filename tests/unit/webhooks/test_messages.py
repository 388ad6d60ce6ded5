"""The message envelopes and the answers of assistant-request and tool-calls."""

from __future__ import annotations

from engine.webhooks.messages import (
    assistant_choice,
    status_update,
    tool_calls,
    tool_results,
)


def test_status_update_envelope() -> None:
    body = status_update({"id": "c1", "status": "completed", "disconnect_reason": "caller_hangup"},
                         "completed")
    message = body["message"]
    assert message["type"] == "status-update"
    assert message["status"] == "completed"
    assert message["ended_reason"] == "caller_hangup"
    assert message["call"]["id"] == "c1"
    assert message["timestamp"].endswith("Z")
    live = status_update({"id": "c1"}, "ringing")["message"]
    assert "ended_reason" not in live


def test_tool_calls_envelope() -> None:
    message = tool_calls({"id": "c1"}, [{"id": "t1", "name": "lookup", "arguments": {"q": "x"}}])["message"]
    assert message["type"] == "tool-calls"
    assert message["toolCallList"] == [
        {"id": "t1", "type": "function", "function": {"name": "lookup", "arguments": {"q": "x"}}}]


def test_assistant_choice_forms() -> None:
    assert assistant_choice(None) is None
    assert assistant_choice({}) is None
    assert assistant_choice("agent") is None
    ours = assistant_choice({"agent_id": "a2", "overrides": {"first_message": "Hi!"},
                             "dynamic_variables": {"tier": "gold"}})
    assert ours == {"agent_id": "a2", "overrides": {"first_message": "Hi!"},
                    "dynamic_variables": {"tier": "gold"}}
    seed = assistant_choice({"assistantId": "a3", "assistantOverrides": {"system_prompt": "Be brief"},
                             "variableValues": {"name": "Ann"}})
    assert seed == {"agent_id": "a3", "overrides": {"system_prompt": "Be brief"},
                    "dynamic_variables": {"name": "Ann"}}


def test_assistant_overrides_keep_only_valid_agent_fields() -> None:
    choice = assistant_choice({"agent": {"first_message": "Hello", "interruptible": False,
                                         "id": "x", "organization_id": "y", "bogus": 1,
                                         "tts": "not a mapping", "metadata": {"k": "v"}}})
    assert choice == {"agent_id": None, "overrides": {"first_message": "Hello", "interruptible": False,
                                                      "metadata": {"k": "v"}},
                      "dynamic_variables": {}}


def test_assistant_refusal_is_kept() -> None:
    choice = assistant_choice({"error": "we are closed"})
    assert choice is not None and choice["error"] == "we are closed"


def test_tool_results_forms() -> None:
    assert tool_results({"results": [{"toolCallId": "t1", "result": "42"}]}, "t1") == {
        "results": [{"toolCallId": "t1", "result": "42"}]}
    assert tool_results({"results": [{"result": "x"}]}, "t9") == {
        "results": [{"toolCallId": "t9", "result": "x"}]}
    assert tool_results({"temperature": 20}, "t1") == {
        "results": [{"toolCallId": "t1", "result": {"temperature": 20}}]}
    assert "error" in tool_results(None, "t1")["results"][0]
    assert "error" in tool_results({"results": []}, "t1")["results"][0]
