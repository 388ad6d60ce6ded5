"""The demo seed fills a fresh store with consistent, searchable, deterministic data."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import Engine

from engine.demo.seed import DEMO_CALLS, DEMO_LEADS, seed
from tests.harness.stores import fresh_store

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
FAILED_CODES = {None, 404, 488, 500, 503}
STATUS_CODES: dict[str, set[int | None]] = {
    "completed": {200, None},  # None: web calls (WebRTC, no SIP)
    "busy": {486},
    "no_answer": {408, 480},
    "canceled": {487},
    "failed": FAILED_CODES,
}


@dataclass
class Seeded:
    db: Engine
    path: Path
    organization_id: str

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path = tmp_path_factory.mktemp("seed") / "switchboard.db"
    db, org = fresh_store(path)
    assert seed(db, org, only_if_empty=True, now=NOW) is True
    yield Seeded(db, path, org)
    db.dispose()


def test_counts(seeded: Seeded) -> None:
    counts = {table: seeded.sql(f'SELECT count(*) FROM "{table}"')[0][0] for table in (
        "agent", "phone_number", "sip_trunk", "user", "campaign", "lead", "call", "tool_template",
        "analysis_template")}
    assert counts == {"agent": 3, "phone_number": 5, "sip_trunk": 2, "user": 3, "campaign": 2,
                      "lead": DEMO_LEADS, "call": DEMO_CALLS, "tool_template": 3,
                      "analysis_template": 2}
    assert seeded.sql("SELECT count(*) FROM call WHERE organization_id != ?",
                      seeded.organization_id)[0][0] == 0


def test_agents_voices_scripts_and_tools(seeded: Seeded) -> None:
    import json

    tools = {name: (kind, json.loads(fn), json.loads(tr)) for name, kind, fn, tr in
             seeded.sql("SELECT name, type, function, transfer FROM tool_template")}
    assert {kind for kind, _, _ in tools.values()} == {"function", "transfer_call", "end_call"}
    lookup = next(fn for kind, fn, _ in tools.values() if kind == "function")
    assert lookup["parameters"]["required"] == ["order_number"] and lookup["url"].startswith("https://")
    tool_ids = dict(seeded.sql("SELECT id, name FROM tool_template"))
    voices = set()
    for name, script, tts, tool_list, template in seeded.sql(
            "SELECT name, script, tts, tool_ids, analysis_template_id FROM agent"):
        script, tts = json.loads(script), json.loads(tts)
        voices.add((tts["voice"], tts["rate"], tts["pitch"]))
        assert script["greeting"] and script["intents"] and script["fallback"]
        used = {a[k] for i in script["intents"] for a in i["actions"] for k in ("tool", "transfer")
                if k in a}
        assert used <= {tool_ids[t] for t in json.loads(tool_list)}, name
        for intent in script["intents"]:
            assert intent["keywords"] or intent["patterns"], intent["name"]
            for slot in intent.get("slots", []):
                assert script["slots"][slot]["prompt"]
        assert template is not None
    assert len(voices) == 3
    names = {row[0] for row in seeded.sql("SELECT name FROM agent")}
    assert names == {"Order status", "Billing", "Appointments"}
    billing = json.loads(seeded.sql("SELECT script FROM agent WHERE name = 'Billing'")[0][0])
    assert billing["menu"]["options"]["0"]["action"] == "escalate"


def test_numbers_are_e164_and_trunk_has_a_password(seeded: Seeded) -> None:
    numbers = [row[0] for row in seeded.sql("SELECT number FROM phone_number")]
    numbers += [row[0] for row in seeded.sql("SELECT phone_number FROM lead")]
    for number in numbers:
        parsed = phonenumbers.parse(number, None)
        assert phonenumbers.is_possible_number(parsed), number
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    assert len(set(numbers)) == len(numbers)
    assert seeded.sql("SELECT password IS NOT NULL AND password != '' FROM sip_trunk "
                      "WHERE name = 'Carrier (primary)'")[0][0] == 1


def test_campaigns_and_leads(seeded: Seeded) -> None:
    statuses = dict(seeded.sql("SELECT status, count(*) FROM campaign GROUP BY status"))
    assert statuses == {"running": 1, "draft": 1}
    draft_leads = seeded.sql("SELECT l.status, l.attempts FROM lead l JOIN campaign c "
                             "ON c.id = l.campaign_id WHERE c.status = 'draft'")
    assert draft_leads and all(row == ("pending", 0) for row in draft_leads)
    lead_statuses = {row[0] for row in seeded.sql("SELECT DISTINCT status FROM lead")}
    assert {"pending", "completed", "no_answer"} <= lead_statuses
    for lead_id, attempts, last_call in seeded.sql(
            "SELECT id, attempts, last_call_id FROM lead WHERE attempts > 0"):
        calls = seeded.sql("SELECT count(*), max(id = ?) FROM call WHERE lead_id = ?", last_call,
                           lead_id)[0]
        assert calls == (attempts, 1)


def test_statuses_match_sip_codes_and_events(seeded: Seeded) -> None:
    by_status = Counter()
    for status, code, answered, duration, kind in seeded.sql(
            "SELECT status, sip_status_code, answered_at, duration_seconds, type FROM call"):
        by_status[status] += 1
        assert code in STATUS_CODES[status], (status, code)
        if status == "completed":
            assert answered is not None and duration > 0
            assert (code is None) == (kind == "web_call")
        else:
            assert answered is None and duration == 0
    assert by_status["completed"] > 0.75 * DEMO_CALLS
    assert all(by_status[s] > 0 for s in ("busy", "no_answer", "failed", "canceled"))
    final = dict(seeded.sql("SELECT c.id, c.status FROM call c"))
    ended = dict(seeded.sql("SELECT call_id, status FROM call_event WHERE event_type = 'call.ended'"))
    assert ended == final
    ok = {row[0] for row in seeded.sql(
        "SELECT DISTINCT call_id FROM call_event WHERE sip_status_code = 200 AND event_type LIKE "
        "'response_%'")}
    answered_sip = {row[0] for row in seeded.sql(
        "SELECT id FROM call WHERE status = 'completed' AND transport = 'sip'")}
    assert answered_sip <= ok
    for status, code in seeded.sql(
            "SELECT c.status, e.sip_status_code FROM call c JOIN call_event e ON e.call_id = c.id "
            "WHERE c.status IN ('busy', 'no_answer', 'canceled') AND e.failure_cause IS NOT NULL "
            "AND e.provider = 'sip'"):
        assert code in STATUS_CODES[status]
    hangups = dict(seeded.sql("SELECT call_id, event_type FROM call_event WHERE event_type IN "
                              "('bye_received', 'bye_sent')"))
    for call_id, reason in seeded.sql("SELECT id, disconnect_reason FROM call WHERE status = "
                                      "'completed' AND transport = 'sip'"):
        expected = {"caller_hangup": "bye_received", "callee_hangup": "bye_received",
                    "agent_hangup": "bye_sent", "transferred": None}[reason]
        assert hangups.get(call_id) == expected, (call_id, reason)
    assert seeded.sql("SELECT count(*) FROM call WHERE recording_status != 'none' OR "
                      "recording_path IS NOT NULL")[0][0] == 0


def test_transcripts_are_conversations(seeded: Seeded) -> None:
    entries: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in seeded.sql("SELECT call_id, \"index\", source, text, started_at, ended_at, provider, "
                          "confidence, voice_to_voice_ms FROM transcript_entry ORDER BY call_id, "
                          "\"index\""):
        entries[row[0]].append(row)
    completed = {row[0]: row[1] for row in seeded.sql(
        "SELECT id, transcript FROM call WHERE status = 'completed'")}
    assert set(entries) == set(completed)
    v2v: list[int] = []
    for call_id, rows in entries.items():
        assert 4 <= len(rows) <= 14, (call_id, len(rows))
        assert [r[1] for r in rows] == list(range(len(rows)))
        assert rows[0][2] == "agent"  # the greeting
        assert {r[2] for r in rows} >= {"agent", "user"}
        assert all(r[4] <= r[5] for r in rows)
        for r in rows:
            if r[2] == "user" and r[6] in ("whisper", "vosk"):
                assert 0.5 < r[7] <= 1.0
            if r[8] is not None:
                v2v.append(r[8])
        assert all(r[3] in completed[call_id] for r in rows)
    v2v.sort()
    p50 = v2v[len(v2v) // 2]
    assert 250 <= p50 <= 380, p50
    assert v2v[int(len(v2v) * 0.95)] < 700


def _matching(seeded: Seeded, **filters: Any) -> set[str]:
    """Call ids the calls list would show for these filters (the engine's own search), test
    calls included."""
    from sqlalchemy import select

    from engine.calls import listing

    with seeded.db.connect() as conn:
        f = listing.CallFilter(organization_id=seeded.organization_id, include_tests=True,
                               **filters)
        where = listing.conditions(conn, f)
        return set(conn.execute(select(listing.CALL.c.id).where(*where)).scalars())


def test_full_text_search_finds_transcript_words(seeded: Seeded) -> None:
    hits = _matching(seeded, q="refund")
    assert hits
    for (transcript,) in seeded.sql(
            f"SELECT transcript FROM call WHERE id IN ({','.join('?' * len(hits))})", *hits):
        assert "refund" in transcript.lower()
    expected = {row[0] for row in seeded.sql("SELECT id FROM call WHERE transcript LIKE '%refund%'")}
    assert hits == expected
    by_number = _matching(seeded, number="5550134")
    assert by_number == {row[0] for row in seeded.sql(
        "SELECT id FROM call WHERE from_number LIKE '%5550134%' OR to_number LIKE '%5550134%'")}
    assert by_number


def test_costs_add_up(seeded: Seeded) -> None:
    import json

    usage: dict[tuple[str, str], tuple[float, int]] = {
        (call_id, kind): (quantity, cost) for call_id, kind, quantity, cost in seeded.sql(
            "SELECT call_id, kind, quantity, cost_micro_usd FROM usage_log")}
    for row in seeded.sql("SELECT id, cost_stt_micro_usd, cost_llm_micro_usd, cost_tts_micro_usd, "
                          "cost_telephony_micro_usd, cost_total_micro_usd, cost_details, status, "
                          "type FROM call"):
        call_id, stt, llm, tts, tel, total, details, status, kind = row
        details = json.loads(details)
        assert total == stt + llm + tts + tel and llm == 0
        assert details["llm_prompt_tokens"] == 0 and details["llm_completion_tokens"] == 0
        assert usage.get((call_id, "stt"), (0.0, 0)) == (details["stt_audio_duration_seconds"], stt)
        assert usage.get((call_id, "tts"), (0.0, 0)) == (details["tts_characters"], tts)
        assert usage.get((call_id, "telephony"), (0.0, 0)) == (details["telephony_minutes"], tel)
        if status == "completed":
            assert stt > 0 and tts > 0 and (tel > 0) == (kind == "phone_call")
        else:
            assert total == 0
    assert not any(kind == "llm" for _, kind in usage)


def test_analysis_and_metadata(seeded: Seeded) -> None:
    import json

    outcomes = {name: set(json.loads(o)) for name, o in
                seeded.sql("SELECT id, outcomes FROM analysis_template")}
    for template, outcome, sentiment, score, status, metadata, success in seeded.sql(
            "SELECT a.analysis_template_id, c.outcome, c.sentiment, c.sentiment_score, "
            "c.analysis_status, c.metadata, c.success FROM call c JOIN agent a ON a.id = c.agent_id"):
        assert status == "heuristic" and outcome in outcomes[template] and success is not None
        meta = json.loads(metadata)
        assert meta["stt_language"] == "en-US" and meta["tts_voice"] and "barge_in_count" in meta
        if sentiment is not None:
            assert {"positive": 7, "neutral": 4, "negative": 0}[sentiment] <= score
    assert seeded.sql("SELECT count(*) FROM call WHERE json_extract(metadata, '$.barge_in_count') "
                      "> 0")[0][0] > 0
    assert seeded.sql("SELECT count(*) FROM call WHERE json_extract(metadata, '$.menu_matches') "
                      "IS NOT NULL")[0][0] > 0
    assert seeded.sql("SELECT count(*) FROM call WHERE rating IS NOT NULL AND notes != ''")[0][0] > 0
    directions = {row for row in seeded.sql("SELECT DISTINCT direction, type FROM call")}
    assert directions == {("inbound", "phone_call"), ("outbound", "phone_call"),
                          ("inbound", "web_call")}


def test_every_call_is_in_the_call_vocabulary(seeded: Seeded) -> None:
    import json

    from engine.store.vocabulary import call_problems

    seen: dict[str, set[Any]] = {"reasons": set(), "codes": set(), "menus": set()}
    for call_id, status, reason, code, direction, metadata in seeded.sql(
            "SELECT id, status, disconnect_reason, sip_status_code, direction, metadata FROM call"):
        meta = json.loads(metadata)
        assert call_problems({"status": status, "disconnect_reason": reason,
                              "sip_status_code": code, "metadata": meta}) == [], call_id
        assert meta["stt_engine"] and meta["stt_model"] and meta["stt_language"] and meta["tts_voice"]
        assert reason != "callee_hangup" or direction == "outbound"
        seen["reasons"].add(reason)
        seen["codes"].add(meta.get("error_code"))
        seen["menus"].update(m["menu"] for m in meta.get("menu_matches", ()))
    assert {"caller_hangup", "callee_hangup", "agent_hangup", "transferred", "busy", "no_answer",
            "canceled", "ice_failed", "codec_mismatch"} <= seen["reasons"]
    assert {"503", "404", "488", "ice_failed"} <= seen["codes"] and len(seen["menus"]) > 2


def test_transfers(seeded: Seeded) -> None:
    import json

    kinds = Counter()
    for kind, status, attempts, call_status in seeded.sql(
            "SELECT t.kind, t.status, t.routing_attempts, c.status FROM transfer t JOIN call c "
            "ON c.id = t.call_id"):
        kinds[(kind, status)] += 1
        attempts = json.loads(attempts)
        assert attempts and call_status == "completed"
        assert (attempts[-1]["status"] == "completed") == (status == "completed")
        assert all(a["started_at"] <= a["ended_at"] for a in attempts)
    assert {("warm", "completed"), ("blind", "completed"), ("warm", "failed")} <= set(kinds)
    assert sum(kinds.values()) < 0.1 * DEMO_CALLS


def test_calls_span_the_last_thirty_days(seeded: Seeded) -> None:
    first, last, ended = seeded.sql("SELECT min(initiated_at), max(initiated_at), max(ended_at) "
                                    "FROM call")[0]
    assert first >= "2026-10-21" and ended < NOW.strftime("%Y-%m-%dT%H:%M:%S")
    assert last >= "2026-11-19"


def test_only_if_empty_does_not_seed_twice(seeded: Seeded) -> None:
    assert seed(seeded.db, seeded.organization_id, only_if_empty=True, now=NOW) is False
    assert seeded.sql("SELECT count(*) FROM call")[0][0] == DEMO_CALLS
    assert seeded.sql("SELECT count(*) FROM agent")[0][0] == 3


def test_same_seed_same_data(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db, org = fresh_store(tmp_path / f"{name}.db")
        assert seed(db, org, calls=300, leads=40, now=NOW)
        db.dispose()
        with sqlite3.connect(tmp_path / f"{name}.db") as conn:
            dumps.append(conn.execute("SELECT id, status, transcript, cost_total_micro_usd FROM call "
                                      "ORDER BY id").fetchall())
    assert dumps[0] == dumps[1] and len(dumps[0]) == 300
