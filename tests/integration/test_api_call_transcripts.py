"""A call's transcript as people want it: ``transcript_text`` and ``transcript_url`` on the
detail, and ``GET /v1/calls/{id}/transcript`` as plain text, JSON, WebVTT or SRT timed from the
entries (a 422 naming ``format`` for another, a 404 for an unknown call)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from engine.store import TranscriptEntry, parse_iso, session_scope
from tests.harness.api_engine import NUMBER, ApiEngine, open_api_engine

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

ANSWERED = "2026-03-02T10:00:05Z"
LINES = [  # source, text, start and end in seconds after the answer
    ("agent", "Hello! How can I help?", 0.5, 2.25),
    ("user", "Where is my order <A&B>?", 3.0, 5.5),
    ("agent", "It left the warehouse this morning.", 6.0, 8.0),
]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def eng(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiEngine]:
    async with open_api_engine(tmp_path_factory.mktemp("transcripts")) as opened:
        yield opened


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def call_id(eng: ApiEngine) -> str:
    call = await eng.api.create_call(agent_id=eng.agent["id"], direction="inbound",
                                     from_number="+14155550123", to_number=NUMBER,
                                     initiated_at="2026-03-02T10:00:00Z", answered_at=ANSWERED,
                                     ended_at="2026-03-02T10:00:10Z")
    answered = parse_iso(ANSWERED)
    with session_scope(eng.engine.db) as session:
        for n, (source, text, start, end) in enumerate(LINES):
            session.add(TranscriptEntry(
                organization_id=eng.organization_id, call_id=call["id"], index=n, source=source,
                text=text, started_at=answered + timedelta(seconds=start),
                ended_at=answered + timedelta(seconds=end)))
        session.add(TranscriptEntry(organization_id=eng.organization_id, call_id=call["id"],
                                    index=3, source="user", text="   "))  # no words: left out
    return str(call["id"])


async def test_the_detail_has_the_text_and_its_url(eng: ApiEngine, call_id: str) -> None:
    call = await eng.api.get_call(call_id)
    assert call["transcript_text"] == ("Agent: Hello! How can I help?\n"
                                       "Caller: Where is my order <A&B>?\n"
                                       "Agent: It left the warehouse this morning.")
    assert call["transcript_url"] == f"/v1/calls/{call_id}/transcript"
    text = await eng.http.get(call["transcript_url"])
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text == call["transcript_text"] + "\n"


async def test_subtitles_are_timed_from_the_answer(eng: ApiEngine, call_id: str) -> None:
    vtt = await eng.http.get(f"/v1/calls/{call_id}/transcript", params={"format": "vtt"})
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text == (
        "WEBVTT\n\n"
        "1\n00:00:00.500 --> 00:00:02.250\n<v Agent>Hello! How can I help?\n\n"
        "2\n00:00:03.000 --> 00:00:05.500\n<v Caller>Where is my order &lt;A&amp;B&gt;?\n\n"
        "3\n00:00:06.000 --> 00:00:08.000\n<v Agent>It left the warehouse this morning.\n")
    srt = await eng.http.get(f"/v1/calls/{call_id}/transcript", params={"format": "srt"})
    assert srt.status_code == 200
    assert srt.text.splitlines()[:4] == ["1", "00:00:00,500 --> 00:00:02,250",
                                         "Agent: Hello! How can I help?", ""]
    assert "3\n00:00:06,000 --> 00:00:08,000\nAgent: It left the warehouse this morning.\n" \
        in srt.text
    as_json = await eng.http.get(f"/v1/calls/{call_id}/transcript", params={"format": "json"})
    body = json.loads(as_json.text)
    assert body["call_id"] == call_id and len(body["entries"]) == 4
    assert [(c["start_ms"], c["end_ms"], c["speaker"]) for c in body["cues"]] == [
        (500, 2250, "Agent"), (3000, 5500, "Caller"), (6000, 8000, "Agent")]


async def test_a_bad_format_or_an_unknown_call_is_refused(eng: ApiEngine, call_id: str) -> None:
    bad = await eng.http.get(f"/v1/calls/{call_id}/transcript", params={"format": "docx"})
    assert bad.status_code == 422 and bad.json()["field"] == "format"
    assert "vtt" in bad.json()["error"]
    stray = await eng.http.get(f"/v1/calls/{call_id}/transcript", params={"fmt": "vtt"})
    assert stray.status_code == 422 and stray.json()["field"] == "fmt"
    missing = await eng.http.get("/v1/calls/no-such-call/transcript")
    assert missing.status_code == 404
    empty = await eng.api.create_call(agent_id=eng.agent["id"], type="web_call")
    got = await eng.http.get(f"/v1/calls/{empty['id']}/transcript", params={"format": "srt"})
    assert got.status_code == 200 and got.text == ""
    assert (await eng.api.get_call(empty["id"]))["transcript_text"] == ""
