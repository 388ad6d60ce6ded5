"""Every ended call gets its post-call analysis moments after it ends, off the event loop, with an
``analysis.completed`` event in its log and on the bus; an end-of-call report asked for at the
same time waits for that analysis instead of making a second one.

A real SIP call from sipp to an engine on loopback; for the LLM case, a finished call in a real
store and an OpenAI-compatible server on loopback (the only fake) that counts what it is asked.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from engine.app import Engine
from engine.calls.analyst import ANALYSING_STATUS, CallAnalyst, analyse_ended
from engine.events import AnalysisCompleted, CallUpdated, Event, parse_event
from engine.settings import Settings
from engine.store import Agent, Call, CallEvent, ProviderCredential, TranscriptEntry, session_scope
from engine.store.timeutil import utcnow
from engine.store.writer import BatchWriter
from engine.webhooks.reports import load_report
from tests.harness.receivers import ChatStub
from tests.harness.sip_engine import open_sip_engine
from tests.harness.sipp import requires_sipp, run_sipp, uac_pcap_scenario

TALK = [("agent", "Hello, this is Nova from Acme Parcel. How can I help?"),
        ("user", "My order A-1042 was charged twice, I want my money back."),
        ("agent", "I have filed a refund for the double charge on order A-1042."),
        ("user", "Thank you, that is great.")]
ANSWER = {"summary": "The caller wanted a refund for a double charge.", "sentiment": "positive",
          "sentiment_score": 9, "outcome": None, "success": True, "structured_data": {}}


@requires_sipp
@pytest.mark.timeout(120)
async def test_a_sip_call_is_analysed_as_it_ends(tmp_path: Path) -> None:
    async with open_sip_engine(tmp_path / "engine") as sip:
        stream = sip.engine.bus.subscribe(sip.engine.organization_id)
        result = await run_sipp(uac_pcap_scenario(tmp_path), sip.port, "15550100")
        assert result.returncode == 0, result.stderr
        await sip.settled(60)  # the analysis is one of the service's tasks

        [call] = sip.calls()
        assert call.status == "completed"
        assert call.analysis_status == "heuristic"  # no LLM brain: the heuristic analysis
        assert call.summary and call.success is not None

        logged = [e for e in sip.events(call.id) if e.event_type == "analysis.completed"]
        assert [e.status for e in logged] == ["heuristic"]

        seen = received(stream.queue)
        [done] = [e for e in seen if isinstance(e, AnalysisCompleted)]
        assert done.call_id == call.id and done.status == "heuristic"
        assert done.summary == call.summary and done.success == call.success
        ended = next(i for i, e in enumerate(seen)
                     if isinstance(e, CallUpdated) and e.status == "completed")
        assert seen.index(done) > ended
        [change] = [e for e in seen if isinstance(e, CallUpdated)
                    and e.call.get("analysis_status") == "heuristic"]
        assert change.call["summary"] == call.summary


def received(queue: asyncio.Queue[dict[str, Any]]) -> list[Event]:
    out = []
    while not queue.empty():
        out.append(parse_event(queue.get_nowait()))
    return out


class SlowChat(ChatStub):
    """Answers the analysis a moment later, so a second asker comes while it is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.release = threading.Event()

    def respond(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.asked.set()
        self.release.wait(30)
        return 200, {"id": "chatcmpl-stub", "object": "chat.completion", "created": 1,
                     "model": "stub-1",
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": json.dumps(ANSWER)}}],
                     "usage": {"prompt_tokens": 300, "completion_tokens": 60, "total_tokens": 360}}


@pytest.fixture
def slow_chat() -> Iterator[SlowChat]:
    stub = SlowChat()
    stub.start()
    yield stub
    stub.release.set()
    stub.close()


def ended_call(engine: Engine, chat: SlowChat) -> str:
    """A call of an LLM agent that has just ended, its analysis still to make."""
    org = engine.organization_id
    started = utcnow() - timedelta(minutes=1)
    with session_scope(engine.db) as session:
        credential = ProviderCredential(organization_id=org, provider="openai-compatible",
                                        base_url=chat.url, api_key="sk-analysis-test")
        session.add(credential)
        session.flush()
        agent = Agent(organization_id=org, name="Nova",
                      brain={"kind": "llm", "model": "stub-1", "credential_id": credential.id})
        session.add(agent)
        session.flush()
        call = Call(organization_id=org, agent_id=agent.id, direction="inbound",
                    status="completed", initiated_at=started, answered_at=started,
                    ended_at=started + timedelta(seconds=40), duration_seconds=40)
        session.add(call)
        for index, (source, text) in enumerate(TALK):
            session.add(TranscriptEntry(organization_id=org, call_id=call.id, index=index,
                                        source=source, text=text))
        return call.id


@pytest.mark.timeout(60)
async def test_the_report_waits_for_the_analysis_under_way(tmp_path: Path,
                                                          slow_chat: SlowChat) -> None:
    engine = Engine(Settings(data_dir=tmp_path))
    engine.setup()
    call_id = ended_call(engine, slow_chat)
    sent: list[Event] = []
    writer = BatchWriter(engine.db)

    async def landed() -> None:
        """The call's rows are written already."""

    analyst = CallAnalyst(engine.db, writer, landed, sent.append)
    at_end = asyncio.create_task(analyst.call_ended(call_id))
    assert await asyncio.to_thread(slow_chat.asked.wait, 30)
    with session_scope(engine.db) as session:
        assert session.get(Call, call_id).analysis_status == ANALYSING_STATUS  # type: ignore[union-attr]

    report = asyncio.create_task(asyncio.to_thread(load_report, engine.db, call_id))
    await asyncio.sleep(0.3)  # the report is asked for while the analysis is under way
    assert not report.done()
    slow_chat.release.set()
    done = await at_end
    loaded = await report

    assert len(slow_chat.requests) == 1  # one analysis, not one per asker
    assert done is not None and done.made_here and done.fields["status"] == "llm"
    assert loaded is not None
    _, fields = loaded
    assert fields["summary"] == ANSWER["summary"] and fields["analysis"]["status"] == "llm"
    [completed] = [e for e in sent if isinstance(e, AnalysisCompleted)]
    assert completed.call_id == call_id and completed.status == "llm"
    assert completed.summary == ANSWER["summary"]

    writer.flush()
    with session_scope(engine.db) as session:
        logged = session.exec(select(CallEvent).where(CallEvent.call_id == call_id)).all()
        assert [(e.event_type, e.status) for e in logged] == [("analysis.completed", "llm")]
    # asked again, the analysis is read, not made
    again = await asyncio.to_thread(analyse_ended, engine.db, call_id)
    assert again is not None and not again.made_here and len(slow_chat.requests) == 1
    engine.close()
