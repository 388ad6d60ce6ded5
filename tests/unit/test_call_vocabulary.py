"""The call vocabulary (engine.store.vocabulary): its rules, a demo store's calls checked against
it, migration 0010 rewriting the old words, the scripted brain's menu matches, and the enums in
the OpenAPI document. Every call of a demo store is checked in tests/unit/test_demo_seed.py, live
calls where real calls run (tests/integration/simulator/test_persona_outcomes.py,
tests/integration/sip/test_sipp_outbound.py and test_sipp_faults.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy import inspect as sa_inspect

from engine.agents.scripted import ScriptedBrain
from engine.demo.scripts import billing_script
from engine.speech.frames import BrainEvent
from engine.store import Call, CallEvent, TranscriptEntry, make_engine, sqlite_url
from engine.store import vocabulary as words
from engine.store.vocabulary import CallFailure, call_problems, menu_match, sip_reason

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
AT = "2026-11-20T15:00:00.000000Z"


# -- the rules ---------------------------------------------------------------------------------


def test_sip_statuses_name_their_reasons() -> None:
    assert [sip_reason(s) for s in (486, 600, 408, 480, 487, 404, 484, 488, 407, 503, 500, 403,
                                    603)] == [
        "busy", "busy", "no_answer", "no_answer", "canceled", "number_not_found",
        "number_not_found", "codec_mismatch", "auth_failed", "trunk_unavailable",
        "trunk_unavailable", "rejected", "rejected"]
    assert set(words.DISCONNECT_REASONS) >= {sip_reason(s) for s in range(300, 700)}
    assert len(set(words.DISCONNECT_REASONS)) == len(words.DISCONNECT_REASONS)


def test_a_clean_call_passes_and_each_slip_is_named() -> None:
    good = {"status": "completed", "disconnect_reason": "caller_hangup", "sip_status_code": 200,
            "metadata": {"menu_matches": [menu_match("Billing", digit="2", at=AT)]}}
    assert call_problems(good) == []
    assert call_problems({"status": "in_progress", "disconnect_reason": None}) == []
    slips = {
        "status": {"status": "done", "disconnect_reason": "caller_hangup"},
        "disconnect_reason": {"status": "completed", "disconnect_reason": "customer_ended_call"},
        "no error_code": {"status": "failed", "disconnect_reason": "error"},
        "neither a SIP status": {"status": "failed", "disconnect_reason": "error",
                                 "metadata": {"error_code": 503, "error_message": "x"}},
        "sip_status_code": {"status": "failed", "disconnect_reason": "trunk_unavailable",
                            "metadata": {"error_code": "503", "error_message": "503 down"}},
        "menu match fields": {"status": "completed", "disconnect_reason": "agent_hangup",
                              "metadata": {"menu_matches": [{"digit": "2", "label": "Billing"}]}},
        "confidence": {"status": "completed", "disconnect_reason": "agent_hangup",
                       "metadata": {"menu_final_selection": {
                           **menu_match("Billing", digit="2", at=AT), "confidence": 7}}},
        "ISO 8601": {"status": "completed", "disconnect_reason": "agent_hangup",
                     "metadata": {"menu_matches": [menu_match("Billing", digit="2", at="soon")]}},
    }
    for word, call in slips.items():
        problems = call_problems(call)
        assert any(word in p for p in problems), (word, problems)


def test_errors_are_code_and_message() -> None:
    assert CallFailure.sip(503, "Service Unavailable").metadata() == {
        "error_code": "503", "error_message": "503 Service Unavailable"}
    assert CallFailure.of("rtp_timeout").message == words.DEFAULT_ERROR_MESSAGES["rtp_timeout"]
    assert set(words.DEFAULT_ERROR_MESSAGES) >= set(words.ERROR_CODES)
    with pytest.raises(ValueError, match="digit or a phrase"):
        menu_match("Billing", at=AT)


# -- the scripted brain's menu -----------------------------------------------------------------


def _menu_events(brain: ScriptedBrain, run: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [dict(out.data) async for out in run
                if isinstance(out, BrainEvent) and out.kind == "menu_match"]
    return asyncio.run(collect())


def test_a_spoken_menu_choice_is_a_phrase_match() -> None:
    brain = ScriptedBrain(billing_script())
    asyncio.run(_drain(brain.greet()))
    for miss in ("banana helicopter", "purple monkey dishwasher"):
        asyncio.run(_drain(brain.on_user_text(miss)))  # the second miss offers the menu
    [event] = _menu_events(brain, brain.on_user_text("two"))
    assert (event["menu"], event["digit"], event["phrase"], event["matched_text"]) == (
        "Double charge", None, "two", "two")
    assert event["confidence"] is None  # the call's leg takes the recogniser's
    match = menu_match(event["menu"], at=AT, phrase=event["phrase"], confidence=0.81)
    assert words.menu_match_problems(match) == []


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


# -- migration 0010 ----------------------------------------------------------------------------


def _full_row(model: Any, values: dict[str, Any], columns: set[str]) -> dict[str, Any]:
    obj = model.model_validate(values)
    row = {a.columns[0].key: getattr(obj, a.key) for a in sa_inspect(model).mapper.column_attrs}
    return {k: v for k, v in row.items() if k in columns}  # the columns of the old schema


def test_migration_0010_rewrites_the_old_words(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from engine.store.db import MIGRATIONS_DIR

    db = make_engine(sqlite_url(tmp_path / "old.db"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    columns = {c["name"] for c in sa_inspect(db).get_columns("call")}
    answered = NOW - timedelta(minutes=5)
    old = {
        "demo_in": {"direction": "inbound", "status": "completed",
                    "disconnect_reason": "customer_ended_call", "sip_status_code": 200,
                    "metadata_": {"menu_matches": [{"digit": "2", "option": "Double charge"}],
                                  "menu_final_selection": "Double charge"}},
        "demo_out": {"direction": "outbound", "status": "completed",
                     "disconnect_reason": "customer_ended_call"},
        "demo_agent": {"direction": "inbound", "status": "completed",
                       "disconnect_reason": "agent_ended_call"},
        "demo_cancel": {"direction": "inbound", "status": "canceled",
                        "disconnect_reason": "caller_canceled", "sip_status_code": 487},
        "demo_failed": {"direction": "outbound", "status": "failed",
                        "disconnect_reason": "trunk_unavailable", "sip_status_code": 503,
                        "metadata_": {"error_code": 503, "error_message": "503 Service Unavailable"}},
        "live_rejected": {"direction": "outbound", "status": "failed", "disconnect_reason": "failed",
                          "metadata_": {"sip_status_code": 404, "sip_status": "Not Found",
                                        "error_code": 404, "error_message": "Not Found"}},
        "live_dial": {"direction": "outbound", "status": "failed", "disconnect_reason": "error",
                      "metadata_": {"error_message": "no trunk for the number"}},
        "live_menu": {"direction": "inbound", "status": "completed",
                      "disconnect_reason": "caller_hangup", "metadata_": {
                          "menu_matches": [{"digit": "1", "label": "Due dates", "intent": "due",
                                            "action": None}],
                          "menu_final_selection": "Due dates"}},
    }
    ids: dict[str, str] = {}
    with db.begin() as conn:
        for name, values in old.items():
            row = _full_row(Call, {"organization_id": "o1", "initiated_at": NOW - timedelta(
                minutes=6), "answered_at": answered if values["status"] == "completed" else None,
                                   **values}, columns)
            ids[name] = row["id"]
            conn.execute(insert(Call.__table__).values(row))  # type: ignore[attr-defined]
        conn.execute(insert(CallEvent.__table__).values(_full_row(  # type: ignore[attr-defined]
            CallEvent, {"organization_id": "o1", "call_id": ids["live_menu"], "provider": "engine",
                        "event_type": "agent.menu_match", "occurred_at": answered},
            {c["name"] for c in sa_inspect(db).get_columns("call_event")})))
        conn.execute(insert(CallEvent.__table__).values(_full_row(  # type: ignore[attr-defined]
            CallEvent, {"organization_id": "o1", "call_id": ids["demo_cancel"], "provider": "engine",
                        "event_type": "call.ended", "failure_cause": "caller_canceled",
                        "payload": {"disconnect_reason": "caller_canceled"}, "occurred_at": NOW},
            {c["name"] for c in sa_inspect(db).get_columns("call_event")})))
        conn.execute(insert(TranscriptEntry.__table__).values(_full_row(  # type: ignore[attr-defined]
            TranscriptEntry, {"organization_id": "o1", "call_id": ids["demo_in"], "index": 3,
                              "source": "user", "text": "Pressed 2", "started_at": answered,
                              "metadata_": {"dtmf": "2"}},
            {c["name"] for c in sa_inspect(db).get_columns("transcript_entry")})))
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        rows = {i: (s, r, c, json.loads(m)) for i, s, r, c, m in conn.execute(
            "SELECT id, status, disconnect_reason, sip_status_code, metadata FROM call")}
        ended = conn.execute("SELECT failure_cause, payload FROM call_event WHERE "
                             "event_type = 'call.ended'").fetchone()
    db.dispose()
    new = {name: rows[ids[name]] for name in old}
    for name, (status, reason, code, meta) in new.items():
        assert call_problems({"status": status, "disconnect_reason": reason,
                              "sip_status_code": code, "metadata": meta}) == [], name
    assert {name: row[1] for name, row in new.items()} == {
        "demo_in": "caller_hangup", "demo_out": "callee_hangup", "demo_agent": "agent_hangup",
        "demo_cancel": "canceled", "demo_failed": "trunk_unavailable",
        "live_rejected": "number_not_found", "live_dial": "error", "live_menu": "caller_hangup"}
    assert new["live_rejected"][2] == 404 and new["live_rejected"][3]["error_code"] == "404"
    assert new["demo_failed"][3]["error_code"] == "503"
    assert new["live_dial"][3]["error_code"] == "engine_error"
    assert new["live_dial"][3]["error_message"] == "no trunk for the number"
    demo_match = new["demo_in"][3]["menu_matches"][0]
    assert demo_match == {"menu": "Double charge", "digit": "2", "phrase": None,
                          "matched_text": "2", "confidence": 1.0,
                          "at": answered.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    assert new["demo_in"][3]["menu_final_selection"] == demo_match
    live_match = new["live_menu"][3]["menu_final_selection"]
    assert (live_match["menu"], live_match["digit"], live_match["at"][:19]) == (
        "Due dates", "1", answered.strftime("%Y-%m-%dT%H:%M:%S"))
    assert ended[0] == "canceled" and json.loads(ended[1])["disconnect_reason"] == "canceled"


# -- the OpenAPI document ----------------------------------------------------------------------


def test_the_openapi_document_carries_the_enums() -> None:
    from engine.api import create_app

    class Host:  # the document needs no engine behind the routes
        db = bus = None
        ready = True

    schema = create_app(Host()).openapi()  # type: ignore[arg-type]
    params = {p["name"]: p for p in schema["paths"]["/v1/calls"]["get"]["parameters"]}
    assert params["status"]["schema"]["items"]["enum"] == [*words.CALL_STATUSES, "live"]
    assert params["status"]["style"] == "form" and params["status"]["explode"] is False
    components = schema["components"]["schemas"]
    call = components["Call"]["properties"]
    assert call["status"]["enum"] == list(words.CALL_STATUSES)
    assert call["disconnect_reason"]["anyOf"][0]["enum"] == list(words.DISCONNECT_REASONS)
    assert set(components["MenuMatch"]["properties"]) == set(words.MENU_MATCH_FIELDS)
    metadata = components["CallMetadata"]["properties"]
    assert metadata["error_code"]["anyOf"][0]["enum"] == list(words.ERROR_CODES)
    for path in ("/v1/calls", "/v1/calls/{call_id}"):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].rsplit("/", 1)[1] in ("CallPage", "Call")
